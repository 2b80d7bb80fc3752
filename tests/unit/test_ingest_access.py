"""Who may read a document, set at ingestion from ``.ruai-access.yaml`` files and ``--access``,
on a real Edge store without Ray: an edited policy rewrites the payload only (no parse, no
embedding: the encoder's calls are counted) and the next query obeys it. On a real S3 endpoint
(moto's server) an object's own tag or metadata overrides the policy files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines import ingest_stages
from pipelines.ingest_stages import ChunkStage, EmbedStep, WriteStep
from pipelines.sources import access_of, access_policies, list_source_files
from raystore import DirectStore
from ruai.identity import AccessScope
from ruai.identity.policy import (
    AccessPolicyError,
    PolicyTree,
    parse_access_flag,
    parse_object_access,
    parse_policy,
)
from ruai.retrieval import Searcher
from ruai.settings import Settings

TENANT = "acme"


def test_policy_files_and_flags() -> None:
    assert parse_policy("groups: [/legal/, hr]\nroles: auditor\n", "p") == [
        "/legal",
        "hr",
        "role:auditor",
    ]
    assert parse_policy("", "p") == []
    with pytest.raises(AccessPolicyError, match="p: expected"):
        parse_policy("owners: [x]", "p")
    with pytest.raises(AccessPolicyError, match="p: groups"):
        parse_policy("groups: {a: 1}", "p")
    assert parse_access_flag("/legal, hr,role:admin") == ["/legal", "hr", "role:admin"]
    assert parse_access_flag(None) == []
    files = {"/r/a/.ruai-access.yaml": "groups: [a]", "/r/a/b/c/.ruai-access.yaml": "roles: [x]"}
    tree = PolicyTree("/r", files.get, base=["/base"])
    assert tree.access_for("/r/top.txt") == ["/base"]
    assert tree.access_for("/r/a/doc.txt") == ["a"]
    assert tree.access_for("/r/a/b/doc.txt") == ["a"]  # inherited
    assert tree.access_for("/r/a/b/c/d/doc.txt") == ["role:x"]  # a deeper file overrides
    assert sorted(tree.policy_files) == sorted(files)


class Ingest:
    """The fused ingestion actor's steps, run here without Ray; counts the dense encoder's
    passage calls."""

    def __init__(self, settings: Settings, root: Path) -> None:
        self.settings, self.root = settings, root
        self.embed = EmbedStep(settings)
        self.write = WriteStep(settings, TENANT, "docs")
        self.store = self.write.store
        self.store.ensure_collection("docs", self.embed.encoder.dim)
        self.encoded = 0
        encode = self.embed.encoder.encode_passages

        def counted(texts):
            self.encoded += len(texts)
            return encode(texts)

        self.embed.encoder.encode_passages = counted

    def run(self, base: list[str] | None = None) -> dict[str, str]:
        listing = list_source_files(str(self.root))
        readers = access_of(listing, access_policies(listing, base))
        states = self.store.doc_states("docs", TENANT)
        known = {d: (s.content_hash, s.marker, s.access) for d, s in states.items()}
        stage = ChunkStage(self.settings, TENANT, known)
        batch = {
            "uri": np.array([f.uri for f in listing.files]),
            "size": np.array([f.size for f in listing.files]),
            "marker": np.array([f.marker for f in listing.files]),
            "access": np.array([json.dumps(readers[f.uri]) for f in listing.files]),
        }
        try:
            rows = self.write(self.embed(stage(batch))).to_pylist()
        finally:
            stage.processor.extract.close()
        return {Path(r["source"]).name: r["outcome"] for r in rows}


def test_an_edited_policy_rewrites_access_without_embedding(tmp_path: Path, monkeypatch) -> None:
    # the shard opened in this process, as without Ray (where an earlier test module started Ray
    # in this process, store_for would hand the stages its owner actor)
    monkeypatch.setattr(ingest_stages, "store_for", DirectStore)
    root = tmp_path / "docs"
    (root / "legal" / "hr").mkdir(parents=True)
    (root / "public.txt").write_text("Столовая открыта с девяти утра до шести вечера.")
    (root / "legal" / ".ruai-access.yaml").write_text("groups: [/legal]\n")
    (root / "legal" / "contract.txt").write_text("Договор аренды склада заключён на пять лет.")
    (root / "legal" / "hr" / ".ruai-access.yaml").write_text("groups: [hr]\n")
    (root / "legal" / "hr" / "salary.txt").write_text("Оклад инженера повышен до ста тысяч.")
    settings = Settings(
        qdrant_path=tmp_path / "qdrant", dense_model="navec", extract_entities=False
    )
    ingest = Ingest(settings, root)
    assert ingest.run() == {"public.txt": "ok", "contract.txt": "ok", "salary.txt": "ok"}
    states = {Path(s.source).name: s.access for s in ingest.store.doc_states("docs").values()}
    assert states == {"public.txt": (), "contract.txt": ("/legal",), "salary.txt": ("hr",)}
    encoded = ingest.encoded
    assert encoded >= 3

    searcher = Searcher.from_settings(settings, ingest.store)

    def sources(question: str, groups: tuple[str, ...]) -> set[str]:
        hits = searcher.search(
            question, collection="docs", tenant=TENANT, top_k=10,
            access=AccessScope.of(groups).labels,
        )  # fmt: skip
        return {Path(h.payload["source"]).name for h in hits}

    assert "contract.txt" in sources("договор аренды склада", ("/legal",))
    assert "contract.txt" not in sources("договор аренды склада", ("/finance",))

    (root / "legal" / ".ruai-access.yaml").write_text("groups: [/finance]\n")
    assert ingest.run() == {
        "public.txt": "unchanged",
        "contract.txt": "access",
        "salary.txt": "unchanged",  # its own policy still decides
    }
    assert ingest.encoded == encoded  # nothing embedded again
    assert "contract.txt" not in sources("договор аренды склада", ("/legal",))
    assert "contract.txt" in sources("договор аренды склада", ("/finance",))

    # --access applies where no policy file does
    assert ingest.run(base=["/staff"])["public.txt"] == "access"
    assert "public.txt" not in sources("столовая открыта", ())
    assert "public.txt" in sources("столовая открыта", ("staff",))
    assert ingest.encoded == encoded

    # points a store wrote before it derived access_ids: no member reads them (never everyone);
    # the next run relabels them in place, embedding nothing
    import qdrant_edge as qe

    everything = qe.Filter(must=[qe.FieldCondition("tenant", match=qe.MatchValue(TENANT))])
    ingest.store._store._shard("docs").update(
        qe.UpdateOperation.delete_payload_by_filter(everything, ["access_ids"])
    )
    assert sources("оклад инженера", ("hr",)) == set()
    assert ingest.run(base=["/staff"]) == dict.fromkeys(states, "access")
    assert ingest.encoded == encoded
    assert "salary.txt" in sources("оклад инженера", ("hr",))
    assert "salary.txt" not in sources("оклад инженера", ("staff",))


def test_an_s3_objects_own_tag_or_metadata_says_who_reads_it(monkeypatch) -> None:
    """The tag wins over the user metadata, both over the policy files; a retagged object keeps
    its change marker (only its access changed: ingestion rewrites its payload, reads nothing);
    a value that names no one is refused with the object's name; without the setting's key
    nothing is asked."""
    from tests.conftest import free_port
    from tests.support.s3 import client, local_s3

    # (moto keeps its buckets for the process: this test's bucket is its own)

    assert parse_object_access("/legal role:auditor, hr", "o") == ["/legal", "hr", "role:auditor"]
    assert parse_object_access("", "o") == []
    key = "ruai-access"
    with local_s3(free_port(), "tagged") as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        s3 = client(env)
        s3.put_object(Bucket="tagged", Key="in/legal/.ruai-access.yaml", Body=b"groups: [/legal]\n")
        s3.put_object(Bucket="tagged", Key="in/legal/tagged.txt", Body="Смета.".encode(),
                      Tagging="ruai-access=/finance role:auditor",
                      Metadata={key: "/hr"})  # fmt: skip
        s3.put_object(Bucket="tagged", Key="in/legal/meta.txt", Body="Оклад.".encode(),
                      Metadata={key: "/hr"})  # fmt: skip
        s3.put_object(Bucket="tagged", Key="in/legal/plain.txt", Body="Договор.".encode())
        s3.put_object(Bucket="tagged", Key="in/open.txt", Body="Столовая.".encode(),
                      Tagging="project=x")  # fmt: skip

        def readers(access_key: str | None = key) -> dict[str, list[str]]:
            listing = list_source_files("s3://tagged/in", access_key)
            found = access_of(listing, access_policies(listing, ["/staff"]))
            return {uri.rsplit("/", 1)[-1]: labels for uri, labels in found.items()}

        first = list_source_files("s3://tagged/in", key)
        assert readers() == {
            "meta.txt": ["/hr"],
            "open.txt": ["/staff"],  # --access: no policy file, no tag of its own
            "plain.txt": ["/legal"],
            "tagged.txt": ["/finance", "role:auditor"],
        }
        assert readers(None)["tagged.txt"] == ["/legal"]  # not asked: the policy file decides
        s3.put_object_tagging(Bucket="tagged", Key="in/legal/tagged.txt",
                              Tagging={"TagSet": [{"Key": key, "Value": "/legal"}]})  # fmt: skip
        assert readers()["tagged.txt"] == ["/legal"]
        assert [f.marker for f in list_source_files("s3://tagged/in", key).files] == [
            f.marker for f in first.files
        ]
        s3.put_object_tagging(Bucket="tagged", Key="in/open.txt",
                              Tagging={"TagSet": [{"Key": key, "Value": "role:"}]})  # fmt: skip
        with pytest.raises(AccessPolicyError, match="s3://tagged/in/open.txt"):
            readers()
