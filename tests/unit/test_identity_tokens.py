"""OIDC access tokens checked against a real JWKS endpoint on localhost with keys the test makes:
every token that proves nothing is refused, keys are cached and survive the provider."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from ruai.identity import AccessDeniedError, AuthenticationError
from ruai.identity.claims import ClaimsMapping
from ruai.identity.errors import IdentityConfigError
from ruai.identity.jwks import JwksCache
from ruai.identity.tokens import TokenVerifier, looks_like_jwt
from ruai.settings import Settings
from tests.support.jwks_server import JwksIssuer, SigningKey

KEYCLOAK_CLAIMS = {
    "preferred_username": "alice",
    "groups": ["/tenants/acme/legal", "/hr"],
    "realm_access": {"roles": ["reader"]},
    "resource_access": {"ruai": {"roles": ["uploader"]}, "other": {"roles": ["x"]}},
}


@pytest.fixture
def issuer():
    issuer = JwksIssuer(keys=[SigningKey.generate("RS256"), SigningKey.generate("ES256")])
    yield issuer
    issuer.stop()


def verifier_for(issuer: JwksIssuer, min_refresh_s: float = 0.0) -> TokenVerifier:
    keys = JwksCache(issuer.url, min_refresh_s=min_refresh_s)
    keys.refresh()
    return TokenVerifier(issuer.url, "ruai", ClaimsMapping(client_id="ruai"), keys=keys)


def _segment(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_valid_token_is_a_keycloak_shaped_principal(issuer: JwksIssuer, alg: str) -> None:
    key = next(k for k in issuer.keys if k.alg == alg)
    token = issuer.token(key, **KEYCLOAK_CLAIMS)
    assert looks_like_jwt(token)
    principal = verifier_for(issuer).principal(token)
    assert principal.subject == "u1" and principal.name == "alice"
    assert principal.tenant == "acme"
    assert principal.groups == ("/tenants/acme/legal", "/hr", "/legal")
    assert principal.roles == ("reader", "uploader")
    assert {"/legal", "legal", "/hr", "hr", "role:reader"} <= principal.access_labels


def test_known_keys_need_no_network_call(issuer: JwksIssuer) -> None:
    verifier = verifier_for(issuer)
    fetched = issuer.jwks_requests
    for _ in range(5):
        verifier.principal(issuer.token())
    assert issuer.jwks_requests == fetched


def test_tampered_tokens_are_refused(issuer: JwksIssuer) -> None:
    verifier = verifier_for(issuer)
    header, payload, signature = issuer.token(groups=["/hr"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = ".".join([header, _segment(claims | {"groups": ["/legal"]}), signature])
    with pytest.raises(AuthenticationError, match="Signature"):
        verifier.principal(forged)
    other_key = SigningKey.generate("RS256", kid=issuer.keys[0].kid)  # same kid, another key
    with pytest.raises(AuthenticationError):
        verifier.principal(issuer.token(other_key))


def test_odd_algorithms_are_refused(issuer: JwksIssuer) -> None:
    verifier = verifier_for(issuer)
    rsa_key = issuer.keys[0]
    now = int(time.time())
    claims = {"iss": issuer.url, "aud": "ruai", "sub": "u1", "exp": now + 60}
    unsigned = _segment({"alg": "none", "kid": rsa_key.kid}) + "." + _segment(claims) + "."
    with pytest.raises(AuthenticationError, match="'none'"):
        verifier.principal(unsigned)
    # HS256 keyed with the RSA public key as the shared secret (the algorithm-confusion attack)
    public_pem = json.dumps(rsa_key.public_jwk()).encode()
    header = _segment({"alg": "HS256", "kid": rsa_key.kid, "typ": "JWT"})
    body = _segment(claims)
    import hashlib
    import hmac

    mac = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    confused = f"{header}.{body}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(AuthenticationError, match="HS256"):
        verifier.principal(confused)
    # an RS256 header on a token whose kid is the EC key
    es_key = issuer.keys[1]
    mismatched = jwt.encode(claims, rsa_key.private, algorithm="RS256", headers={"kid": es_key.kid})
    with pytest.raises(AuthenticationError, match="signs ES256"):
        verifier.principal(mismatched)
    with pytest.raises(IdentityConfigError, match="RUAI_OIDC_ALGORITHMS"):
        TokenVerifier(issuer.url, "ruai", ClaimsMapping(), algorithms=("HS256",))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        # times as offsets from when the test runs (a value computed at collection is long past
        # by the time a full suite reaches this test)
        ({"exp": -120}, "(?i)expired"),
        ({"nbf": 120}, "(?i)not yet valid"),
        ({"aud": "another-api"}, "(?i)audience"),
        ({"iss": "https://evil.example/realms/x"}, "(?i)issuer"),
        ({"sub": None}, "sub"),
    ],
)
def test_tokens_out_of_time_or_for_others_are_refused(
    issuer: JwksIssuer, claims: dict, reason: str
) -> None:
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    with pytest.raises(AuthenticationError, match=reason):
        verifier_for(issuer).principal(issuer.token(**claims))


def test_small_clock_skew_is_tolerated(issuer: JwksIssuer) -> None:
    verifier = verifier_for(issuer)
    assert verifier.principal(issuer.token(exp=int(time.time()) - 5)).subject == "u1"


def test_another_issuers_token_is_refused(issuer: JwksIssuer) -> None:
    other = JwksIssuer()
    try:
        with pytest.raises(AuthenticationError, match="not one of"):
            verifier_for(issuer).principal(other.token(iss=issuer.url))
    finally:
        other.stop()


def test_unknown_kid_fetches_once_and_is_rate_limited(issuer: JwksIssuer) -> None:
    verifier = verifier_for(issuer, min_refresh_s=3600)
    stranger = SigningKey.generate("RS256")
    fetched = issuer.jwks_requests
    # the first fetch at start-up counts as an attempt: within min_refresh_s no more fetches
    for _ in range(3):
        assert not verifier.knows_key(issuer.token(stranger))
        with pytest.raises(AuthenticationError, match="not one of"):
            verifier.principal(issuer.token(stranger))
    assert issuer.jwks_requests == fetched


def test_a_rotated_key_is_accepted_after_the_refresh(issuer: JwksIssuer) -> None:
    verifier = verifier_for(issuer)
    new = SigningKey.generate("ES256")
    issuer.keys = [new]  # the provider rotated: the old keys are gone
    fetched = issuer.jwks_requests
    assert verifier.principal(issuer.token(new)).subject == "u1"
    assert issuer.jwks_requests == fetched + 1
    assert verifier.knows_key(issuer.token(new))


def test_keys_are_kept_when_the_provider_is_down(issuer: JwksIssuer) -> None:
    verifier = verifier_for(issuer)
    token = issuer.token()
    issuer.stop()
    assert verifier.keys.refresh() is False
    assert verifier.principal(token).subject == "u1"
    with pytest.raises(AuthenticationError, match="not one of"):
        verifier.principal(issuer.token(SigningKey.generate("RS256")))


def test_background_refresh_picks_up_new_keys(issuer: JwksIssuer) -> None:
    keys = JwksCache(issuer.url, min_refresh_s=3600)
    keys.start(interval_s=0.05)
    try:
        new = SigningKey.generate("RS256")
        issuer.keys.append(new)
        deadline = time.monotonic() + 10
        while keys.key(new.kid) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert keys.key(new.kid) is not None
    finally:
        keys.stop()


def test_discovery_must_name_the_configured_issuer(issuer: JwksIssuer) -> None:
    keys = JwksCache(issuer.url + "/")  # the provider calls itself without the slash
    assert keys.refresh() is False and not keys.kids


def test_settings_build_the_verifier_and_require_an_audience(issuer: JwksIssuer) -> None:
    assert TokenVerifier.from_settings(Settings()) is None
    with pytest.raises(IdentityConfigError, match="RUAI_OIDC_AUDIENCE"):
        TokenVerifier.from_settings(Settings(oidc_issuer=issuer.url))
    verifier = TokenVerifier.from_settings(
        Settings(oidc_issuer=issuer.url, oidc_audience="ruai", tenant="main")
    )
    principal = verifier.principal(issuer.token(groups=["/hr"]))
    assert principal.tenant == "main"  # no tenant claim, no tenant group: the default tenant
    assert verifier.mapping.client_id == "ruai"


def test_claims_mapping_tenants() -> None:
    mapping = ClaimsMapping()
    claim = mapping.principal({"sub": "s", "tenant": "globex", "groups": ["/tenants/acme/hr"]})
    assert claim.tenant == "globex"
    assert claim.groups == ()  # another tenant's groups grant nothing
    with pytest.raises(AccessDeniedError, match="several tenants"):
        mapping.principal({"sub": "s", "groups": ["/tenants/a/x", "/tenants/b/y"]})
    custom = ClaimsMapping(
        subject_claim="oid", name_claims=("name",), groups_claim="grp", roles_claims=("roles",)
    )
    principal = custom.principal({"oid": "o1", "name": "Боб", "grp": "ops", "roles": ["a"]})
    assert (principal.subject, principal.name, principal.groups, principal.roles) == (
        "o1",
        "Боб",
        ("ops",),
        ("a",),
    )
    with pytest.raises(AuthenticationError, match="'sub'"):
        mapping.principal({"groups": []})


def test_a_verified_token_is_remembered_while_it_holds(issuer: JwksIssuer) -> None:
    keys = JwksCache(issuer.url, min_refresh_s=0)
    keys.refresh()
    verifier = TokenVerifier(issuer.url, "ruai", ClaimsMapping(), keys=keys, leeway_s=0)
    token = issuer.token(exp=int(time.time()) + 2, groups=["/hr"])
    first = verifier.principal(token)
    assert verifier.principal(token) is first  # served from the cache
    time.sleep(max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] + 0.2
                   - time.time()))  # fmt: skip
    with pytest.raises(AuthenticationError, match="(?i)expired"):  # checked again, refused
        verifier.principal(token)
    # a remembered token whose key the provider stopped publishing is refused after the refresh
    other = issuer.token(groups=["/hr"])
    verifier.principal(other)
    issuer.keys = [SigningKey.generate("RS256")]
    keys.refresh()
    with pytest.raises(AuthenticationError, match="not one of"):
        verifier.principal(other)
    uncached = TokenVerifier(issuer.url, "ruai", ClaimsMapping(), keys=keys, cache_size=0)
    fresh = issuer.token()
    assert uncached.principal(fresh) == uncached.principal(fresh)
    assert not uncached._verified


@pytest.fixture(scope="module")
def shared_issuer():
    """For tests that only read the keys: one issuer for the module (RSA keys are slow to make)."""
    issuer = JwksIssuer(keys=[SigningKey.generate("RS256"), SigningKey.generate("ES256")])
    yield issuer, verifier_for(issuer)
    issuer.stop()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(issuer: JwksIssuer, header: str, payload: str) -> str:
    """``header.payload`` (segments spelt as given) with a good signature of the issuer's key, so
    that whatever refuses the token is not the signature."""
    key = issuer.keys[0]
    signature = jwt.get_algorithm_by_name(key.alg).sign(f"{header}.{payload}".encode(), key.private)
    return f"{header}.{payload}.{_b64(signature)}"


def _respelt(issuer: JwksIssuer, segment: int, change) -> str:
    """A good token with one segment changed (header or payload: signed again)."""
    parts = issuer.token().split(".")
    parts[segment] = change(parts[segment])
    return ".".join(parts) if segment == 2 else _signed(issuer, parts[0], parts[1])


def _noncanonical(segment: str) -> str:
    """The same bytes spelt with a non-zero bit past the last byte (a lax decoder ignores it)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(segment) % 4 in (2, 3)
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) + 1]


