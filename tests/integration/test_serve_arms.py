"""A/B and canary on a real Serve app deployed from a config (as `serve deploy` does), two
ingress replicas: sticky arms, the header override, the arm in the response and the metrics,
weights changed by `jobs.rollout` without restarting replicas, and a guardrail drill."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ruai.settings import Settings
from serve_apps.experiments import ARM_HEADER, ScopedExperiment
from tests.conftest import REPO, free_port
from tests.support import http_calls
from tests.support.serve_app import deployed_app, ingest_tenants

APP = "rag-arms"
COLLECTION = "arms_test"
MODEL = f"rag-{COLLECTION}"
KEYS = [f"key-{i:02d}" for i in range(24)]
OUTSIDER = "key-globex"  # a tenant RUAI_ARM_HEADER_CALLERS does not name
QUESTION = "В каком году умер Никола Тесла?"
CANARY = {
    "name": "canary",
    "arms": [
        {"name": "A", "weight": 50, "top_k": 2},
        {"name": "B", "weight": 50, "top_k": 4, "dense_weight": 0.0},  # BM25 only
        # a collection version that is not there: its requests fail with 503 (guardrail drill)
        {"name": "broken", "weight": 0, "collection": "missing_v2"},
    ],
}
EXPERIMENT = ScopedExperiment.model_validate(CANARY)


@pytest.fixture(scope="module")
def served(ray_cluster, sample_articles: Path, tmp_path_factory: pytest.TempPathFactory):
    from raystore import release_store

    tmp = tmp_path_factory.mktemp("arms")
    settings = Settings(qdrant_path=tmp / "qdrant", collection=COLLECTION)
    ingest_tenants(settings, sample_articles, tmp / "docs", {"acme": ["04-nikola-tesla"]})
    args = {
        "settings": {
            "qdrant_path": str(settings.qdrant_path),
            "collection": COLLECTION,
            "api_keys": dict.fromkeys(KEYS, "acme") | {OUTSIDER: "globex"},
            "arm_header_callers": ["acme"],
        },
        "ingress": {"num_replicas": 2},
        # the local profile's layout: each ingress replica searches and answers in its own process
        "search_in_ingress": True,
        "generator_in_ingress": True,
        "experiments": [CANARY],
        "guardrails": {"window_s": 300, "min_requests": 3, "max_error_rate": 0.5},
    }
    # an app-level runtime_env, as serve_apps/configs/*.yaml have: Serve merges it into the
    # deployments a config deploy names, which restarted the ingress on the first rollout
    runtime_env = {"env_vars": {"RUAI_PROFILE": "local", "HF_HUB_OFFLINE": "1"}}
    with deployed_app(args, ray_cluster["dashboard"], APP,
                      runtime_env=runtime_env) as base:  # fmt: skip
        yield {"base": base, "dashboard": ray_cluster["dashboard"]}
    release_store(settings)


def ask(served, key: str, arm: str | None = None, stream: bool = False) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} | ({ARM_HEADER: arm} if arm else {})
    body = {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "stream": stream}
    return http_calls.post(f"{served['base']}/v1/chat/completions", json=body, headers=headers,
                      timeout=60)  # fmt: skip


def ingress_replicas(served) -> set[tuple[str, int]]:
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    details = ServeSubmissionClient(served["dashboard"]).get_serve_details()
    replicas = details["applications"][APP]["deployments"]["RagIngress"]["replicas"]
    return {(r["replica_id"], r["pid"]) for r in replicas}


def rollout(served, arm: str, weight: int) -> str:
    command = [sys.executable, "-m", "jobs.rollout", "--app", APP, "--experiment", "canary",
               "--arm", arm, "--weight", str(weight), "--address", served["dashboard"]]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sticky_arm_named_in_header_and_body_with_its_top_k(served) -> None:
    seen = set()
    for key in KEYS[:10]:
        expected = EXPERIMENT.assign(key).name
        for _ in range(2):  # two requests: Serve spreads them over both replicas
            response = ask(served, key)
            assert response.status_code == 200, response.text
            body = response.json()
            assert response.headers[ARM_HEADER] == body["arm"] == expected
            assert body["experiment"] == "canary"
            assert len(body["sources"]) == EXPERIMENT.arm(expected).top_k
        seen.add(expected)
    assert seen == {"A", "B"}


def test_header_forces_an_arm_and_an_unknown_one_is_400(served) -> None:
    key = next(k for k in KEYS if EXPERIMENT.assign(k).name == "A")
    forced = ask(served, key, arm="B")
    assert forced.headers[ARM_HEADER] == forced.json()["arm"] == "B"
    assert len(forced.json()["sources"]) == 4
    refused = ask(served, key, arm="C")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_arm"
    assert refused.json()["error"]["param"] == ARM_HEADER


def test_only_named_callers_choose_an_arm_and_client_errors_never_trip_a_guardrail(
    served,
) -> None:
    """Issue 25, finding 5: any key holder could force the challenger and stop it with requests
    that failed on their own input (a lone surrogate was a 503). Now forcing is for the tenants
    RUAI_ARM_HEADER_CALLERS names, and bad input is the client's 400, which no guardrail counts
    (limits here: 3 requests, error rate 0.5)."""
    refused = ask(served, OUTSIDER, arm="B")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "arm_not_allowed"
    key = next(k for k in KEYS if EXPERIMENT.assign(k).name == "A")
    bad = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "@"}]})
    bad = bad.replace("@", "\\ud800")
    for _ in range(20):
        response = http_calls.post(f"{served['base']}/v1/chat/completions", content=bad, timeout=60,
                              headers={"Authorization": f"Bearer {key}", ARM_HEADER: "A",
                                       "Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 400, response.text
    for _ in range(4):  # both replicas: A still has its weight
        assert ask(served, key).headers[ARM_HEADER] == "A"


def test_re_index_cleanup_reads_the_collections_the_arms_search(served) -> None:
    """What `jobs.reindex` spares: the versions the live experiments' arms name (the disabled
    arm's too: a header reaches it); where no dashboard answers, no app serves anything."""
    from pipelines.serve_rollout import arm_collections

    assert arm_collections(served["dashboard"]) == {"missing_v2"}
    assert arm_collections(f"http://127.0.0.1:{free_port()}") == set()


