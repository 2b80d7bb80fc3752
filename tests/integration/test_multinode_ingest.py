"""Past one node: an ingestion job from S3 on a real two-node Ray cluster on this machine (a head
and a worker node, 2 logical CPUs each, isolated from the session cluster; see
tests/support/multinode_ingest.py, which runs it in a process of its own), then the RAG app
served from both nodes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.multinode_ingest import stop_processes_under

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def multinode_facts(sample_articles: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    corpus = tmp_path_factory.mktemp("corpus")
    for path in sorted(sample_articles.glob("*.md"))[:4]:
        shutil.copy(path, corpus / path.name)
    # short: the cluster's socket paths live under it
    work = Path(f"/tmp/ruai-mn-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.multinode_ingest", str(corpus), str(work)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    finally:
        stop_processes_under(work)
        shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        pytest.fail(f"the two-node run failed ({proc.returncode}):\n{err[-4000:]}")
    return json.loads(out.strip().splitlines()[-1])


def test_the_jobs_actors_run_on_both_nodes(multinode_facts):
    facts = multinode_facts
    assert len(facts["nodes"]) == 2
    assert facts["stage_actor_nodes"] == facts["nodes"]
    assert facts["owner_node"] in facts["nodes"]


def test_every_chunk_is_written_once(multinode_facts):
    first, overwrite, unchanged = multinode_facts["runs"]
    assert first["documents_ok"] == 4 and first["documents_failed"] == []
    assert first["points_written"] == first["chunks"] == first["points_total"]
    # one changed object: its new version replaces the old, nothing else is read
    assert (overwrite["documents_ok"], overwrite["files_unchanged_listed"]) == (1, 3)
    assert overwrite["downloads"] == 1
    assert multinode_facts["store_count"] == multinode_facts["doc_points"]
    assert multinode_facts["store_count"] == overwrite["points_total"]
    assert multinode_facts["docs"] == 4
    assert multinode_facts["markers"] == ["etag:"]


def test_a_rerun_over_unchanged_s3_downloads_nothing(multinode_facts):
    first, _, unchanged = multinode_facts["runs"]
    assert first["downloads"] == 4  # each object read once, by the actor that parsed it
    assert unchanged["files_unchanged_listed"] == unchanged["documents_unchanged"] == 4
    assert unchanged["documents_ok"] == 0 and unchanged["downloads"] == 0


def test_the_app_answers_from_either_node(multinode_facts):
    serve = multinode_facts["serve"]
    assert serve["answers"] and all(serve["answers"])
    for deployment, replicas in serve["replicas"].items():
        nodes = sorted(node for node, _ in replicas.values())
        assert nodes == multinode_facts["nodes"], (deployment, replicas)
        # every replica, on either node, answered some of the requests
        assert all(requests > 0 for _, requests in replicas.values()), (deployment, replicas)
