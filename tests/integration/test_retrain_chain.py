"""The retraining trigger end to end on the tiny setup: a drifted query log with positive
feedback on a real index → training pairs (window + the champion's registered dataset) → a
1-epoch fine-tune on Ray Train → the registered challenger → the gate's decision → the canary
experiment. The champion is the packaged MiniLM, registered with a tiny XQuAD-ru cut as its
dataset."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.retrain import OK, STOPPED, run_chain
from ruai.conversations.store import ConversationStore
from ruai.eval.squad import read_squad
from ruai.lifecycle.lineage import EMBEDDER, Lineage
from ruai.lifecycle.monitoring import monitor
from ruai.lifecycle.query_log import QueryRecord, records_to_table
from ruai.lifecycle.registry import CHALLENGER, CHAMPION, Registry
from tests.support.tiny_squad import write_tiny_squad

pytestmark = pytest.mark.integration
MODEL = "emb-retrain"
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def logged(searcher, questions: list[str], start: datetime, tag: str) -> list[QueryRecord]:
    """What the ingress logs for each question: the real retrieval's chunk ids and scores."""
    out = []
    for i, question in enumerate(questions):
        hits = searcher.search(question)
        out.append(
            QueryRecord.of(
                question, ts_ms=int((start + timedelta(minutes=i)).timestamp() * 1000),
                tenant="default", endpoint="/v1/chat/completions", latency_ms=3.0, status=200,
                collection=searcher.settings.collection, dense_model="navec", arm="control",
                chunk_ids=tuple(str(h.id) for h in hits), scores=tuple(h.score for h in hits),
                response_id=f"{tag}-{i}",
            )
        )  # fmt: skip
    return out


def test_drifted_log_to_gate_decision_and_canary(
    ray_cluster, make_settings, few_articles: Path, xquad_path: Path, tmp_path: Path
) -> None:
    from pipelines.ingest import run_ingest
    from raystore import store_for
    from ruai.encoders.factory import build_dense_encoder
    from ruai.encoders.sentence_transformer import resolve_local_model
    from ruai.retrieval import Searcher

    settings = make_settings(
        registry_dir=tmp_path / "registry", conversations_path=tmp_path / "c.sqlite3",
        monitor_min_questions=10, monitor_permutations=100, retrain_model=MODEL, prefetch_limit=5,
        retrain_canary_weight=10, train_batch_size=4, train_max_seq_length=48,
        train_validation_fraction=0.34, train_recall_k=3, promote_margin=0.0,
    )  # fmt: skip
    assert run_ingest(settings, str(few_articles)).documents_ok == 3
    # the champion: MiniLM as packaged, registered with the tiny cut as its dataset
    registered = write_tiny_squad(xquad_path, tmp_path / "tiny.json", 3, 8)
    lineage = Lineage(EMBEDDER, "all-MiniLM-L6-v2", registered, {"by": "article"})
    base = resolve_local_model("all-MiniLM-L6-v2")
    Registry.from_settings(settings).register(MODEL, base.as_uri(), lineage.tags(), alias=CHAMPION)

    # reference: questions about other articles; the window: about the three ingested ones
    data = read_squad(xquad_path)
    ingested = [q.question for q in data.questions if q.article_index in (0, 1, 2)][:45]
    others = [q.question for q in data.questions if 10 <= q.article_index < 20][:60]
    searcher = Searcher.from_settings(settings, store_for(settings))
    window = logged(searcher, ingested, NOW - timedelta(hours=3), "w")
    reference = logged(searcher, others, NOW - timedelta(days=2), "r")
    # a positive whose chunk a search for its question does not bring back (outside the
    # prefetch): the chain reads its text by id, so it is not lost
    near = {str(h.id) for h in searcher.search(window[1].question, top_k=settings.prefetch_limit)}
    points, _ = store_for(settings).scroll_points(settings.collection)
    far = next(p for p in points if p.id not in near)
    window[1] = replace(window[1], chunk_ids=(far.id, *window[1].chunk_ids[1:]))
    store = ConversationStore.from_settings(settings)
    for i, record in enumerate(window):
        store.record_response(record.response_id, "default")
        store.add_feedback("default", record.response_id, -1 if i % 5 == 0 else 1)
    ratings = store.ratings([r.response_id for r in window])
    store.close()

    current = records_to_table(window)
    encode = build_dense_encoder(settings).encode_queries
    report = monitor(current, records_to_table(reference), encode, settings, ratings)
    assert report.groups[0].embedding_drift, report.to_dict()

    dry = run_chain(settings, report, current.to_pylist(), ratings, tmp_path / "dry")
    assert [(s.name, s.status) for s in dry.steps] == [
        ("trigger", OK), ("pairs", OK), ("fine-tune", STOPPED)
    ]  # fmt: skip
    assert "dry run" in dry.steps[-1].detail

    chain = run_chain(
        settings, report, current.to_pylist(), ratings, tmp_path / "run", execute=True
    )
    steps = {s.name: s for s in chain.steps}
    assert list(steps) == ["trigger", "pairs", "fine-tune", "gate", "canary"][: len(steps)]
    assert steps["pairs"].status == OK, steps["pairs"].detail
    found = re.match(
        r"(\d+) window pairs \+ 24 of the registered dataset(?: \((\d+) already in it)?",
        steps["pairs"].detail,
    )
    # 36 answers rated +1 (9 of 45 were -1); each one's chunk found again in the index (a pair
    # the registered dataset already holds is not added twice)
    assert found
    added, known = int(found[1]), int(found[2] or 0)
    assert added + known == len({r.question for i, r in enumerate(window) if i % 5})
    assert chain.dataset is not None and chain.dataset.parent == tmp_path / "run"
    rows = [json.loads(line) for line in chain.dataset.open()]
    assert len(rows) == added + 24 and all(r["context"] for r in rows)
    assert {"question": window[1].question, "context": far.payload["text"]} in [
        {"question": r["question"], "context": r["context"]} for r in rows
    ]
    assert steps["fine-tune"].status == OK, steps["fine-tune"].detail
    registry = Registry.from_settings(settings)
    challenger = registry.get(f"models:/{MODEL}@{CHALLENGER}")
    assert challenger.version == "2" and challenger.tags["base_model"] == f"models:/{MODEL}/1"
    gate = steps["gate"]
    assert (gate.status, gate.detail.split(":")[0]) in ((OK, "promoted"), (STOPPED, "refused"))
    if gate.status == OK:  # promoted: the canary experiment at the configured weight
        experiment = json.loads((tmp_path / "run" / "experiment.json").read_text())
        assert [a["weight"] for a in experiment["arms"]] == [90, 10]
        assert steps["canary"].status == OK, steps["canary"].detail
        staged = experiment["arms"][1]["collection"]
        store = store_for(settings)  # staged beside the live version, the alias not moved
        assert store.version_of(settings.collection).name != staged
        assert store.version_of(staged).model == f"models:/{MODEL}/2"
        assert store.count(staged) == store.count(settings.collection)
    else:
        assert "canary" not in steps
