"""The alert rules of cluster_configs/monitoring/alerts.yaml under Debian's promtool: valid rules
and templates, and a unit test (tests/promtool/alerts.test.yaml) with each alert firing and
staying quiet."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "cluster_configs/monitoring/alerts.yaml"
TESTS = REPO / "tests/promtool/alerts.test.yaml"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def rule_groups() -> list[dict]:
    return yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["spec"]["groups"]


def alert_names() -> list[str]:
    return [r["alert"] for g in rule_groups() for r in g["rules"] if "alert" in r]


@pytest.fixture(scope="module")
def promtool() -> str:
    if not Path(PROMTOOL).is_file():
        pytest.fail("promtool not found: scripts/system-packages.sh installs Debian's prometheus")
    return PROMTOOL


def run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_rules_and_their_templates_are_valid(promtool, tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text(yaml.safe_dump({"groups": rule_groups()}))
    checked = run(promtool, "check", "rules", "all.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in checked.stdout


def test_every_alert_has_a_firing_and_a_quiet_case(promtool, tmp_path: Path) -> None:
    cases = [c for t in yaml.safe_load(TESTS.read_text())["tests"] for c in t["alert_rule_test"]]
    for name in alert_names():
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name}: no firing case"
        assert any(not c["exp_alerts"] for c in mine), f"{name}: no quiet case"
    # annotations are templates over the firing value: checked above, not compared here
    groups = [
        g | {"rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]}
        for g in rule_groups()
    ]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    shutil.copy(TESTS, tmp_path / "alerts.test.yaml")
    tested = run(promtool, "test", "rules", "alerts.test.yaml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