def test_a_token_signed_again_by_the_test_is_accepted(shared_issuer) -> None:
    issuer, verifier = shared_issuer
    assert verifier.principal(_respelt(issuer, 1, lambda s: s)).subject == "u1"


@pytest.mark.parametrize("segment", [0, 1, 2])
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s[:5] + "+" + s[6:], "not base64url"),  # standard base64, not base64url
        (lambda s: s[:5] + "/" + s[6:], "not base64url"),
        (lambda s: s[:5] + "!" + s[6:], "not base64url"),
        (lambda s: s[:5] + " " + s[6:], "not base64url"),
        (lambda s: s + "=" * (-len(s) % 4 or 4), "not base64url"),  # padding
        (lambda s: s + "A" * ((1 - len(s)) % 4), "not base64url"),  # 4n+1 characters never decode
        (lambda s: s[:5] + "é" + s[6:], "non-ASCII"),
    ],
)
def test_a_token_that_is_not_strict_base64url_is_refused(
    shared_issuer, segment: int, change, reason: str
) -> None:
    issuer, verifier = shared_issuer
    with pytest.raises(AuthenticationError, match=reason):
        verifier.principal(_respelt(issuer, segment, change))


def test_padding_and_extra_bits_are_refused_even_where_they_decode(shared_issuer) -> None:
    issuer, verifier = shared_issuer
    token = issuer.token()  # RS256: a 256-byte signature, 342 characters
    signature = token.split(".")[2]
    assert len(signature) % 4 == 2
    assert base64.urlsafe_b64decode(_noncanonical(signature) + "==") == base64.urlsafe_b64decode(
        signature + "=="
    )
    with pytest.raises(AuthenticationError, match="not base64url"):
        verifier.principal(f"{token}==")
    with pytest.raises(AuthenticationError, match="not canonical"):
        verifier.principal(token[:-1] + _noncanonical(signature)[-1])
    assert verifier.principal(token).subject == "u1"


