"""Access policies in a source tree: a ``.ruai-access.yaml`` file in a folder says who may read
the documents under it; a deeper file overrides for its subtree. Its form::

    groups: [/legal, hr]     # full paths or bare names
    roles: [auditor]         # optional
    # no groups and no roles (or an empty file): the whole tenant

``base`` (``jobs.ingest --access``) applies above the tree's root: any policy file inside the
tree overrides it for its folder. An object's own tag or metadata (``parse_object_access``)
overrides them all for that object.
"""

from __future__ import annotations

from collections.abc import Callable
from posixpath import dirname

import yaml

from ruai.identity.access import normalize_access, split_names

POLICY_FILE = ".ruai-access.yaml"


class AccessPolicyError(ValueError):
    """A policy file that cannot be read as groups and roles."""


def parse_policy(text: str, where: str) -> list[str]:
    """The access labels a policy file's text grants."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise AccessPolicyError(f"{where}: not YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"groups", "roles"}:
        raise AccessPolicyError(f"{where}: expected a mapping of 'groups' and 'roles' lists")
    lists = {}
    for field in ("groups", "roles"):
        value = data.get(field) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AccessPolicyError(f"{where}: {field} must be a list of names")
        lists[field] = value
    try:
        return normalize_access(lists["groups"], lists["roles"])
    except ValueError as exc:
        raise AccessPolicyError(f"{where}: {exc}") from exc


def parse_access_flag(flag: str | None) -> list[str]:
    """``--access GROUP[,GROUP…]`` (``role:NAME`` for a role) as access labels."""
    return normalize_access(*split_names(flag))


def parse_object_access(value: str, where: str) -> list[str]:
    """The access labels an object-store tag or metadata value grants: names as in
    ``--access``, separated by commas or spaces (S3 tag values cannot hold a comma); an empty
    value: the whole tenant."""
    try:
        return parse_access_flag(",".join(value.split()))
    except ValueError as exc:
        raise AccessPolicyError(f"{where}: {exc}") from exc


class PolicyTree:
    """The access of each file under ``root`` (paths as the filesystem names them, ``/``
    separated). ``read(path)`` returns a file's text, or None when it does not exist; each
    folder is looked up once."""

    def __init__(
        self, root: str, read: Callable[[str], str | None], base: list[str] | None = None
    ) -> None:
        self.root = root.rstrip("/") or "/"
        self.read = read
        self.base = list(base or [])
        self._by_folder: dict[str, list[str] | None] = {}
        self.policy_files: list[str] = []

    def _policy_of(self, folder: str) -> list[str] | None:
        if folder not in self._by_folder:
            path = f"{folder.rstrip('/')}/{POLICY_FILE}"
            text = self.read(path)
            self._by_folder[folder] = None if text is None else parse_policy(text, path)
            if text is not None:
                self.policy_files.append(path)
        return self._by_folder[folder]

    def access_for(self, path: str) -> list[str]:
        folder = dirname(path)
        while True:
            inside = folder == self.root or folder.startswith(self.root.rstrip("/") + "/")
            if not inside:
                return self.base
            policy = self._policy_of(folder)
            if policy is not None:
                return policy
            if folder == self.root:
                return self.base
            folder = dirname(folder)
