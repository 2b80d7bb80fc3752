"""Access labels: what a point's ``access`` payload field holds and a Principal is matched by.

A group is written as Keycloak's full path (``/legal``, ``/dept/legal``) or as its bare name
(``legal``), in policies, flags and tokens alike. A point's label is kept as written: a full
path means that group, a bare name any group of that name. A principal's labels are each of its
groups as a full path and as a bare name, so both forms meet. Roles are labels ``role:<name>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ROLE_PREFIX = "role:"


def _group_label(group: str) -> str:
    group = group.strip()
    if not group or group == "/" or group.startswith(ROLE_PREFIX):
        raise ValueError(f"{group!r} is not a group name or path")
    return "/" + group.strip("/") if group.startswith("/") else group.rstrip("/")


def normalize_access(groups: Iterable[str] = (), roles: Iterable[str] = ()) -> list[str]:
    """The ``access`` payload of a document readable by these groups and roles (sorted, no
    duplicates); empty: the whole tenant reads it."""
    labels = {_group_label(g) for g in groups}
    for role in roles:
        if not role.strip():
            raise ValueError("an empty role name")
        labels.add(ROLE_PREFIX + role.strip())
    return sorted(labels)


def split_names(flag: str | None) -> tuple[list[str], list[str]]:
    """``G1,G2,role:R`` (a CLI flag) as (groups, roles)."""
    names = [name.strip() for name in (flag or "").split(",") if name.strip()]
    roles = [name.removeprefix(ROLE_PREFIX) for name in names if name.startswith(ROLE_PREFIX)]
    return [name for name in names if not name.startswith(ROLE_PREFIX)], roles


def principal_labels(groups: Iterable[str], roles: Iterable[str]) -> frozenset[str]:
    labels = set()
    for group in groups:
        label = _group_label(group)
        path = label if label.startswith("/") else "/" + label
        labels.add(path)
        labels.add(path.rsplit("/", 1)[-1])
    labels.update(ROLE_PREFIX + role for role in roles if role)
    return frozenset(labels)


@dataclass(frozen=True, slots=True)
class AccessScope:
    """What a search may read inside its tenant: points whose ``access`` is empty or shares a
    label with ``labels``. ``UNRESTRICTED`` (labels None) is for operators' jobs only."""

    labels: frozenset[str] | None

    @classmethod
    def of(cls, groups: Iterable[str] = (), roles: Iterable[str] = ()) -> AccessScope:
        return cls(principal_labels(groups, roles))

    @property
    def restricted(self) -> bool:
        return self.labels is not None

    def allows(self, access: Iterable[str] | None) -> bool:
        """The same rule as the store filter, for records read outside a store query."""
        access = list(access or ())
        return self.labels is None or not access or bool(self.labels.intersection(access))


UNRESTRICTED = AccessScope(None)
