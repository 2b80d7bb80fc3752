"""Why a caller was refused: not authenticated (HTTP 401) or authenticated but not allowed (403)."""

from __future__ import annotations


class IdentityError(Exception):
    """A caller could not be given a Principal."""


class AuthenticationError(IdentityError):
    """No credentials, or credentials that prove nothing (bad signature, expired, unknown key)."""


class AccessDeniedError(IdentityError):
    """Valid credentials that do not allow this (a token naming no or several tenants)."""


class IdentityConfigError(ValueError):
    """The identity settings cannot work (names the RUAI_* setting to change)."""
