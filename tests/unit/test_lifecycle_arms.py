"""A/B arms: config validation, sticky weighted assignment, canary guardrails (no Ray)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from pydantic import ValidationError

from ruai.lifecycle.arms import Experiment
from ruai.lifecycle.guardrails import Guard, Limits, p95

KEYS = [f"sk-user-{i:05d}" for i in range(10_000)]


def experiment(*weights: int, name: str = "rag-lora") -> Experiment:
    arms = [
        {"name": chr(ord("A") + i), "weight": w, "adapter": f"lora-{i}"}
        for i, w in enumerate(weights)
    ]
    return Experiment.model_validate({"name": name, "arms": arms})


def shares(exp: Experiment) -> dict[str, float]:
    counts = Counter(exp.assign(k).name for k in KEYS)
    return {a.name: counts[a.name] / len(KEYS) for a in exp.arms}


@pytest.mark.parametrize("weights", [(90, 10), (50, 30, 20), (1, 1), (95, 0, 5)])
def test_traffic_follows_weights_within_two_points(weights):
    exp = experiment(*weights)
    total = sum(weights)
    for arm, share in shares(exp).items():
        expected = exp.arm(arm).weight / total
        assert abs(share - expected) <= 0.02, (arm, share, expected)


def test_weight_zero_never_gets_traffic():
    got = shares(experiment(70, 0, 30, 0))
    assert got["B"] == 0 and got["D"] == 0
    assert shares(experiment(0, 100)) == {"A": 0.0, "B": 1.0}


def test_same_key_same_arm_in_independent_configs():
    one, two = experiment(50, 30, 20), experiment(50, 30, 20)
    assert one is not two
    assert [one.assign(k).name for k in KEYS] == [two.assign(k).name for k in KEYS]


def test_same_arm_in_a_fresh_interpreter():
    """A fresh process with another hash seed assigns exactly as this one: no per-process salt."""
    exp = experiment(50, 30, 20)
    code = (
        "import sys\n"
        "from ruai.lifecycle.arms import Experiment\n"
        "exp = Experiment.model_validate_json(sys.argv[1])\n"
        "print(''.join(exp.assign(f'sk-user-{i:05d}').name for i in range(500)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, exp.model_dump_json()],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout.strip()  # fmt: skip
    assert out == "".join(exp.assign(k).name for k in KEYS[:500])
    assert set(out) == {"A", "B", "C"}


def test_assignment_depends_on_the_experiment_name():
    a, b = experiment(50, 50, name="exp-1"), experiment(50, 50, name="exp-2")
    differ = sum(a.assign(k).name != b.assign(k).name for k in KEYS[:2000])
    assert 800 < differ < 1200  # independent experiments split users independently


def test_canary_ramp_only_moves_keys_onto_the_growing_arm():
    before, after = experiment(95, 5), experiment(80, 20)
    moved = [(before.assign(k).name, after.assign(k).name) for k in KEYS]
    assert ("B", "A") not in moved  # nobody already on the canary leaves it
    assert ("A", "B") in moved


def moves(before: Experiment, after: Experiment) -> Counter:
    """(arm before, arm after) -> how many keys changed arm that way."""
    pairs = ((before.assign(k).name, after.assign(k).name) for k in KEYS)
    return Counter((old, new) for old, new in pairs if old != new)


def test_raising_one_of_three_arms_only_moves_keys_onto_it():
    moved = moves(experiment(50, 30, 20), experiment(50, 30, 30))
    assert {old for old, _ in moved} == {"A", "B"}  # C takes its new share from both
    assert {new for _, new in moved} == {"C"}


def test_lowering_one_of_three_arms_only_moves_keys_off_it():
    moved = moves(experiment(50, 30, 20), experiment(40, 30, 20))
    assert {old for old, _ in moved} == {"A"}
    assert {new for _, new in moved} == {"B", "C"}


def test_moving_weight_from_one_arm_to_another_never_moves_keys_backwards():
    """A lowered and C raised at once: keys leave A and reach C; B, whose weight is unchanged,
    keeps its share (it takes some of A's keys and gives C as many), but no key leaves C or
    reaches A."""
    before, after = experiment(50, 30, 20), experiment(40, 30, 30)
    moved = moves(before, after)
    assert set(moved) == {("A", "B"), ("A", "C"), ("B", "C")}
    assert abs(shares(after)["B"] - shares(before)["B"]) <= 0.01


def test_override_wins_when_it_names_an_arm():
    exp = experiment(100, 0)
    assert all(exp.assign(k).name == "A" for k in KEYS[:100])
    assert exp.assign(KEYS[0], override="B").name == "B"  # even a disabled arm, for testers
    assert exp.assign(KEYS[0], override="nope").name == "A"  # unknown: ignored
    assert exp.assign(KEYS[0], override="").name == "A"


def test_arm_carries_what_differs():
    exp = Experiment.model_validate(
        {"name": "fusion", "arms": [
            {"name": "base", "weight": 1},
            {"name": "wide", "weight": 1, "collection": "docs_v2", "dense_weight": 0.3,
             "top_k": 20, "llm": "qwen", "adapter": "models:/ruai-lora@challenger"},
        ]}
    )  # fmt: skip
    wide = exp.arm("wide")
    assert (wide.collection, wide.dense_weight, wide.top_k) == ("docs_v2", 0.3, 20)
    assert exp.arm("base").adapter is None


@pytest.mark.parametrize(
    ("arms", "field"),
    [
        ([{"name": "A", "weight": 1}, {"name": "A", "weight": 2}], "duplicate arm names"),
        ([{"name": "A", "weight": -1}], "arms.0.weight"),
        ([{"name": "A", "weight": 0}, {"name": "B", "weight": 0}], "weight > 0"),
        ([], "arms"),
        ([{"name": "A", "weight": 1, "topk": 5}], "arms.0.topk"),  # extra fields are typos
        ([{"name": "A", "weight": 1, "dense_weight": -0.5}], "arms.0.dense_weight"),
        ([{"name": "A", "weight": 1, "top_k": 0}], "arms.0.top_k"),
        ([{"name": "a b", "weight": 1}], "arms.0.name"),
    ],
)
def test_invalid_configs_name_the_field(arms, field):
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        Experiment.model_validate({"name": "x", "arms": arms})


def test_with_weights_validates():
    exp = experiment(90, 10)
    assert [a.weight for a in exp.with_weights({"B": 0}).arms] == [90, 0]
    assert exp.arms[1].weight == 10  # frozen: the original is unchanged
    with pytest.raises(ValidationError, match="weight > 0"):
        exp.with_weights({"A": 0, "B": 0})
    with pytest.raises(KeyError, match="C"):
        exp.with_weights({"C": 5})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LIMITS = Limits(window_s=60, min_requests=20, max_error_rate=0.1, max_p95_s=2.0)


def test_p95_nearest_rank():
    assert p95([float(i) for i in range(1, 101)]) == 95.0
    assert p95([3.0]) == 3.0
    assert p95([0.1] * 19 + [9.0]) == 0.1  # one slow request in 20 is the top 5 %
    assert p95([0.1] * 18 + [9.0, 9.0]) == 9.0


def test_guard_trips_on_errors_only_for_the_bad_arm():
    clock = Clock()
    guard = Guard(LIMITS, clock)
    for i in range(40):
        clock.now += 0.5
        guard.record("A", 0.2, error=False)
        guard.record("B", 0.2, error=i % 4 == 0)  # 25 % errors
    trips = guard.tripped()
    assert list(trips) == ["B"]
    assert trips["B"].error_rate == pytest.approx(0.25) and trips["B"].requests == 40
    assert "error rate" in trips["B"].reasons[0]


def test_guard_trips_on_p95_latency():
    clock = Clock()
    guard = Guard(LIMITS, clock)
    for i in range(100):
        clock.now += 0.1
        guard.record("A", 5.0 if i % 10 == 0 else 0.3)  # 10 % slow: p95 is slow
        guard.record("B", 5.0 if i % 50 == 0 else 0.3)  # 2 % slow: p95 is fine
    trips = guard.tripped()
    assert list(trips) == ["A"]
    assert trips["A"].p95_s == 5.0 and trips["A"].error_rate == 0.0
    assert trips["A"].reasons == ("p95 latency 5.000s > 2.000s",)


def test_guard_waits_for_min_requests():
    clock = Clock()
    guard = Guard(LIMITS, clock)
    for _ in range(19):
        guard.record("A", 30.0, error=True)
    assert guard.tripped() == {}
    guard.record("A", 30.0, error=True)
    assert set(guard.tripped()["A"].reasons) == {
        "error rate 1.000 > 0.100", "p95 latency 30.000s > 2.000s",
    }  # fmt: skip


def test_guard_recovers_when_bad_samples_leave_the_window():
    clock = Clock()
    guard = Guard(LIMITS, clock)
    for _ in range(30):
        guard.record("A", 0.1, error=True)
    assert "A" in guard.tripped()
    clock.now += 30
    for _ in range(30):
        guard.record("A", 0.1)
    assert "A" in guard.tripped()  # still half errors in the window
    clock.now += 30  # the first burst is exactly window_s old: out
    assert guard.tripped() == {}
    assert guard.check("A") is None


def test_limits_reject_unknown_fields():
    with pytest.raises(ValidationError, match="max_p99_s"):
        Limits(max_p99_s=1.0)
