"""OIDC access-token verification: the compact JWS read strictly, its signature with the issuer's
cached key, then ``exp``, ``nbf``, ``iat``, ``iss``, ``aud`` and ``sub`` with a small clock skew,
then the claims as a Principal.

The token is read here, not by PyJWT's ``jwt.decode``, whose base64url check walks every
character in Python: three segments, each base64url without padding, decoded by ``binascii`` in
strict mode (a character outside the alphabet, ``=`` padding, or bits past the last byte that are
not zero are refused), header and payload JSON objects. The header picks the key; its ``alg``
must be allowed and the key's own. The signature is checked over the header and payload exactly
as sent, by PyJWT's algorithm object for that ``alg`` (``cryptography`` does the arithmetic),
before the payload is read. The claims are then checked as ``jwt.decode`` checks them, except
that a time claim must be a JSON number (PyJWT also takes a numeric string).

A client sends the same token with every request until it expires: a verified token's Principal
is remembered (up to ``cache_size`` tokens, keyed by the whole token, signature included) and
served again while its ``exp``/``nbf`` still hold and its signing key is still the issuer's."""

from __future__ import annotations

import binascii
import json
import math
import threading
import time
from collections import OrderedDict
from typing import Any

from ruai.identity.claims import ClaimsMapping
from ruai.identity.errors import AuthenticationError, IdentityConfigError
from ruai.identity.jwks import JwksCache
from ruai.identity.principal import Principal
from ruai.settings import Settings

# asymmetric algorithms only: "none" and HS* (a shared secret, or the public key misused as one)
# are never accepted
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")

# base64url to the alphabet binascii decodes; "+", "/" and "=" are not base64url: they become "!",
# which the strict decode refuses
_FROM_BASE64URL = bytes.maketrans(b"-_+/=", b"+/!!!")
# the last character of a segment 2 or 3 characters past a multiple of 4 carries 4 or 2 bits past
# the last byte: they must be zero, or one token could be spelt several ways
_LAST_CHARACTERS = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def _segments(token: str) -> list[bytes]:
    """The three segments, in the standard base64 alphabet."""
    try:
        segments = token.encode("ascii").translate(_FROM_BASE64URL).split(b".")
    except UnicodeEncodeError:
        raise AuthenticationError("not a readable JWT: it has non-ASCII characters") from None
    if len(segments) != 3:
        raise AuthenticationError(f"not a readable JWT: {len(segments)} segments, not 3")
    return segments


def _base64url(segment: bytes, name: str) -> bytes:
    try:
        data = binascii.a2b_base64(segment + b"=" * (-len(segment) % 4), strict_mode=True)
    except binascii.Error as exc:
        raise AuthenticationError(
            f"not a readable JWT: its {name} is not base64url ({exc})"
        ) from None
    last = _LAST_CHARACTERS.get(len(segment) % 4)
    if last is not None and segment[-1] not in last:
        raise AuthenticationError(f"not a readable JWT: its {name} is not canonical base64url")
    return data


