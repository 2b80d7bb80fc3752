"""Who is calling and what they may read: Principals from OIDC access tokens or API keys, and
the access labels a document's ``access`` payload field is matched against (no Ray, no web
framework)."""

from ruai.identity.access import AccessScope, normalize_access, principal_labels
from ruai.identity.errors import AccessDeniedError, AuthenticationError, IdentityError
from ruai.identity.principal import AuthKind, Principal

__all__ = [
    "AccessDeniedError",
    "AccessScope",
    "AuthKind",
    "AuthenticationError",
    "IdentityError",
    "Principal",
    "normalize_access",
    "principal_labels",
]
