from __future__ import annotations

from pathlib import Path

import pytest

from ruai.api_keys import ApiKeys, ApiKeysError, KeyGrant, read_keys_file
from ruai.identity import AuthKind
from ruai.settings import Settings


def test_keys_from_settings_and_file_map_to_tenants(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# key tenant\nk-file  globex\n\nk-other acme  # trailing comment\n")
    keys = ApiKeys.from_settings(Settings(api_keys={"k-env": "acme"}, api_keys_file=keys_file))
    assert keys.enabled
    assert keys.tenant_for("k-env") == "acme"
    assert keys.tenant_for("k-file") == "globex"
    assert keys.tenant_for("k-other") == "acme"
    assert keys.tenant_for("k-fil") is None
    assert keys.tenant_for("") is None
    assert keys.tenant_for(None) is None


def test_yaml_keys_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.yaml"
    keys_file.write_text("k1: acme\nk2: globex\n")
    assert read_keys_file(keys_file) == {"k1": KeyGrant("acme"), "k2": KeyGrant("globex")}


def test_keys_with_groups_and_roles_are_principals(tmp_path: Path) -> None:
    lines = tmp_path / "keys.txt"
    lines.write_text(
        "k-legal acme groups=/legal,hr roles=reader name=contracts-bot\nk-plain acme\n"
    )
    mapping = tmp_path / "keys.yaml"
    mapping.write_text("k-yaml: {tenant: globex, groups: [/ops]}\nk-old: acme\n")
    keys = ApiKeys.from_settings(
        Settings(api_keys={"k-env": {"tenant": "acme", "roles": ["admin"]}}, api_keys_file=lines)
    )
    legal = keys.principal_for("k-legal")
    assert (legal.tenant, legal.groups, legal.roles) == ("acme", ("/legal", "hr"), ("reader",))
    assert legal.subject == "contracts-bot" and legal.auth is AuthKind.API_KEY
    assert legal.key_id.startswith("key-") and "k-legal" not in legal.key_id
    plain = keys.principal_for("k-plain")
    assert plain.subject == plain.key_id and plain.groups == ()
    assert keys.principal_for("k-env").roles == ("admin",)
    assert keys.principal_for("nope") is None
    assert read_keys_file(mapping)["k-yaml"] == KeyGrant("globex", ("/ops",))
    bad = tmp_path / "bad.yaml"
    bad.write_text("k: {tenant: a, group: [x]}\n")
    with pytest.raises(ApiKeysError, match="unknown fields"):
        read_keys_file(bad)


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("good acme\nonly-a-key\n")
    with pytest.raises(ApiKeysError, match=r"keys.txt:2"):
        read_keys_file(keys_file)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ApiKeysError, match="RUAI_API_KEYS_FILE"):
        ApiKeys.from_settings(Settings(api_keys_file=tmp_path / "absent"))


def test_required_keys_refuse_an_empty_configuration() -> None:
    with pytest.raises(ApiKeysError, match="RUAI_OIDC_ISSUER"):
        ApiKeys.from_settings(Settings(require_api_keys=True))
    tokens_only = Settings(require_api_keys=True, oidc_issuer="https://kc/realms/r")
    assert not ApiKeys.from_settings(tokens_only).enabled
    assert not ApiKeys.from_settings(Settings()).enabled
