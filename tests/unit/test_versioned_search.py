"""Queries bound for collection versions of different dense models (ruai.retrieval), and the
version bookkeeping of ruai.store.aliases: real navec, the packaged all-MiniLM-L6-v2 and the
4-bit multilingual-e5-small."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ruai.retrieval import ModelMismatchError, Query, Searcher
from ruai.settings import Settings
from ruai.store.aliases import (
    CollectionVersion,
    next_version_name,
    rollback_target,
    versions_to_drop,
)

NAVEC = CollectionVersion("docs__v1", model="navec", dim=300)
MINILM = CollectionVersion("docs__v2", model="all-MiniLM-L6-v2", dim=384)


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    return Searcher.from_settings(Settings(dense_model="navec"), store=None)


def test_each_query_is_encoded_with_its_versions_model(searcher: Searcher) -> None:
    queries = [
        Query("Кто основал компанию?", "t", 5, "dense", version=NAVEC),
        Query("Где находится музей?", "t", 5, "hybrid", version=MINILM),
        Query("Когда открылся театр?", "t", 3, "dense", version=NAVEC),
    ]
    requests = searcher.requests(queries)
    assert [len(r.dense) for r in requests] == [300, 384, 300]
    assert [r.limit for r in requests] == [5, 5, 3]
    assert requests[1].sparse is not None and requests[0].sparse is None
    # an unrecorded collection (ingested before versions) is searched with the configured model
    assert searcher.dense_for(CollectionVersion("plain")) is searcher.dense
    assert searcher.dense_for(MINILM) is searcher.dense_for(MINILM)  # loaded once


def test_a_model_that_makes_other_sized_vectors_fails_loudly(searcher: Searcher) -> None:
    with pytest.raises(ModelMismatchError, match="300-d queries"):
        searcher.dense_for(CollectionVersion("docs__v3", model="navec", dim=384))


E5 = CollectionVersion("docs__v4", model="multilingual-e5-small-q4", dim=384)


def test_each_model_fuses_with_its_own_dense_weight(searcher: Searcher) -> None:
    """e5's cosines spread less than navec's: unset, RUAI_DENSE_WEIGHT is the model's own."""
    tesla = [Query("Когда умер Тесла?", "t", 5, version=v) for v in (NAVEC, E5)]
    requests = searcher.requests(tesla)
    assert [r.fusion.dense_weight for r in requests] == [4.0, 150.0]
    assert len(requests[1].dense) == 384
    pinned = Searcher.from_settings(Settings(dense_model="navec", dense_weight=2.0), store=None)
    requests = pinned.requests(tesla)
    assert [r.fusion.dense_weight for r in requests] == [2.0, 2.0]
    # an experiment arm's weight wins over both, for its query only
    arm = replace(tesla[1], dense_weight=7.0)
    requests = searcher.requests([tesla[0], arm])
    assert [r.fusion.dense_weight for r in requests] == [4.0, 7.0]


def test_version_bookkeeping() -> None:
    names = ["docs__v1", "docs__v2", "docs__v3", "other__v9"]
    assert next_version_name("docs", names) == "docs__v4"
    assert next_version_name("docs", ["docs"]) == "docs__v1"
    v1, v2, v3 = versions = [CollectionVersion(name) for name in names[:3]]
    # versions recorded without their source: the newest older one
    assert rollback_target("docs", versions, v3) == "docs__v2"
    assert rollback_target("docs", versions, v1) is None
    assert versions_to_drop("docs", versions, v3, keep=1) == ["docs__v1", "docs__v2"]
    assert versions_to_drop("docs", versions, v3, keep=2) == ["docs__v1"]
    # after a rollback the live version stays, and the newest other is the one kept
    assert versions_to_drop("docs", versions, v1, keep=2) == ["docs__v2"]
    assert versions_to_drop("docs", versions, v2, keep=5) == []


def test_rollback_goes_to_the_version_live_before_and_never_to_an_incomplete_one() -> None:
    v1 = CollectionVersion("docs__v1", complete=True)
    broken = CollectionVersion("docs__v2", source="docs__v1", complete=False)
    staged = CollectionVersion("docs__v3", source="docs__v1", complete=True)  # never live
    v4 = CollectionVersion("docs__v4", source="docs__v1", complete=True)
    versions = [v1, broken, staged, v4]
    assert rollback_target("docs", versions, v4) == "docs__v1"
    assert versions_to_drop("docs", versions, v4, keep=2) == ["docs__v2", "docs__v3"]
    assert versions_to_drop("docs", versions, v4, keep=3) == ["docs__v2"]
    assert versions_to_drop("docs", versions, v4, keep=1) == ["docs__v1", "docs__v2", "docs__v3"]
    # its source gone, the newest complete older version; an incomplete one is never the target
    assert rollback_target("docs", [broken, staged, v4], v4) == "docs__v3"
    assert rollback_target("docs", [broken, v4], v4) is None


def test_evaluation_fuses_as_search_does_for_the_versions_model(tmp_path) -> None:
    """jobs.evaluate on an e5 version with navec configured: the weight search serves (150)."""
    from ruai.eval.retrieval_eval import evaluate_modes
    from ruai.eval.squad import Paragraph, Question, SquadDataset
    from ruai.store.edge import EdgeStore

    store = EdgeStore(tmp_path / "store")
    store.ensure_collection(E5.name, E5.dim)
    store.record_version(E5)
    weights: list[float] = []
    search = store.search

    def recorded(collection, request):
        if request.dense is not None and request.sparse is not None:
            weights.append(request.fusion.dense_weight)
        return search(collection, request)

    store.search = recorded
    searcher = Searcher.from_settings(Settings(dense_model="navec"), store=store)
    dataset = SquadDataset(
        {0: "Тесла"}, [Paragraph(0, "Тесла", 0, "Тесла умер в 1943 году.")],
        [Question("q1", "Когда умер Тесла?", ["1943"], [12], 0, 0)],
    )  # fmt: skip
    report = evaluate_modes(searcher, E5.name, dataset, "t")
    assert set(report) == {"dense", "sparse", "hybrid"}
    assert weights == [150.0]
