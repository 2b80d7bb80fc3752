"""Who is calling: an API key (``Authorization: Bearer <key>``) names the tenant; with no keys
configured, only this machine (a loopback address) may call, as the default tenant."""

from __future__ import annotations

import ipaddress
import logging

from fastapi import Request

from ruai.api_keys import ApiKeys
from ruai.settings import Settings
from serve_apps.errors import unauthorized

logger = logging.getLogger("ray.serve")


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _from_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.keys = ApiKeys.from_settings(settings)
        self.default_tenant = settings.tenant
        if not self.keys.enabled:
            logger.warning(
                "no API keys configured (RUAI_API_KEYS / RUAI_API_KEYS_FILE): accepting "
                "requests from this machine only, as tenant %r",
                settings.tenant,
            )

    def tenant(self, request: Request) -> str:
        """The caller's tenant, or a 401 ApiError."""
        if self.keys.enabled:
            tenant = self.keys.tenant_for(bearer(request))
            if tenant is None:
                raise unauthorized()
            return tenant
        if not _from_loopback(request):
            raise unauthorized()
        return self.default_tenant
