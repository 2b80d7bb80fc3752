"""API keys, each mapped to a tenant: from Settings.api_keys and/or a keys file.

The file is YAML/JSON ``{key: tenant}`` or lines ``KEY TENANT`` (``#`` starts a comment).
"""

from __future__ import annotations

import hmac
from pathlib import Path

import yaml

from ruai.settings import Settings


class ApiKeysError(ValueError):
    """The keys configuration is unusable (unreadable file, bad line, required but empty)."""


def read_keys_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ApiKeysError(f"cannot read RUAI_API_KEYS_FILE={path}: {exc}") from exc
    data = yaml.safe_load(text) if text.lstrip().startswith("{") or ":" in text else None
    if isinstance(data, dict):
        return {str(key): str(tenant) for key, tenant in data.items()}
    keys = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ApiKeysError(f"{path}:{number}: expected 'KEY TENANT', got {line!r}")
        keys[parts[0]] = parts[1]
    return keys


class ApiKeys:
    def __init__(self, keys: dict[str, str]) -> None:
        self._keys = dict(keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiKeys:
        keys = dict(settings.api_keys)
        if settings.api_keys_file:
            keys |= read_keys_file(settings.api_keys_file)
        if settings.require_api_keys and not keys:
            raise ApiKeysError(
                f"profile {settings.profile!r} requires API keys: set RUAI_API_KEYS "
                "(JSON {key: tenant}) or RUAI_API_KEYS_FILE"
            )
        return cls(keys)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def tenant_for(self, key: str | None) -> str | None:
        """The key's tenant, or None for a missing or unknown key (compared in constant time)."""
        if not key:
            return None
        tenant = None
        for known, known_tenant in self._keys.items():
            if hmac.compare_digest(known.encode(), key.encode()):
                tenant = known_tenant
        return tenant
