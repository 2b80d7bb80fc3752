"""A Principal: the one typed answer to "who is calling", whatever proved it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from ruai.identity.access import principal_labels


class AuthKind(StrEnum):
    TOKEN = "token"  # an OIDC access token of the configured issuer
    API_KEY = "api_key"  # a configured API key (its key_id says which)
    LOCAL = "local"  # no keys configured: a caller on this machine, as the default tenant
    OPERATOR = "operator"  # a job run by whoever holds the store (jobs.search, jobs.evaluate)


def key_id(key: str) -> str:
    """What the logs and the audit trail name an API key by: a short SHA-256, never the key."""
    return "key-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    tenant: str
    name: str = ""
    # groups as the provider wrote them (Keycloak's full paths: "/legal", "/dept/hr") or bare
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    auth: AuthKind = AuthKind.TOKEN
    key_id: str = ""  # for AuthKind.API_KEY: key_id(key)

    @property
    def access_labels(self) -> frozenset[str]:
        """The labels a document's ``access`` must share with this principal (beside an empty
        ``access``, which the whole tenant reads)."""
        return principal_labels(self.groups, self.roles)

    @property
    def display_name(self) -> str:
        return self.name or self.subject
