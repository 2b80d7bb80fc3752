"""Claims → Principal, by the mapping in Settings (Keycloak's claim shapes by default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruai.identity.errors import AccessDeniedError, AuthenticationError
from ruai.identity.principal import AuthKind, Principal
from ruai.settings import Settings

CLIENT_PLACEHOLDER = "{client}"


def claim_at(claims: Mapping[str, Any], path: str, client: str = "") -> Any:
    """The claim at a dotted path (``realm_access.roles``); a ``{client}`` segment is the
    client id, taken whole even when it holds dots."""
    value: Any = claims
    for part in path.split("."):
        key = client if part == CLIENT_PLACEHOLDER else part
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int) and str(v)]
    return []


@dataclass(frozen=True, slots=True)
class ClaimsMapping:
    subject_claim: str = "sub"
    name_claims: tuple[str, ...] = ("preferred_username", "name")
    tenant_claim: str | None = "tenant"
    tenant_group_prefix: str | None = "/tenants/"
    groups_claim: str = "groups"
    roles_claims: tuple[str, ...] = ("realm_access.roles", "resource_access.{client}.roles")
    client_id: str = "ruai"
    default_tenant: str = "default"

    @classmethod
    def from_settings(cls, settings: Settings) -> ClaimsMapping:
        return cls(
            subject_claim=settings.oidc_subject_claim,
            name_claims=tuple(settings.oidc_name_claims),
            tenant_claim=settings.oidc_tenant_claim,
            tenant_group_prefix=settings.oidc_tenant_group_prefix,
            groups_claim=settings.oidc_groups_claim,
            roles_claims=tuple(settings.oidc_roles_claims),
            client_id=settings.oidc_client_id or settings.oidc_audience or "",
            default_tenant=settings.tenant,
        )

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = claim_at(claims, self.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError(f"the token has no {self.subject_claim!r} claim")
        name = next(
            (v for c in self.name_claims if isinstance(v := claim_at(claims, c), str) and v), ""
        )
        groups = _strings(claim_at(claims, self.groups_claim))
        tenant, groups = self._tenant(claims, groups)
        roles: list[str] = []
        for path in self.roles_claims:
            roles += [r for r in _strings(claim_at(claims, path, self.client_id)) if r not in roles]
        return Principal(
            subject=subject,
            tenant=tenant,
            name=name,
            groups=tuple(groups),
            roles=tuple(roles),
            auth=AuthKind.TOKEN,
        )

    def _tenant(self, claims: Mapping[str, Any], groups: list[str]) -> tuple[str, list[str]]:
        """The tenant (its claim, else the one ``/tenants/<t>/…`` group path names, else the
        default tenant) and the groups: those under the tenant's path also as paths below it
        (``/tenants/acme/legal`` is ``/legal`` too), those under another tenant's dropped."""
        named = set()
        if self.tenant_claim:
            named.update(_strings(claim_at(claims, self.tenant_claim)))
        prefix = self.tenant_group_prefix
        under: dict[str, str] = {}  # group -> its tenant, for groups in a tenant's tree
        for group in groups:
            if prefix and group.startswith(prefix):
                tenant = group[len(prefix) :].partition("/")[0]
                if tenant:
                    under[group] = tenant
        chosen = named or set(under.values())
        if len(chosen) > 1:
            raise AccessDeniedError(f"the token names several tenants: {sorted(chosen)}")
        tenant = next(iter(chosen), self.default_tenant)
        kept = [g for g in groups if under.get(g, tenant) == tenant]
        inside = []
        for group in kept:
            rest = group[len(prefix) + len(tenant) :] if group in under else ""
            if rest.startswith("/") and len(rest) > 1 and rest not in kept:
                inside.append(rest)
        return tenant, [*kept, *inside]
