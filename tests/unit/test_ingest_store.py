"""What ingestion leaves in a real store (Qdrant Edge on tmp_path, real files), without Ray: the
stages and ``run_ingest`` write through a DirectStore when no Ray runs. Pruning next to a
directory that cannot be listed, a file emptied in place, a document whose write was cut off."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import ray

from pipelines.ingest import run_ingest
from pipelines.ingest_stages import ChunkEmbedWriteStage, WriteStep
from ruai.encoders.base import SparseVector
from ruai.ingest.documents import chunk_id_for, doc_id_for
from ruai.ingest.rows import chunk_rows, points_from_table, with_dense
from ruai.settings import Settings
from ruai.store import PointRecord, SearchRequest
from ruai.store.edge import EdgeStore
from tests.support.chunk_stage import chunk_files
from tests.unit.test_store_contract import BACKENDS, CHUNKS_PER_DOC, CORPUS, _open
from tests.unit.test_store_contract import DIM as CONTRACT_DIM

DIM = 4
TENANT = "default"


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        qdrant_path=tmp_path / "qdrant",
        collection="docs",
        tenant=TENANT,
        dense_model="navec",
        extract_entities=False,
    )


def _stored_doc(source: Path, dim: int) -> PointRecord:
    doc_id = doc_id_for(str(source), TENANT)
    payload = {"doc_id": doc_id, "source": str(source), "content_hash": "h", "tenant": TENANT}
    return PointRecord(chunk_id_for(doc_id, 0), [1.0] * dim, SparseVector([1], [1.0]), payload)


def test_prune_keeps_the_documents_of_a_directory_that_could_not_be_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ruai.encoders.model_info import dense_dim

    settings = _settings(tmp_path)
    corpus = tmp_path / "corpus"
    (corpus / "locked").mkdir(parents=True)
    (corpus / "locked" / "kept.txt").write_text("Текст, который никуда не делся.")
    with EdgeStore(settings.qdrant_path) as store:
        store.ensure_collection("docs", dense_dim(settings))
        store.upsert(
            "docs",
            [
                _stored_doc(corpus / "locked" / "kept.txt", dense_dim(settings)),
                _stored_doc(corpus / "deleted.txt", dense_dim(settings)),
            ],
        )
    real = os.scandir
    locked = str(corpus / "locked")

    def scandir(path):  # fails for this directory only (EACCES, an NFS hiccup): as root,
        if str(path) == locked:  # chmod cannot make a listing fail
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    ray_before = ray.is_initialized()  # the suite's cluster may be up from an earlier test

    report = run_ingest(settings, str(corpus), prune=True)

    assert ray.is_initialized() == ray_before  # no file to read: the job never started Ray
    assert [s["source"] for s in report.files_skipped] == [locked]
    assert report.documents_pruned == 1  # deleted.txt: its file is gone
    assert report.documents_not_pruned == 1  # kept.txt: its directory could not be listed
    assert report.points_total == 1


class _Job:
    """One ingestion run over some files, its stages as the fused actor runs them (the dense
    model aside: every chunk gets the same vector), on one store opened for the whole test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.write = WriteStep(settings, TENANT, "docs")
        self.store = self.write.store
        self.store.ensure_collection("docs", DIM)

    def known(self) -> dict[str, tuple[str, str, tuple[str, ...] | None]]:
        states = self.store.doc_states("docs", TENANT)
        return {doc_id: (s.content_hash, s.marker, s.access) for doc_id, s in states.items()}

    def chunk(self, *files: Path) -> pa.Table:
        table = chunk_files(self.settings, TENANT, self.known(), list(files))
        chunks = sum(len(texts) for texts in table.column("texts").to_pylist())
        return with_dense(table, np.ones((chunks, DIM), dtype=np.float32))

    def run(self, *files: Path) -> dict[str, dict]:
        """source file name → its outcome row, as the driver gets it."""
        rows = self.write(self.chunk(*files)).to_pylist()
        return {Path(row["source"]).name: row for row in rows}

    def texts(self) -> list[str]:
        hits = self.store.search("docs", SearchRequest(dense=[1.0] * DIM, limit=100))
        return sorted(hit.payload["text"] for hit in hits)


