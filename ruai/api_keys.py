"""API keys, each a service's Principal: from Settings.api_keys and/or a keys file.

A key maps to its tenant, or to ``{tenant, groups, roles, name}`` (groups and roles decide
which documents it reads, like a token's). The file is YAML/JSON ``{key: tenant | {...}}`` or
lines ``KEY TENANT [groups=G1,G2] [roles=R1,R2] [name=NAME]`` (``#`` starts a comment).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ruai.identity.principal import AuthKind, Principal, key_id
from ruai.settings import Settings


class ApiKeysError(ValueError):
    """The keys configuration is unusable (unreadable file, bad line, required but empty)."""


@dataclass(frozen=True, slots=True)
class KeyGrant:
    tenant: str
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    name: str = ""


_GRANT_FIELDS = {"tenant", "groups", "roles", "name"}


def _names(value: Any, where: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ApiKeysError(f"{where}: {field} must be a list of names, got {value!r}")
    return tuple(v.strip() for v in value if v.strip())


def grant_from(value: Any, where: str) -> KeyGrant:
    """A key's grant from its configured value: a tenant name or a mapping."""
    if isinstance(value, str):
        return KeyGrant(value)
    if not isinstance(value, dict) or not isinstance(value.get("tenant"), str):
        raise ApiKeysError(
            f"{where}: expected a tenant or {{tenant, groups, roles}}, got {value!r}"
        )
    unknown = set(value) - _GRANT_FIELDS
    if unknown:
        raise ApiKeysError(f"{where}: unknown fields {sorted(unknown)} (known: {_GRANT_FIELDS})")
    return KeyGrant(
        value["tenant"],
        _names(value.get("groups"), where, "groups"),
        _names(value.get("roles"), where, "roles"),
        str(value.get("name") or ""),
    )


def read_keys_file(path: Path) -> dict[str, KeyGrant]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ApiKeysError(f"cannot read RUAI_API_KEYS_FILE={path}: {exc}") from exc
    data = yaml.safe_load(text) if text.lstrip().startswith("{") or ":" in text else None
    if isinstance(data, dict):
        return {str(key): grant_from(value, f"{path}") for key, value in data.items()}
    keys = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path}:{number}"
        parts = line.split()
        if len(parts) < 2 or any("=" not in part for part in parts[2:]):
            raise ApiKeysError(
                f"{where}: expected 'KEY TENANT [groups=G1,G2] [roles=R1] [name=N]', got {line!r}"
            )
        fields: dict[str, Any] = {"tenant": parts[1]}
        fields |= dict(part.split("=", 1) for part in parts[2:])
        keys[parts[0]] = grant_from(fields, where)
    return keys


class ApiKeys:
    def __init__(self, keys: dict[str, KeyGrant | str]) -> None:
        self._keys = {
            key: grant if isinstance(grant, KeyGrant) else grant_from(grant, "RUAI_API_KEYS")
            for key, grant in keys.items()
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiKeys:
        keys = {key: grant_from(value, "RUAI_API_KEYS") for key, value in settings.api_keys.items()}
        if settings.api_keys_file:
            keys |= read_keys_file(settings.api_keys_file)
        if settings.require_api_keys and not keys and not settings.oidc_issuer:
            raise ApiKeysError(
                f"profile {settings.profile!r} requires credentials: set RUAI_API_KEYS "
                "(JSON {key: tenant}) or RUAI_API_KEYS_FILE, or RUAI_OIDC_ISSUER for tokens"
            )
        return cls(keys)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def _grant(self, key: str | None) -> KeyGrant | None:
        """The key's grant, or None for a missing or unknown key (compared in constant time)."""
        if not key:
            return None
        found = None
        for known, grant in self._keys.items():
            if hmac.compare_digest(known.encode(), key.encode()):
                found = grant
        return found

    def tenant_for(self, key: str | None) -> str | None:
        grant = self._grant(key)
        return grant.tenant if grant else None

    def principal_for(self, key: str | None) -> Principal | None:
        """The key's Principal (subject: its name, else its key id), or None for a missing or
        unknown key."""
        grant = self._grant(key)
        if grant is None:
            return None
        kid = key_id(key)
        return Principal(
            subject=grant.name or kid,
            tenant=grant.tenant,
            name=grant.name,
            groups=grant.groups,
            roles=grant.roles,
            auth=AuthKind.API_KEY,
            key_id=kid,
        )
