"""The issuer's signing keys: discovery (``<issuer>/.well-known/openid-configuration``) → JWKS,
cached in-process.

Lookups never touch the network. The keys are fetched at start-up and by a background refresh;
a token signed with a key not seen yet triggers one more fetch, at most every
``min_refresh_s``. When the provider cannot be reached the keys already held are kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from ruai.tls import tls_context

logger = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"


class JwksFetchError(RuntimeError):
    pass


class JwksCache:
    def __init__(
        self,
        issuer: str,
        *,
        timeout_s: float = 5.0,
        min_refresh_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.timeout_s = timeout_s
        self.min_refresh_s = min_refresh_s
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._jwks_uri: str | None = None
        self._last_attempt: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fetches = 0  # successful JWKS fetches, for tests and metrics

    def key(self, kid: str) -> PyJWK | None:
        """The cached key ``kid``; never a network call."""
        return self._keys.get(kid)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def refresh(self) -> bool:
        """Fetch the JWKS now; False (keys kept, a warning logged) when the provider fails."""
        with self._lock:
            self._last_attempt = self._clock()
            try:
                keys = self._fetch()
            except JwksFetchError as exc:
                logger.warning("keeping %d cached signing keys: %s", len(self._keys), exc)
                return False
            self._keys = keys
            self.fetches += 1
            return True

    def refresh_for_unknown(self, kid: str) -> PyJWK | None:
        """``kid`` after one more fetch, unless a fetch was tried less than ``min_refresh_s``
        ago (a stream of forged kids must not hammer the provider)."""
        last = self._last_attempt
        if last is not None and self._clock() - last < self.min_refresh_s:
            return self._keys.get(kid)
        self.refresh()
        return self._keys.get(kid)

    def start(self, interval_s: float) -> None:
        """Fetch now (a failure is logged, not raised) and again every ``interval_s`` in a
        daemon thread."""
        self.refresh()
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="ruai-jwks-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 1)
            self._thread = None

    # -- internals ---------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict:
        try:
            response = httpx.get(url, timeout=self.timeout_s, verify=tls_context())
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise JwksFetchError(f"cannot read {url}: {exc}") from exc
        if not isinstance(data, dict):
            raise JwksFetchError(f"{url} did not return a JSON object")
        return data

    def _fetch(self) -> dict[str, PyJWK]:
        if self._jwks_uri is None:
            discovery = self._get_json(self.issuer.rstrip("/") + DISCOVERY_PATH)
            if discovery.get("issuer") != self.issuer:
                raise JwksFetchError(
                    f"the provider at {self.issuer} calls itself {discovery.get('issuer')!r}: "
                    "set RUAI_OIDC_ISSUER to the issuer its tokens carry"
                )
            if not discovery.get("jwks_uri"):
                raise JwksFetchError(f"{self.issuer}{DISCOVERY_PATH} names no jwks_uri")
            self._jwks_uri = str(discovery["jwks_uri"])
        keys = {}
        for jwk in self._get_json(self._jwks_uri).get("keys", []):
            if jwk.get("use", "sig") != "sig" or not jwk.get("kid"):
                continue
            try:
                keys[jwk["kid"]] = PyJWK(jwk)
            except PyJWKError as exc:  # a key type or curve we do not verify with
                logger.info("skipping signing key %s: %s", jwk.get("kid"), exc)
        return keys
