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


@pytest.mark.parametrize("k", [2, 5, 7, 8, 10, 11, 14, 17, 20, 23])
def test_a_gain_of_exactly_the_margin_promotes_despite_float_rounding(k):
    """Recall over 100 held-out questions: one more found is a gain of exactly 1/100, though
    (k + 1)/100 - k/100 rounds below 0.01 for these k."""
    assert (k + 1) / 100 - k / 100 < 0.01
    assert decide((k + 1) / 100, k / 100, 0.01).promote


def test_a_loss_gain_of_exactly_the_margin_promotes_and_a_smaller_one_does_not():
    assert decide(7.42, 7.43, 0.01, higher=False).promote  # 7.43 - 7.42 < 0.01 in floats
    assert not decide(0.509999, 0.50, 0.01).promote
