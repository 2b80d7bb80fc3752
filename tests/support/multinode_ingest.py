"""An ingestion job from S3 on a two-node Ray cluster, run as its own process:
``python -m tests.support.multinode_ingest CORPUS_DIR WORK_DIR`` prints one JSON line of facts.

Its own process because a driver connects to one cluster and the test process is a driver of the
session cluster. Everything it starts is isolated: RAY_TMPDIR (and so the cluster's sessions,
sockets and `ray_current_cluster` file) lies under WORK_DIR, moto's S3 listens on a free port,
and the cluster shuts down when the run ends. The caller's token settings (RAY_AUTH_*) carry over.

Run 1 ingests the corpus; run 2 follows an overwrite of one object; run 3 changes nothing. The
moto server counts the GETs of objects (downloads) during each run. Then the RAG app is served
with its ingress and Search deployments spread one replica per node (``max_replicas_per_node``),
HAProxy on the head, the store owner on one node: every search's answer, and which replica logged
each request (Serve's per-replica logs name the replica; the state API its node).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

BUCKET = "corpus"
PREFIX = "articles"


class _DownloadCounter(logging.Handler):
    """Counts the object GETs moto's server logs (a listing is a GET of the bucket, not of a
    key under PREFIX)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        # (werkzeug may colour the request line: match inside it)
        if f"GET /{BUCKET}/{PREFIX}/" in record.getMessage():
            self.count += 1


def main(corpus: Path, work: Path) -> dict:
    from pipelines.cluster_token import ensure_cluster_token

    ensure_cluster_token()  # the caller's RAY_AUTH_TOKEN_PATH, or the project's default
    os.environ["RAY_TMPDIR"] = str(work / "ray")  # stop_processes_under finds them by it
    (work / "ray").mkdir(parents=True, exist_ok=True)

    import ray
    from ray.cluster_utils import Cluster

    from pipelines.ingest import run_ingest
    from raystore import owner_name, release_store, store_for
    from ruai.settings import Settings
    from tests.conftest import free_port
    from tests.support.s3 import client, local_s3, upload_folder

    counter = _DownloadCounter()
    logging.getLogger("werkzeug").addHandler(counter)
    facts: dict = {}
    with local_s3(free_port(), BUCKET) as env:
        os.environ.update(env)  # before the nodes start: their workers inherit it
        upload_folder(env, corpus, BUCKET, PREFIX)
        cluster = _start(Cluster, work)
        try:
            ray.init(address=cluster.address, log_to_driver=False)
            settings = Settings(
                qdrant_path=work / "qdrant",
                collection="multinode",
                extract_entities=False,
                ingest_files_per_batch=1,
                ingest_concurrency=2,
                ingest_files_per_actor=1,  # two actors for the four files
                embed_num_cpus=2,  # one fused actor per 2-CPU node
            )
            source = f"s3://{BUCKET}/{PREFIX}"
            runs = []
            for step in ("first", "overwrite", "unchanged"):
                if step == "overwrite":
                    target = sorted(corpus.iterdir())[0]
                    text = (
                        target.read_text(encoding="utf-8") + "\n\nЖираф Аркадий живёт в зоопарке.\n"
                    )
                    client(env).put_object(
                        Bucket=BUCKET, Key=f"{PREFIX}/{target.name}", Body=text.encode()
                    )
                before = counter.count
                report = run_ingest(settings, source)
                runs.append(report.to_dict() | {"downloads": counter.count - before})
            facts["runs"] = runs

            store = store_for(settings)
            states = store.doc_states(settings.collection)
            facts["store_count"] = store.count(settings.collection)
            facts["doc_points"] = sum(s.points for s in states.values())
            facts["docs"] = len(states)
            facts["markers"] = sorted({s.marker[:5] for s in states.values()})
            actors = ray._private.state.actors()
            facts["stage_actor_nodes"] = sorted(
                {
                    a["Address"]["NodeID"]
                    for a in actors.values()
                    if "MapWorker" in a["ActorClassName"]
                }
            )
            owner = ray.get_actor(owner_name(settings), namespace="ruai")
            facts["owner_node"] = next(
                a["Address"]["NodeID"]
                for a in actors.values()
                if a["ActorID"] == owner._actor_id.hex()
            )
            facts["nodes"] = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
            facts["serve"] = _serve_from_both_nodes(settings, work)
            release_store(settings)
        finally:
            ray.shutdown()
            cluster.shutdown()
            stop_processes_under(work)
    return facts


