"""Who is calling, as a Principal (ruai/identity): ``Authorization: Bearer <token>`` is an OIDC
access token when it looks like a JWT and an issuer is configured (RUAI_OIDC_ISSUER), else an
API key. With neither keys nor an issuer configured, only this machine (a loopback address) may
call, as the default tenant. Refusals are 401 (with ``WWW-Authenticate``) or 403."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from fastapi import Request

from ruai.api_keys import ApiKeys
from ruai.identity import AccessDeniedError, AuthenticationError, AuthKind, Principal
from ruai.identity.tokens import TokenVerifier, looks_like_jwt
from ruai.settings import Settings
from serve_apps.errors import forbidden, unauthorized
from serve_apps.request_context import request_context

logger = logging.getLogger("ray.serve")


def _from_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.keys = ApiKeys.from_settings(settings)
        self.tokens = TokenVerifier.from_settings(settings)
        self.default_tenant = settings.tenant
        if self.tokens is not None:
            # fetched now and in the background: no request waits for the provider
            self.tokens.keys.start(settings.oidc_jwks_refresh_s)
        elif not self.keys.enabled:
            logger.warning(
                "no API keys (RUAI_API_KEYS / RUAI_API_KEYS_FILE) and no token issuer "
                "(RUAI_OIDC_ISSUER) configured: accepting requests from this machine only, as "
                "tenant %r",
                settings.tenant,
            )

    @property
    def open(self) -> bool:
        return self.tokens is None and not self.keys.enabled

    async def principal(self, request: Request) -> Principal:
        """The caller (kept on the request's context), or a 401/403 ApiError."""
        context = request_context(request)
        if context.principal is None:
            context.principal = await self._authenticate(request, context.credential)
        return context.principal

    async def _authenticate(self, request: Request, credential: str | None) -> Principal:
        if self.open:
            if not _from_loopback(request):
                raise unauthorized("this deployment accepts calls from its own machine only")
            return Principal("local", self.default_tenant, auth=AuthKind.LOCAL)
        if not credential:
            raise unauthorized()
        if self.tokens is not None and looks_like_jwt(credential):
            try:
                if self.tokens.knows_key(credential):
                    return self.tokens.principal(credential)
                # a key not seen yet: one (rate-limited) JWKS fetch, off the event loop
                return await asyncio.to_thread(self.tokens.principal, credential)
            except AuthenticationError as exc:
                raise unauthorized(str(exc), token_error=True) from exc
            except AccessDeniedError as exc:
                raise forbidden(str(exc)) from exc
        principal = self.keys.principal_for(credential)
        if principal is None:
            raise unauthorized("unknown API key")
        return principal