@pytest.mark.parametrize("count", [2, 4])
def test_a_token_needs_exactly_three_segments(shared_issuer, count: int) -> None:
    issuer, verifier = shared_issuer
    parts = issuer.token().split(".")
    bad = ".".join((parts + [parts[1]])[:count])
    with pytest.raises(AuthenticationError, match=f"{count} segments, not 3"):
        verifier.principal(bad)
    assert verifier.knows_key(bad)  # refused before any key is needed


@pytest.mark.parametrize(
    ("header", "payload", "reason"),
    [
        (b"{not json", None, "header is not JSON"),
        (b'["RS256"]', None, "header is not an object"),
        (None, b"[1, 2]", "payload is not an object"),
        (None, b'"a string"', "payload is not an object"),
        (None, b"not json", "payload is not JSON"),
        (None, b'\xff{"sub": "u1"}', "payload is not JSON"),  # not UTF-8
    ],
)
def test_header_and_payload_must_be_json_objects(
    shared_issuer, header: bytes | None, payload: bytes | None, reason: str
) -> None:
    issuer, verifier = shared_issuer
    good_header, good_payload, _ = issuer.token().split(".")
    token = _signed(
        issuer,
        _b64(header) if header else good_header,
        _b64(payload) if payload else good_payload,
    )
    with pytest.raises(AuthenticationError, match=reason):
        verifier.principal(token)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"kid": 5}, "no signing key"),
        ({"kid": ""}, "no signing key"),
        ({"crit": ["exp"], "exp": 1}, "critical header"),
    ],
)
def test_odd_headers_are_refused(shared_issuer, header: dict, reason: str) -> None:
    issuer, verifier = shared_issuer
    key = issuer.keys[0]
    _, payload, _ = issuer.token().split(".")
    fields = {"alg": key.alg, "kid": key.kid} | header
    with pytest.raises(AuthenticationError, match=reason):
        verifier.principal(_signed(issuer, _b64(json.dumps(fields).encode()), payload))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": "soon"}, "'exp' is not a number"),
        ({"exp": "9999999999"}, "'exp' is not a number"),  # a JSON number only
        ({"exp": True}, "'exp' is not a number"),
        ({"exp": float("inf")}, "'exp' is not a number"),  # json reads Infinity
        ({"exp": None}, "no 'exp' claim"),
        ({"nbf": "now"}, "'nbf' is not a number"),
        ({"nbf": float("nan")}, "'nbf' is not a number"),
        ({"iat": [1]}, "'iat' is not a number"),
        ({"iat": 120}, "not yet valid \\(iat"),  # issued in the future, past the leeway
        ({"aud": ["other-api"]}, "audience"),
        ({"aud": []}, "audience"),
        ({"aud": ["ruai", 5]}, "audience"),
        ({"aud": {"ruai": True}}, "audience"),
        ({"iss": [None]}, "issuer"),
        ({"sub": 5}, "subject"),
        ({"jti": 5}, "jti"),
    ],
)
def test_claims_are_checked_as_pyjwt_checks_them(shared_issuer, claims: dict, reason: str) -> None:
    issuer, verifier = shared_issuer
    now = int(time.time())
    payload = {"iss": issuer.url, "aud": "ruai", "sub": "u1", "exp": now + 60} | claims
    if isinstance(claims.get("iat"), int):
        payload["iat"] += now
    header = {"alg": issuer.keys[0].alg, "kid": issuer.keys[0].kid}
    token = _signed(issuer, _b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()))
    with pytest.raises(AuthenticationError, match=reason):
        verifier.principal(token)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": ["other-api", "ruai"]},
        {"iat": 5},  # a clock a little ahead: within the leeway
        {"exp": 600.5, "nbf": -1.5},  # a NumericDate may have a fraction
    ],
)
def test_good_claims_in_other_shapes_are_accepted(shared_issuer, claims: dict) -> None:
    issuer, verifier = shared_issuer
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf", "iat") else v for k, v in claims.items()}
    assert verifier.claims(issuer.token(**claims))["sub"] == "u1"