def test_a_file_left_without_text_loses_its_stored_version(tmp_path: Path, make_docx) -> None:
    from pipelines.ingest import _count_outcomes
    from pipelines.report import IngestReport

    emptied, markup, corrupt = tmp_path / "a.txt", tmp_path / "b.html", make_docx(["Договор."])
    emptied.write_text("Секретный проект «Берёза» закрыт в 2021 году.")
    markup.write_text("<html><body><p>Отчёт за квартал.</p></body></html>")
    job = _Job(_settings(tmp_path))
    assert {r["outcome"] for r in job.run(emptied, markup, corrupt).values()} == {"ok"}
    assert job.texts() == [
        "Договор.",
        "Отчёт за квартал.",
        "Секретный проект «Берёза» закрыт в 2021 году.",
    ]

    emptied.write_bytes(b"")
    markup.write_text("<html><body><script>var x = 1;</script></body></html>")
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    rows = job.run(emptied, markup, corrupt)

    outcomes = {name: (row["outcome"], row["reason"]) for name, row in rows.items()}
    assert outcomes["a.txt"] == ("removed", "empty file")
    assert outcomes["b.html"] == ("removed", "no text extracted")
    assert outcomes[corrupt.name][0] == "failed"
    # nothing to index is no longer served; a file that cannot be read keeps its old version
    assert job.texts() == ["Договор."]
    report = IngestReport("docs", str(tmp_path), TENANT)
    _count_outcomes(report, pa.Table.from_pylist(list(rows.values())))
    assert sorted(r["reason"] for r in report.documents_removed) == [
        "empty file",
        "no text extracted",
    ]
    assert [Path(r["source"]).name for r in report.documents_failed] == [corrupt.name]
    # the next run finds nothing stored for them: an empty file is then reported as one
    assert job.run(emptied)["a.txt"]["outcome"] == "failed"


def test_a_document_whose_write_was_cut_off_is_written_again(tmp_path: Path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text(
        "\n\n".join(f"Абзац {i}. Москва — столица России, в ней много людей." for i in range(6))
    )
    job = _Job(_settings(tmp_path))
    points = points_from_table(chunk_rows(job.chunk(doc)))
    assert len(points) > 2
    # the job stopped after its first write request: two of the document's chunks are stored
    job.store.upsert("docs", points[:2])
    (state,) = job.store.doc_states("docs", TENANT).values()
    assert state.points == 2 and state.content_hash == ""

    row = job.run(doc)["doc.txt"]

    assert (row["outcome"], row["chunks"]) == ("ok", len(points))
    assert job.store.count("docs") == len(points)
    (state,) = job.store.doc_states("docs", TENANT).values()
    assert state.content_hash == row["content_hash"] and state.points == len(points)
    assert job.run(doc)["doc.txt"]["outcome"] == "unchanged"


@pytest.mark.parametrize("backend", BACKENDS)
def test_doc_states_count_a_documents_points_against_its_chunk_count(
    backend: str, tmp_path: Path
) -> None:
    store = _open(backend, tmp_path)
    store.ensure_collection("docs", CONTRACT_DIM)
    docs = [CORPUS[i : i + CHUNKS_PER_DOC] for i in range(0, 3 * CHUNKS_PER_DOC, CHUNKS_PER_DOC)]
    counted = [  # the first two documents' points carry chunk_count, the third's do not
        PointRecord(p.id, p.dense, p.sparse, p.payload | {"chunk_count": CHUNKS_PER_DOC})
        for p in docs[0] + docs[1]
    ]
    # all of the first document; one chunk short of the second and of the third
    store.upsert("docs", counted[:CHUNKS_PER_DOC] + counted[CHUNKS_PER_DOC:-1] + docs[2][:-1])

    states = store.doc_states("docs")

    hashes = {
        doc[0].payload["doc_id"]: states[doc[0].payload["doc_id"]].content_hash for doc in docs
    }
    assert list(hashes.values()) == [
        docs[0][0].payload["content_hash"],
        "",  # incomplete: re-ingested by the next run
        docs[2][0].payload["content_hash"],  # no chunk_count (stored before it existed): as before
    ]
    store.close()


def test_the_fused_stage_analyses_each_word_once(tmp_path: Path) -> None:
    """Chunking (lemmas, BM25) and navec read one lemma cache in the fused actor."""
    stage = ChunkEmbedWriteStage(_settings(tmp_path), TENANT, "docs", {})
    try:
        assert stage.rest.embed.encoder.lemmatizer is stage.chunk.processor.lemmatizer
    finally:
        stage.rest.write.store.close()