QUESTION = "Жираф Аркадий"
REQUESTS = 24
ROUNDS_TIMEOUT_S = 60
SPREAD = {"num_replicas": 2, "max_replicas_per_node": 1, "num_cpus": 0.25}


def _serve_from_both_nodes(settings, work: Path) -> dict:
    """{"answers": top hit of each request holds QUESTION, "replicas": {deployment: {replica id:
    [node id, requests it logged]}}}."""
    import httpx

    from tests.support.serve_app import running_app

    args = {
        "settings": {
            "qdrant_path": str(settings.qdrant_path),
            "collection": settings.collection,
            "api_keys": {"key-mn": settings.tenant},
        },
        "search": SPREAD,
        "ingress": SPREAD,
    }
    answers: list[bool] = []
    with running_app(args) as base:
        # rounds of requests until every replica has logged one: HAProxy may learn of the
        # second ingress replica a moment after the app reports healthy
        deadline = time.monotonic() + ROUNDS_TIMEOUT_S
        with httpx.Client(headers={"Authorization": "Bearer key-mn"}, timeout=60) as http:
            while True:
                for _ in range(REQUESTS):
                    reply = http.post(f"{base}/v1/search", json={"query": QUESTION, "top_k": 1})
                    answers.append(
                        reply.status_code == 200 and QUESTION in reply.json()["data"][0]["text"]
                    )
                replicas = _replicas(work)
                served = [n for by_id in replicas.values() for _, n in by_id.values()]
                if all(served) or time.monotonic() > deadline:
                    break
    return {"answers": answers, "replicas": replicas}


def _replicas(work: Path) -> dict[str, dict[str, list]]:
    """{deployment: {replica id: [node id, requests its log records]}} of the live replicas."""
    import ray

    from tests.support.serve_app import APP_NAME

    alive = [a for a in ray._private.state.actors().values() if a["State"] == "ALIVE"]
    return {
        deployment: {
            a["Name"].rsplit("#", 1)[-1]: [
                a["Address"]["NodeID"],
                _logged(work, deployment, a["Name"], marker),
            ]
            for a in alive
            if a["ActorClassName"] == f"ServeReplica:{APP_NAME}:{deployment}"
        }
        for deployment, marker in (
            ("RagIngress", "POST /v1/search 200"),
            ("Search", "CALL search OK"),
        )  # fmt: skip
    }


def _logged(work: Path, deployment: str, actor_name: str, marker: str) -> int:
    """Requests the replica's own Serve log records (one access line each)."""
    replica = actor_name.rsplit("#", 1)[-1]
    logs = (work / "ray").rglob(f"replica_*_{deployment}_{replica}.log")
    return sum(log.read_text(encoding="utf-8", errors="replace").count(marker) for log in logs)


def _node_args(head: bool) -> dict:
    """2 logical CPUs, and every port free (Ray's defaults, e.g. 8265 or 52365, would collide
    with other clusters on this machine)."""
    from tests.conftest import free_port

    ports = ("dashboard_agent_listen_port", "metrics_agent_port", "metrics_export_port")
    ports += ("runtime_env_agent_port", "object_manager_port", "node_manager_port")
    if head:
        ports += ("gcs_server_port", "dashboard_port", "ray_client_server_port")
    return {"num_cpus": 2, "include_dashboard": False} | {port: free_port() for port in ports}


def _start(cluster_class, work: Path):
    """A head and a worker node. Ray gives a node a fixed 30 s to register; on a loaded 2-core
    machine that can run out: clear what the failed start left and try again (3 starts)."""
    for attempt in (1, 2, 3):
        try:
            cluster = cluster_class(initialize_head=True, head_node_args=_node_args(head=True))
            cluster.add_node(**_node_args(head=False))
            cluster.wait_for_nodes()
            return cluster
        except Exception:
            stop_processes_under(work)
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


def stop_processes_under(work: Path) -> None:
    """Kill this run's Ray processes only: their command lines name its Ray temp dir."""
    import psutil

    marker = str(work / "ray")
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if proc.pid != os.getpid() and any(
                marker in part for part in proc.info["cmdline"] or []
            ):
                proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))), flush=True)
