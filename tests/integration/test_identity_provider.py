"""Access tokens from a real OpenID provider (oidc-provider on localhost, Keycloak-shaped claims)
verified through its discovery document and JWKS: through a key rotation and with the provider
stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ruai.identity import AuthenticationError
from ruai.identity.tokens import TokenVerifier
from ruai.settings import Settings
from tests.conftest import free_port
from tests.support.jwks_server import SigningKey
from tests.support.oidc_provider import AUDIENCE, OidcProvider, User, provider_missing

USERS = [
    User(
        "alice",
        {
            "preferred_username": "alice",
            "groups": ["/tenants/acme/legal"],
            "realm_access": {"roles": ["reader"]},
            "resource_access": {AUDIENCE: {"roles": ["uploader"]}},
        },
        alg="RS256",
    ),
    User("bob", {"name": "Боб", "tenant": "globex", "groups": ["/hr", "/finance"]}, alg="ES256"),
]


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    missing = provider_missing()
    if missing:
        pytest.fail(missing)
    provider = OidcProvider(free_port(), USERS)
    provider.start()
    yield provider
    provider.close()


def verifier_of(provider: OidcProvider) -> TokenVerifier:
    settings = Settings(oidc_issuer=provider.url, oidc_audience=AUDIENCE, oidc_jwks_min_refresh_s=0)
    verifier = TokenVerifier.from_settings(settings)
    verifier.keys.refresh()
    return verifier


def test_provider_tokens_become_principals(provider: OidcProvider) -> None:
    verifier = verifier_of(provider)
    alice = verifier.principal(provider.token("alice"))
    assert (alice.subject, alice.name, alice.tenant) == ("alice", "alice", "acme")
    assert alice.groups == ("/tenants/acme/legal", "/legal")
    assert alice.roles == ("reader", "uploader")
    bob = verifier.principal(provider.token("bob"))  # ES256
    assert (bob.name, bob.tenant, bob.groups) == ("Боб", "globex", ("/hr", "/finance"))


def test_provider_stopped_tokens_still_accepted(provider: OidcProvider) -> None:
    verifier = verifier_of(provider)
    token = provider.token("alice")
    provider.stop()
    assert verifier.keys.refresh() is False  # the provider is gone, the keys stay
    assert verifier.principal(token).subject == "alice"


def test_rotated_key_accepted_after_refresh(provider: OidcProvider) -> None:
    verifier = verifier_of(provider)
    old_token = provider.token("alice")
    fetched = verifier.keys.fetches
    provider.restart([SigningKey.generate("RS256"), SigningKey.generate("ES256")])
    new_token = provider.token("alice")
    assert not verifier.knows_key(new_token)
    assert verifier.principal(new_token).subject == "alice"
    assert verifier.keys.fetches == fetched + 1
    # the provider no longer publishes the old key: tokens it signed prove nothing now
    with pytest.raises(AuthenticationError, match="not one of"):
        verifier.principal(old_token)