def _json_object(segment: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(_base64url(segment, name).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise AuthenticationError(f"not a readable JWT: its {name} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise AuthenticationError(f"not a readable JWT: its {name} is not an object")
    return value


def _numeric_date(claims: dict[str, Any], name: str) -> int:
    """A time claim in whole seconds, as PyJWT compares it (a JSON number, not NaN or infinite)."""
    value = claims[name]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    raise AuthenticationError(f"token refused: its {name!r} is not a number")


class TokenVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        mapping: ClaimsMapping,
        *,
        algorithms: tuple[str, ...] = ("RS256", "ES256"),
        leeway_s: float = 30.0,
        keys: JwksCache | None = None,
        cache_size: int = 10_000,
    ) -> None:
        unsupported = set(algorithms) - SUPPORTED_ALGORITHMS
        if unsupported:
            raise IdentityConfigError(
                f"RUAI_OIDC_ALGORITHMS names {sorted(unsupported)}: only asymmetric signatures "
                f"are accepted ({', '.join(sorted(SUPPORTED_ALGORITHMS))})"
            )
        self.issuer = issuer
        self.audience = audience
        self.mapping = mapping
        self.algorithms = tuple(algorithms)
        self.leeway_s = leeway_s
        self.keys = keys or JwksCache(issuer)
        self.cache_size = cache_size
        # token -> (Principal, kid, nbf, exp) of tokens verified already
        self._verified: OrderedDict[str, tuple[Principal, str, float, float]] = OrderedDict()
        self._verified_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier | None:
        """None when no issuer is configured (tokens are then not accepted)."""
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_audience:
            raise IdentityConfigError(
                f"RUAI_OIDC_ISSUER={settings.oidc_issuer} is set without RUAI_OIDC_AUDIENCE: "
                "set it to the audience the provider writes into access tokens for this API "
                "(in Keycloak an audience mapper on the client)"
            )
        keys = JwksCache(
            settings.oidc_issuer,
            timeout_s=settings.oidc_http_timeout_s,
            min_refresh_s=settings.oidc_jwks_min_refresh_s,
        )
        return cls(
            settings.oidc_issuer,
            settings.oidc_audience,
            ClaimsMapping.from_settings(settings),
            algorithms=tuple(settings.oidc_algorithms),
            leeway_s=settings.oidc_leeway_s,
            keys=keys,
            cache_size=settings.oidc_token_cache_size,
        )

    def _algorithm_and_kid(self, header: dict[str, Any]) -> tuple[str, str]:
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise AuthenticationError(f"tokens signed with {alg!r} are not accepted")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("the token names no signing key (kid)")
        if "crit" in header or header.get("b64", True) is not True:
            raise AuthenticationError("tokens with critical header extensions are not accepted")
        return alg, kid

    def knows_key(self, token: str) -> bool:
        """Whether ``principal`` can run without a network call (the token's key is cached, or
        the token is refused before any key is needed)."""
        if token in self._verified:
            return True
        try:
            _, kid = self._algorithm_and_kid(_json_object(_segments(token)[0], "header"))
        except AuthenticationError:
            return True
        return self.keys.key(kid) is not None

    def claims(self, token: str) -> dict:
        """The verified claims; AuthenticationError for any token that proves nothing. A key not
        cached yet is fetched (rate-limited): call this off the event loop unless knows_key."""
        return self._verified_claims(token)[0]

    def _verified_claims(self, token: str) -> tuple[dict, str]:
        """(claims, the signing key's id)."""
        header, payload, signature = _segments(token)
        alg, kid = self._algorithm_and_kid(_json_object(header, "header"))
        key = self.keys.key(kid) or self.keys.refresh_for_unknown(kid)
        if key is None:
            raise AuthenticationError(f"signing key {kid!r} is not one of {self.issuer}'s")
        if key.algorithm_name != alg:
            raise AuthenticationError(f"key {kid!r} signs {key.algorithm_name}, not {alg}")
        signing_input = token[: token.rindex(".")].encode("ascii")
        if not key.Algorithm.verify(signing_input, key.key, _base64url(signature, "signature")):
            raise AuthenticationError("token refused: Signature verification failed")
        claims = _json_object(payload, "payload")
        self._check_claims(claims)
        return claims, kid

    def _check_claims(self, claims: dict[str, Any]) -> None:
        """The checks ``jwt.decode`` makes with this verifier's issuer, audience, leeway and
        required claims, in its order."""
        for name in REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise AuthenticationError(f"token refused: it has no {name!r} claim")
        now = time.time()
        if "iat" in claims and _numeric_date(claims, "iat") > now + self.leeway_s:
            raise AuthenticationError("token refused: it is not yet valid (iat in the future)")
        if "nbf" in claims and _numeric_date(claims, "nbf") > now + self.leeway_s:
            raise AuthenticationError("token refused: it is not yet valid (nbf)")
        if _numeric_date(claims, "exp") <= now - self.leeway_s:
            raise AuthenticationError("token refused: it has expired (exp)")
        if claims["iss"] != self.issuer:  # a non-string is never equal
            raise AuthenticationError(f"token refused: its issuer (iss) is not {self.issuer}")
        audiences = claims["aud"]
        if isinstance(audiences, str):
            audiences = [audiences]
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise AuthenticationError("token refused: its audience (aud) is not a string or list")
        if self.audience not in audiences:
            raise AuthenticationError(f"token refused: its audience (aud) is not {self.audience}")
        if not isinstance(claims["sub"], str):
            raise AuthenticationError("token refused: its subject (sub) is not a string")
        if not isinstance(claims.get("jti", ""), str):
            raise AuthenticationError("token refused: its token id (jti) is not a string")

    def principal(self, token: str) -> Principal:
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        claims, kid = self._verified_claims(token)
        principal = self.mapping.principal(claims)
        if self.cache_size:
            entry = (principal, kid, float(claims.get("nbf", 0)), float(claims["exp"]))
            with self._verified_lock:
                self._verified[token] = entry
                while len(self._verified) > self.cache_size:
                    self._verified.popitem(last=False)
        return principal

    def _remembered(self, token: str) -> Principal | None:
        entry = self._verified.get(token)
        if entry is None:
            return None
        principal, kid, nbf, exp = entry
        now = time.time()
        if self.keys.key(kid) is None or now > exp + self.leeway_s:
            with self._verified_lock:
                self._verified.pop(token, None)
            return None  # verified again: refused with the reason
        if now < nbf - self.leeway_s:
            return None
        return principal
