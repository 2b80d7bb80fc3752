"""The options that make a job search as a member of some groups (jobs.search, jobs.evaluate):
without them a job searches as the operator, every document of the tenant."""

from __future__ import annotations

import typer

from jobs.cli import fail

GROUPS = typer.Option(
    None,
    help="Search as a member of these groups: G1,G2 (full paths /legal or names; role:NAME "
    "for a role); only documents they may read are found",
)
PUBLIC = typer.Option(
    False, "--public", help="Search as a member of no group: only documents of the whole tenant"
)


def access_labels(groups: str | None, public: bool) -> frozenset[str] | None:
    """The access labels of a member of ``groups`` (none with ``public``); None: the operator's,
    no access filter."""
    from ruai.identity import AccessScope
    from ruai.identity.access import split_names

    if not (groups or public):
        return None
    try:
        return AccessScope.of(*split_names(groups)).labels
    except ValueError as exc:
        fail(f"--groups {groups!r}: {exc}")
