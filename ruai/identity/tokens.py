"""OIDC access-token verification: the signature with the issuer's cached key, then ``exp``,
``nbf``, ``iss`` and ``aud`` with a small clock skew, then the claims as a Principal.

A client sends the same token with every request until it expires: a verified token's Principal
is remembered (up to ``cache_size`` tokens, keyed by the whole token, signature included) and
served again while its ``exp``/``nbf`` still hold and its signing key is still the issuer's.

A token is parsed by PyJWT once, in ``jwt.decode``: its base64url check walks every character in
Python, about half of a first check's time. The key is chosen from the header read here, without
that check (the header is not trusted: ``jwt.decode`` checks it again with the key's algorithm)."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import OrderedDict

import jwt

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


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


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

    def _header(self, token: str) -> tuple[str, str]:
        segment = token.split(".", 1)[0]
        try:
            header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except (ValueError, binascii.Error) as exc:
            raise AuthenticationError(f"not a readable JWT: {exc}") from exc
        if not isinstance(header, dict):
            raise AuthenticationError("not a readable JWT: its header is not an object")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise AuthenticationError(f"tokens signed with {alg!r} are not accepted")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("the token names no signing key (kid)")
        return alg, kid

    def knows_key(self, token: str) -> bool:
        """Whether ``principal`` can run without a network call (the token's key is cached, or
        the token is refused before any key is needed)."""
        if token in self._verified:
            return True
        try:
            _, kid = self._header(token)
        except AuthenticationError:
            return True
        return self.keys.key(kid) is not None

    def claims(self, token: str) -> dict:
        """The verified claims; AuthenticationError for any token that proves nothing. A key not
        cached yet is fetched (rate-limited): call this off the event loop unless knows_key."""
        return self._verified_claims(token)[0]

    def _verified_claims(self, token: str) -> tuple[dict, str]:
        """(claims, the signing key's id)."""
        alg, kid = self._header(token)
        key = self.keys.key(kid) or self.keys.refresh_for_unknown(kid)
        if key is None:
            raise AuthenticationError(f"signing key {kid!r} is not one of {self.issuer}'s")
        if key.algorithm_name != alg:
            raise AuthenticationError(f"key {kid!r} signs {key.algorithm_name}, not {alg}")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"token refused: {exc}") from exc
        return claims, kid

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
