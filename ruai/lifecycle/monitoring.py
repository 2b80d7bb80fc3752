"""The monitoring job's statistics, without Ray: a window of the query log against a reference.

Per (tenant, collection): query-embedding drift (MMD permutation test), retrieval confidence (KS
on top-1 scores, the share below ``monitor_low_score``), language (pymorphy3-unknown words,
non-Cyrillic questions). Per (arm, model): the share of negative feedback. Thresholds come from
Settings (``monitor_*``); ``MonitorReport.triggers`` names every one that was crossed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa

from ruai.lifecycle.drift import language_shares, mmd_test, score_ks_test
from ruai.settings import Settings

Encode = Callable[[list[str]], np.ndarray]
NO_ARM = "none"  # the arm label of requests served outside any experiment


@dataclass(frozen=True, slots=True)
class GroupDrift:
    tenant: str
    collection: str
    questions: int
    reference_questions: int
    tested: bool  # both sides have monitor_min_questions questions with text
    mmd2: float | None = None
    mmd_p_value: float | None = None
    embedding_drift: bool = False
    ks_statistic: float | None = None
    ks_p_value: float | None = None
    score_drift: bool = False
    low_confidence_share: float | None = None
    low_confidence: bool = False
    unknown_word_share: float | None = None
    non_cyrillic_share: float | None = None
    language_drift: bool = False

    @property
    def drifted(self) -> bool:
        return (
            self.embedding_drift or self.score_drift or self.low_confidence or self.language_drift
        )


@dataclass(frozen=True, slots=True)
class FeedbackShare:
    arm: str
    model: str
    ratings: int
    negative: int
    alerting: bool  # at least monitor_min_feedback ratings and above the share

    @property
    def negative_share(self) -> float:
        return self.negative / self.ratings if self.ratings else 0.0


@dataclass(frozen=True, slots=True)
class MonitorReport:
    window: str
    reference: str
    questions: int
    groups: list[GroupDrift]
    feedback: list[FeedbackShare] = field(default_factory=list)

    def triggers(self) -> list[str]:
        """Every threshold crossed, one line each (empty: nothing to act on)."""
        out = []
        for g in self.groups:
            where = f"{g.tenant}/{g.collection}"
            if g.embedding_drift:
                out.append(f"{where}: query-embedding drift (MMD p={g.mmd_p_value:.4f})")
            if g.score_drift:
                out.append(f"{where}: top-1 score distribution moved (KS p={g.ks_p_value:.4f})")
            if g.low_confidence:
                out.append(f"{where}: {g.low_confidence_share:.0%} low-confidence answers")
            if g.language_drift:
                out.append(
                    f"{where}: language shift (unknown words {g.unknown_word_share:.0%}, "
                    f"non-Cyrillic {g.non_cyrillic_share:.0%})"
                )
        for f in self.feedback:
            if f.alerting:
                out.append(f"arm {f.arm} ({f.model}): {f.negative_share:.0%} negative feedback")
        return out

    def to_dict(self) -> dict:
        return {
            "window": self.window,
            "reference": self.reference,
            "questions": self.questions,
            "groups": [asdict(g) | {"drifted": g.drifted} for g in self.groups],
            "feedback": [asdict(f) | {"negative_share": f.negative_share} for f in self.feedback],
            "triggers": self.triggers(),
        }


def model_label(row: Mapping[str, object]) -> str:
    """The model versions that answered a logged request, as one label."""
    parts = [row.get(k) for k in ("dense_model", "llm_model", "adapter")]
    return "+".join(str(p) for p in parts if p) or "unknown"


def top1(scores: list[float] | None) -> float | None:
    return float(scores[0]) if scores else None


def _groups(rows: list[dict]) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        out[(row["tenant"], row.get("collection") or "")].append(row)
    return out


def _sample(texts: list[str], size: int, rng: np.random.Generator) -> list[str]:
    if len(texts) <= size:
        return texts
    return [texts[i] for i in sorted(rng.choice(len(texts), size, replace=False))]


def group_drift(
    key: tuple[str, str], rows: list[dict], reference: list[dict], encode: Encode, s: Settings
) -> GroupDrift:
    texts = [r["question"] for r in rows if r.get("question")]
    ref_texts = [r["question"] for r in reference if r.get("question")]
    base = {"tenant": key[0], "collection": key[1], "questions": len(rows)}
    base["reference_questions"] = len(reference)
    scores = [x for x in (top1(r.get("scores")) for r in rows) if x is not None]
    low = sum(x < s.monitor_low_score for x in scores) / len(scores) if scores else None
    confidence = {
        "low_confidence_share": low,
        "low_confidence": low is not None
        and len(scores) >= s.monitor_min_questions
        and low > s.monitor_max_low_confidence_share,
    }
    if min(len(texts), len(ref_texts)) < s.monitor_min_questions:
        return GroupDrift(**base, tested=False, **confidence)
    rng = np.random.default_rng(s.monitor_seed)
    current = encode(_sample(texts, s.monitor_max_sample, rng))
    past = encode(_sample(ref_texts, s.monitor_max_sample, rng))
    mmd = mmd_test(
        past, current, alpha=s.monitor_alpha, permutations=s.monitor_permutations,
        seed=s.monitor_seed,
    )  # fmt: skip
    ref_scores = [x for x in (top1(r.get("scores")) for r in reference) if x is not None]
    ks = score_ks_test(ref_scores, scores, alpha=s.monitor_alpha) if scores and ref_scores else None
    language = language_shares(
        texts,
        max_unknown_word_share=s.monitor_max_unknown_word_share,
        max_non_cyrillic_share=s.monitor_max_non_cyrillic_share,
    )
    return GroupDrift(
        **base,
        tested=True,
        mmd2=mmd.mmd2,
        mmd_p_value=mmd.p_value,
        embedding_drift=mmd.drifted,
        ks_statistic=ks.statistic if ks else None,
        ks_p_value=ks.p_value if ks else None,
        score_drift=bool(ks and ks.drifted),
        unknown_word_share=language.unknown_word_share,
        non_cyrillic_share=language.non_cyrillic_share,
        language_drift=language.drifted,
        **confidence,
    )


def feedback_shares(
    rows: list[dict], ratings: Mapping[str, int], s: Settings
) -> list[FeedbackShare]:
    """Negative share per (arm, model) over the window's rated answers (joined on response_id)."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        rating = ratings.get(row.get("response_id") or "")
        if rating is None:
            continue
        cell = counts[(row.get("arm") or NO_ARM, model_label(row))]
        cell[0] += 1
        cell[1] += rating < 0
    out = []
    for (arm, model), (n, negative) in sorted(counts.items()):
        alerting = n >= s.monitor_min_feedback and negative / n > s.monitor_max_negative_share
        out.append(FeedbackShare(arm, model, n, negative, alerting))
    return out


def monitor(
    current: pa.Table,
    reference: pa.Table,
    encode: Encode,
    settings: Settings,
    ratings: Mapping[str, int] | None = None,
    *,
    window: str = "",
    reference_label: str = "",
) -> MonitorReport:
    """The report of one window: only answered requests (status < 400) are compared."""
    rows = [r for r in current.to_pylist() if r["status"] < 400]
    past = _groups([r for r in reference.to_pylist() if r["status"] < 400])
    groups = [
        group_drift(key, group, past.get(key, []), encode, settings)
        for key, group in sorted(_groups(rows).items())
    ]
    return MonitorReport(
        window, reference_label, len(rows), groups, feedback_shares(rows, ratings or {}, settings)
    )
