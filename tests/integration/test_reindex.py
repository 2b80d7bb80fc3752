"""Blue/green re-index on the real test cluster and a real Qdrant Edge shard (through its owner
actor): three sample articles ingested with navec (300-d) are re-indexed with the packaged
all-MiniLM-L6-v2 (384-d) by jobs.reindex's pipeline, while a thread searches through the alias;
then the CLI lists, rolls back and drops versions."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from typer.testing import CliRunner

from jobs.reindex import app as reindex_app
from pipelines.ingest import run_ingest
from pipelines.reindex import run_reindex
from raystore import release_store, store_for
from ruai.retrieval import Searcher
from ruai.settings import Settings

pytestmark = pytest.mark.integration
ALIAS = "articles"
NEW_MODEL = "all-MiniLM-L6-v2"
QUERY = "Когда была основана компания и кто её основатель?"


@pytest.fixture(scope="module")
def ingested(ray_cluster, sample_articles, tmp_path_factory):
    docs = tmp_path_factory.mktemp("reindex-docs")
    for path in sorted(sample_articles.glob("*.md"))[:3]:
        (docs / path.name).write_bytes(path.read_bytes())
    settings = Settings(qdrant_path=tmp_path_factory.mktemp("qdrant"), collection=ALIAS)
    report = run_ingest(settings, str(docs))
    assert report.points_total > 10
    yield settings, report.points_total
    release_store(settings)


def _ids(searcher: Searcher, collection: str) -> list[str]:
    return [h.id for h in searcher.search(QUERY, collection=collection, mode="dense", top_k=5)]


def _served_ids(settings: Settings) -> list[str]:
    """What Serve's search does for a query: ``SearchService.search``, the work of the Search
    deployment and of an ingress with ``search_in_ingress`` (no Serve app started)."""
    from serve_apps.search import SearchService

    service = SearchService(settings)
    hits = asyncio.run(service.search(ALIAS, settings.tenant, QUERY, 5, mode="dense"))
    return [h.id for h in hits]


def run_cli(settings: Settings, monkeypatch, *args: str) -> str:
    from ruai.settings import get_settings

    monkeypatch.setenv("RUAI_QDRANT_PATH", str(settings.qdrant_path))
    monkeypatch.setenv("RUAI_COLLECTION", ALIAS)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(reindex_app, [*args, "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.stdout


def test_reindex_flips_under_load_rolls_back_and_drops(ingested, monkeypatch):
    settings, points = ingested
    store = store_for(settings)
    searcher = Searcher.from_settings(settings, store)
    before = _ids(searcher, ALIAS)

    # a bounded load through the alias while the new version is built and the alias flips
    seen: list[list[str]] = []
    errors: list[BaseException] = []
    stop_at: list[int] = []  # set when the re-index returns: 3 more searches, then stop

    def load() -> None:
        while not stop_at or len(seen) < stop_at[0]:
            try:
                seen.append(_ids(searcher, ALIAS))
            except BaseException as exc:  # every failure counts
                errors.append(exc)
                return
            time.sleep(0.05)  # bounded: a steady trickle, not a busy loop starving the re-index

    thread = threading.Thread(target=load)
    thread.start()
    try:
        report = run_reindex(settings, ALIAS, NEW_MODEL)
    finally:
        after_flip = len(seen)
        stop_at.append(after_flip + 3)
        thread.join(timeout=300)
    assert errors == []
    assert (report.source_version, report.new_version) == (f"{ALIAS}__v1", f"{ALIAS}__v2")
    assert report.flipped and report.points_source == report.points_new == points
    assert report.points_written == points and report.dim == 384

    # the versions' vectors differ, so a result set tells which version answered
    v1 = Searcher.from_settings(settings, store)
    v2 = Searcher.from_settings(settings.model_copy(update={"dense_model": NEW_MODEL}), store)
    old, new = _ids(v1, f"{ALIAS}__v1"), _ids(v2, f"{ALIAS}__v2")
    assert old == before and new != old
    # every answer came from one complete version, the old one until the flip and the new after
    assert set(map(tuple, seen)) <= {tuple(old), tuple(new)}
    first_new = next(i for i, ids in enumerate(seen) if ids == new)
    assert all(ids == old for ids in seen[:first_new])
    assert all(ids == new for ids in seen[first_new:])
    assert first_new <= after_flip + 1  # one search may have been under way at the flip
    assert _ids(searcher, ALIAS) == new  # the navec searcher follows the recorded model
    assert store.version_of(ALIAS).model == NEW_MODEL
    assert _served_ids(settings) == new  # so does Serve's Search deployment (navec-configured)

    listed = json.loads(run_cli(settings, monkeypatch, "--list"))
    assert [(r["version"], r["live"], r["model"], r["dim"], r["points"]) for r in listed] == [
        (f"{ALIAS}__v1", False, "navec", 300, points),
        (f"{ALIAS}__v2", True, NEW_MODEL, 384, points),
    ]

    rolled = json.loads(run_cli(settings, monkeypatch, "--rollback"))
    assert rolled == {"collection": ALIAS, "from": f"{ALIAS}__v2", "to": f"{ALIAS}__v1"}
    assert _ids(searcher, ALIAS) == old
    flipped = json.loads(run_cli(settings, monkeypatch, "--flip-to", f"{ALIAS}__v2"))
    assert flipped == {"collection": ALIAS, "from": f"{ALIAS}__v1", "to": f"{ALIAS}__v2"}
    assert _ids(searcher, ALIAS) == new
    run_cli(settings, monkeypatch, "--flip-to", f"{ALIAS}__v1")
    assert _ids(searcher, ALIAS) == old

    dropped = json.loads(run_cli(settings, monkeypatch, "--drop-old", "--keep", "1"))
    assert dropped == {"collection": ALIAS, "dropped": [f"{ALIAS}__v2"], "kept_for_arms": []}
    assert store.collection_names() == [f"{ALIAS}__v1"]
    assert _ids(searcher, ALIAS) == old


def test_a_re_index_with_another_model_configured_refuses_to_adopt(
    ingested, sample_articles, tmp_path, monkeypatch
):
    """Issue 25, finding 1: a second terminal without RUAI_DENSE_MODEL (navec by default here)
    staged a re-index of a collection built with another model; adoption recorded the caller's
    model for the stored vectors, and every search of it failed on the dimension. Now ingestion
    records the model that built a collection, and adoption refuses a RUAI_DENSE_MODEL that
    differs, by record or by vector size; the collection stays plain and keeps answering."""
    from ruai.settings import get_settings

    settings, _ = ingested
    article = sorted(sample_articles.glob("*.md"))[0]
    (tmp_path / article.name).write_bytes(article.read_bytes())
    built = settings.model_copy(update={"collection": "plain"})
    assert run_ingest(built, str(tmp_path)).points_total > 0
    store = store_for(settings)
    assert store.version_of("plain").model == "navec"
    searcher = Searcher.from_settings(built, store)
    before = _ids(searcher, "plain")
    assert before

    monkeypatch.setenv("RUAI_QDRANT_PATH", str(settings.qdrant_path))
    for configured in ("all-MiniLM-L6-v2", "multilingual-e5-small-q4"):  # 384-d, e5 by record
        monkeypatch.setenv("RUAI_DENSE_MODEL", configured)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(
                reindex_app, ["--collection", "plain", "--model", NEW_MODEL, "--stage"]
            )
        finally:
            get_settings.cache_clear()
        assert result.exit_code != 0, result.output
        assert "RUAI_DENSE_MODEL" in result.stderr and "navec" in result.stderr, result.output
        assert "plain" not in store.alias_targets()
        assert _ids(searcher, "plain") == before
