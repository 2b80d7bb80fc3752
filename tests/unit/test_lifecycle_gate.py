"""The promotion rule and the answer metrics the adapter gate scores with."""

from __future__ import annotations

import math

import pytest

from ruai.lifecycle.gate import Decision


def decide(challenger: float, champion: float, margin: float, higher: bool = True) -> Decision:
    return Decision("m", higher, margin, {"m": challenger, "x": 1.0}, {"m": champion, "x": 0.5})


@pytest.mark.parametrize(
    ("challenger", "champion", "margin", "higher", "promote"),
    [
        (0.60, 0.50, 0.05, True, True),
        (0.54, 0.50, 0.05, True, False),  # better, but not by the margin
        (0.50, 0.50, 0.00, True, True),  # margin 0: a tie is enough
        (0.40, 0.50, 0.00, True, False),
        (1.20, 1.50, 0.10, False, True),  # a loss: lower wins
        (1.50, 1.20, 0.00, False, False),
        (math.nan, 0.10, 0.00, True, False),  # a diverged challenger never wins
        (2.00, math.nan, 0.50, False, True),  # any finite one beats a diverged champion
        (math.inf, 1.00, 0.00, False, False),
    ],
)
def test_gate(challenger, champion, margin, higher, promote):
    decision = decide(challenger, champion, margin, higher)
    assert decision.promote is promote
    assert decision.summary().startswith("promoted" if promote else "refused")


def test_rows_put_the_primary_first_with_deltas():
    rows = decide(0.6, 0.5, 0.0).rows()
    assert [r[0] for r in rows] == ["m", "x"]
    assert rows[0][3] == pytest.approx(0.1) and rows[1][1:] == (0.5, 1.0, 0.5)