def test_search_takes_the_arms_fusion_weight(served) -> None:
    def top_score(arm: str) -> float:
        response = http_calls.post(f"{served['base']}/v1/search", json={"query": QUESTION},
                              headers={"Authorization": f"Bearer {KEYS[0]}", ARM_HEADER: arm},
                              timeout=60)  # fmt: skip
        assert response.status_code == 200 and response.json()["arm"] == arm
        return max(hit["score"] for hit in response.json()["data"])

    # linear fusion: dense_weight * cosine + BM25; B drops the dense part (RUAI_DENSE_WEIGHT 4)
    assert top_score("A") > top_score("B") > 0


def test_stream_names_the_arm_on_its_final_chunk(served) -> None:
    key = next(k for k in KEYS if EXPERIMENT.assign(k).name == "B")
    response = ask(served, key, stream=True)
    assert response.headers[ARM_HEADER] == "B"
    chunks = [json.loads(line[6:]) for line in response.text.splitlines()
              if line.startswith("data: {")]  # fmt: skip
    final = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop"]
    assert len(final) == 1 and final[0]["arm"] == "B" and len(final[0]["sources"]) == 4


def test_rollout_moves_traffic_without_restarting_replicas(served) -> None:
    before = ingress_replicas(served)
    assert len(before) == 2
    printed = rollout(served, "B", 0)
    assert "B" in printed and "50 → 0" in printed
    assert ingress_replicas(served) == before
    for key in KEYS[:10]:
        assert ask(served, key).headers[ARM_HEADER] == "A"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "nope", "--experiment", "canary", "--arm", "A"], "no Serve app 'nope'"),
        (["--app", APP, "--experiment", "nope", "--arm", "A"], "no experiment 'nope'"),
        (["--app", APP, "--experiment", "canary", "--arm", "C"], "has no arms ['C']"),
    ],
)
def test_rollout_refuses_what_is_not_there(served, args, message) -> None:
    from typer.testing import CliRunner

    from jobs.rollout import app

    result = CliRunner().invoke(app, [*args, "--weight", "5", "--address", served["dashboard"]])
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_guardrail_stops_an_erroring_arm_while_the_other_serves(served) -> None:
    rollout(served, "broken", 50)  # now A 50, B 0, broken 50: a fresh guard window
    broken_keys = [k for k in KEYS if EXPERIMENT.with_weights({"B": 0, "broken": 50})
                   .assign(k).name == "broken"]  # fmt: skip
    assert broken_keys
    answered, in_a_row = [], 0
    for attempt in range(60):
        response = ask(served, broken_keys[attempt % len(broken_keys)])
        answered.append((response.headers.get(ARM_HEADER), response.status_code))
        in_a_row = in_a_row + 1 if response.status_code == 200 else 0
        if in_a_row == 8:  # both replicas tripped it: the keys land on A now
            break
    assert in_a_row == 8, answered
    assert ("broken", 503) in answered
    assert {status for arm, status in answered if arm == "A"} == {200}
    assert {arm for arm, status in answered if status != 200} == {"broken"}
    other = next(k for k in KEYS if k not in broken_keys)
    assert ask(served, other).status_code == 200


def test_metrics_carry_the_arm_and_count_trips(served) -> None:
    import ray

    port = ray.nodes()[0]["MetricsExportPort"]
    wanted = [
        'ray_ruai_requests_total{', 'arm="A"', 'arm="broken"',
        "ray_ruai_time_to_first_token_ms_bucket{",
        "ray_ruai_arm_guardrail_trips_total{", 'reason="error_rate"', 'experiment="canary"',
    ]  # fmt: skip
    deadline = time.monotonic() + 90  # Ray reports metrics every few seconds
    while True:
        lines = http_calls.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines()
        ours = "\n".join(line for line in lines if "ruai_" in line)
        missing = [w for w in wanted if w not in ours]
        if not missing:
            break
        assert time.monotonic() < deadline, f"not exported: {missing}"
        time.sleep(2)
    trips = [line for line in lines if line.startswith("ray_ruai_arm_guardrail_trips_total{")]
    assert all('arm="broken"' in line for line in trips), trips


def test_an_experiment_file_starts_a_canary_arm_without_restarts(served, tmp_path: Path) -> None:
    """What the retraining chain's canary step does: a new experiment (its experiment.json)
    replaces the running one; its canary arm answers at once, the replicas stay the same."""
    before = ingress_replicas(served)
    experiment = {
        "name": "canary",
        "arms": [
            {"name": "champion", "weight": 90},
            {"name": "ruai-embedder-v2", "weight": 10, "collection": COLLECTION, "top_k": 3},
        ],
    }
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    command = [sys.executable, "-m", "jobs.rollout", "--app", APP, "--experiment-file", str(path),
               "--address", served["dashboard"]]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "champion=90, ruai-embedder-v2=10" in done.stdout
    assert ingress_replicas(served) == before
    canary = ask(served, KEYS[0], arm="ruai-embedder-v2")
    assert canary.status_code == 200 and canary.json()["arm"] == "ruai-embedder-v2"
    assert len(canary.json()["sources"]) == 3
    assert ask(served, KEYS[0], arm="A").status_code == 400  # the old experiment's arms are gone
