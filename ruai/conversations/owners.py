"""Whose conversations and answers: the owner id every read and write of the store names."""

from __future__ import annotations

import hashlib

from ruai.identity import AuthKind, Principal


def owner_id(principal: Principal | None, key: str | None) -> str:
    """A signed-in subject's own ("sub:<subject>", whatever token it comes with); an API key's (a
    hash of the key, as conversations were always kept: never the key itself); "local" without
    one."""
    if principal is not None and principal.auth is AuthKind.TOKEN:
        return f"sub:{principal.subject}"
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else "local"
