"""Per-document access on real Qdrant engines: users of several groups in two tenants ask
questions built to hit documents they may not read; not one such chunk comes back, on any search
mode or the in-context view, and a search still fills its top-k from what they may read."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ruai.eval.squad import read_squad
from ruai.identity import AccessScope, normalize_access
from ruai.identity.principal import Principal
from ruai.retrieval import Query, Searcher
from ruai.settings import Settings
from ruai.store.base import PointRecord, SearchRequest
from ruai.store.client import QdrantClientStore
from ruai.store.edge import EdgeStore

TENANTS = ("acme", "globex")
# a document's access, cycled over the paragraphs: public, single groups (full path or bare
# name), a nested group, a group or a role
POLICIES = [
    [],
    normalize_access(["/legal"]),
    normalize_access(["hr"]),
    normalize_access(["/finance"], roles=["auditor"]),
    normalize_access(["/dept/ops"]),
    normalize_access(["legal", "/hr"]),
]
USERS = [
    Principal("u-legal", "acme", groups=("/legal",)),
    Principal("u-hr", "acme", groups=("hr",)),  # a bare name in the token
    Principal("u-ops", "acme", groups=("/dept/ops",)),
    Principal("u-nobody", "acme"),
    Principal("g-finance", "globex", groups=("/finance",)),
    Principal("g-auditor", "globex", roles=("auditor",)),
    Principal("g-legal", "globex", groups=("/corp/legal",)),  # bare "legal" policies match
]
PARAGRAPHS = 96


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    return Searcher.from_settings(Settings(), store=None)


@pytest.fixture(scope="module")
def corpus(xquad_path: Path, searcher: Searcher):
    """(points, questions): paragraph i in tenant i % 2 with POLICIES[i // 2 % len]; each
    question with the payload of its paragraph."""
    squad = read_squad(xquad_path)
    paragraphs = squad.paragraphs[:PARAGRAPHS]
    texts = [p.context.lstrip("\ufeff") for p in paragraphs]
    dense = searcher.dense.encode_passages(texts)
    sparse = searcher.sparse.encode_passages(texts)
    points, payload_of = [], {}
    for i, (paragraph, text) in enumerate(zip(paragraphs, texts, strict=True)):
        access = POLICIES[i // 2 % len(POLICIES)]
        payload = {
            "text": text,
            "source": f"{paragraph.paragraph_id}.md",
            "doc_id": paragraph.paragraph_id,
            "tenant": TENANTS[i % 2],
            "chunk_index": 0,
            "access": access,
        }
        payload_of[paragraph.paragraph_id] = payload
        points.append(PointRecord(str(uuid.uuid4()), dense[i].tolist(), sparse[i], payload))
    questions = [
        (q.question, payload_of[q.paragraph_id])
        for q in squad.questions
        if q.paragraph_id in payload_of
    ]
    return points, questions


def forbidden(user: Principal, payload: dict) -> bool:
    return payload["tenant"] != user.tenant or not AccessScope(user.access_labels).allows(
        payload["access"]
    )


def probe(store, searcher: Searcher, corpus, modes: tuple[str, ...], per_user: int) -> int:
    points, questions = corpus
    probes = 0
    for user in USERS:
        labels = user.access_labels
        aimed = [(q, p) for q, p in questions if forbidden(user, p)][:per_user]
        assert len(aimed) == per_user
        readable = sum(1 for point in points if not forbidden(user, point.payload))
        for mode in modes:
            requests = searcher.requests(
                [Query(q, user.tenant, 10, mode, labels) for q, _ in aimed]
            )
            for request in requests:
                hits = store.search("c", request)
                leaked = [h.payload["doc_id"] for h in hits if forbidden(user, h.payload)]
                assert leaked == [], (user.subject, mode, leaked)
                # a filter inside the prefetches, not after them: the top-k is filled
                assert len(hits) == min(10, readable) or mode == "sparse"
                probes += 1
        # the in-context view of a document they may not read shows nothing
        for _, payload in aimed[:5]:
            view = SearchRequest(
                dense=points[0].dense,
                tenant=user.tenant,
                limit=50,
                doc_ids=[payload["doc_id"]],
                access=labels,
            )
            assert store.search("c", view) == []
            probes += 1
    return probes


def test_no_chunk_leaks_on_edge(tmp_path: Path, searcher: Searcher, corpus) -> None:
    points, questions = corpus
    with EdgeStore(tmp_path / "edge") as store:
        store.ensure_collection("c", searcher.dense.dim)
        store.upsert("c", points)
        assert probe(store, searcher, corpus, ("hybrid", "dense", "sparse"), 12) >= 200
        readable_docs_obey_the_filter(store, points)
        # members do read their documents: u-legal finds its own legal paragraph
        question, payload = next(
            (q, p) for q, p in questions if p["access"] == ["/legal"] and p["tenant"] == "acme"
        )
        [request] = searcher.requests([Query(question, "acme", 10, access=USERS[0].access_labels)])
        assert payload["doc_id"] in {h.payload["doc_id"] for h in store.search("c", request)}
        # an operator (no access filter) reads everything of the tenant
        [request] = searcher.requests([Query(question, "acme", 10)])
        assert payload["doc_id"] in {h.payload["doc_id"] for h in store.search("c", request)}


def readable_docs_obey_the_filter(store, points) -> None:
    doc_ids = [p.payload["doc_id"] for p in points] + ["no-such-doc"]
    for user in USERS:
        expected = [p.payload["doc_id"] for p in points if not forbidden(user, p.payload)]
        found = store.readable_docs("c", user.tenant, doc_ids, user.access_labels)
        assert found == expected, user.subject
    assert store.readable_docs("c", "acme", doc_ids, None) == [
        p.payload["doc_id"] for p in points if p.payload["tenant"] == "acme"
    ]


def test_no_chunk_leaks_on_qdrant_client(searcher: Searcher, corpus) -> None:
    points, _ = corpus
    store = QdrantClientStore(location=":memory:")
    try:
        store.ensure_collection("c", searcher.dense.dim)
        store.upsert("c", points)
        assert probe(store, searcher, corpus, ("hybrid",), 4) >= 28
        readable_docs_obey_the_filter(store, points)
    finally:
        store.close()


def test_access_is_rewritten_in_place(tmp_path: Path, searcher: Searcher, corpus) -> None:
    points, _ = corpus
    legal = USERS[0]
    with EdgeStore(tmp_path / "edge") as store:
        store.ensure_collection("c", searcher.dense.dim)
        store.upsert("c", points)
        hr_doc = next(p.payload for p in points if p.payload["access"] == ["hr"])
        [request] = searcher.requests(
            [Query(hr_doc["text"][:200], hr_doc["tenant"], 10, access=legal.access_labels)]
        )
        assert hr_doc["doc_id"] not in {h.payload["doc_id"] for h in store.search("c", request)}
        store.set_access("c", hr_doc["tenant"], {hr_doc["doc_id"]: ["/legal"]})
        found = {h.payload["doc_id"] for h in store.search("c", request)}
        assert hr_doc["doc_id"] in found
        state = store.doc_states("c", hr_doc["tenant"])[hr_doc["doc_id"]]
        assert state.access == ("/legal",)


def test_an_evaluation_as_a_group_member_finds_only_what_it_may_read(
    tmp_path: Path, xquad_path: Path, searcher: Searcher, corpus
) -> None:
    """jobs.evaluate --groups: the same questions as an operator (every document of the tenant)
    and as a member of no group (only the tenant-wide ones): the member's recall falls by the
    questions whose paragraphs it may not read, and never finds one of those."""
    from dataclasses import replace

    from ruai.eval.retrieval_eval import evaluate_modes

    points, _ = corpus
    squad = read_squad(xquad_path)
    acme = {p.payload["doc_id"] for p in points if p.payload["tenant"] == "acme"}
    public = {p.payload["doc_id"] for p in points if p.payload["doc_id"] in acme
              and not p.payload["access"]}  # fmt: skip
    dataset = replace(
        squad,
        paragraphs=[p for p in squad.paragraphs if p.paragraph_id in acme],
        questions=[q for q in squad.questions if q.paragraph_id in acme],
    )
    with EdgeStore(tmp_path / "edge") as store:
        store.ensure_collection("c", searcher.dense.dim)
        store.upsert("c", points)
        evaluating = Searcher(searcher.settings, store, searcher.dense, searcher.sparse)
        operator = evaluate_modes(evaluating, "c", dataset, "acme")["hybrid"]
        nobody = USERS[3].access_labels
        member = evaluate_modes(evaluating, "c", dataset, "acme", access=nobody)["hybrid"]
    share_public = sum(q.paragraph_id in public for q in dataset.questions) / len(dataset.questions)
    assert operator["recall@10"] > 0.8
    assert member["recall@10"] <= share_public < operator["recall@10"]


def _write_as_before_access_ids(store, points: list[PointRecord]) -> None:
    """Points as a store wrote them before it derived ``access_ids`` (no such field)."""
    if isinstance(store, EdgeStore):
        import qdrant_edge as qe

        vectors = [{"dense": p.dense, "bm25": qe.SparseVector(p.sparse.indices, p.sparse.values)}
                   for p in points]  # fmt: skip
        batch = [qe.Point(p.id, v, p.payload) for p, v in zip(points, vectors, strict=True)]
        store._shard("c").update(qe.UpdateOperation.upsert_points(batch))
    else:
        from qdrant_client import models

        store._client.upsert("c", points=[models.PointStruct(
            id=p.id, payload=p.payload, vector={"dense": p.dense, "bm25": models.SparseVector(
                indices=p.sparse.indices, values=p.sparse.values)}) for p in points])  # fmt: skip


@pytest.mark.parametrize("engine", ["edge", "qdrant_client"])
def test_points_written_before_access_ids_stay_closed_until_relabelled(
    engine: str, tmp_path: Path, searcher: Searcher, corpus
) -> None:
    """A point without ``access_ids`` is read by no member (never by everyone, nor by another
    tenant); doc_states marks its document for a payload-only relabel, after which its readers
    find it."""
    points, questions = corpus
    question, legal = next(
        (q, p) for q, p in questions if p["access"] == ["/legal"] and p["tenant"] == "acme"
    )
    old = [p for p in points if p.payload["tenant"] == "acme"]
    if engine == "edge":
        store = EdgeStore(tmp_path / "edge")
    else:
        store = QdrantClientStore(location=":memory:")
    try:
        store.ensure_collection("c", searcher.dense.dim)
        _write_as_before_access_ids(store, old)
        [request] = searcher.requests([Query(question, "acme", 10, access=USERS[0].access_labels)])
        assert store.search("c", request) == []
        [operator] = searcher.requests([Query(question, "acme", 10)])
        assert legal["doc_id"] in {h.payload["doc_id"] for h in store.search("c", operator)}
        states = store.doc_states("c", "acme")
        assert {d for d, s in states.items() if s.access is None} == {
            p.payload["doc_id"] for p in old
        }
        store.set_access("c", "acme", {p.payload["doc_id"]: p.payload["access"] for p in old})
        hits = store.search("c", request)
        assert legal["doc_id"] in {h.payload["doc_id"] for h in hits}
        assert all("access_ids" not in h.payload for h in hits)
        asked, public = next(
            (q, p) for q, p in questions if not p["access"] and p["tenant"] == "acme"
        )
        [nobody] = searcher.requests([Query(asked, "acme", 10, access=USERS[3].access_labels)])
        assert public["doc_id"] in {h.payload["doc_id"] for h in store.search("c", nobody)}
        assert store.doc_states("c", "acme")[legal["doc_id"]].access == ("/legal",)
        assert all(s.access is not None for s in store.doc_states("c", "acme").values())
    finally:
        store.close()
