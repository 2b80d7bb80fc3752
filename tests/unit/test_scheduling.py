"""The suite's scheduling table names what exists (a renamed module would lose its place)."""

from __future__ import annotations

from pathlib import Path

from tests.support.scheduling import COST_S, SHARED, unit_of

REPO = Path(__file__).resolve().parents[2]


def test_every_costed_unit_and_shared_module_exists() -> None:
    units = {unit_of(str(p.relative_to(REPO))) for p in REPO.glob("tests/**/test_*.py")}
    assert set(COST_S) <= units, set(COST_S) - units
    assert all((REPO / module).is_file() for module in SHARED)
