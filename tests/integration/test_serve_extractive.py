"""The RAG graph on a real Serve + Qdrant Edge with the extractive generator: the OpenAI API
(plain and streaming, through the official client), citations, tenants and every error case."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import psutil
import pytest

from ruai.settings import Settings
from tests.conftest import free_port
from tests.support import http_calls
from tests.support.oidc_provider import AUDIENCE, OidcProvider, User, provider_missing
from tests.support.serve_app import ingest_tenants, running_app

COLLECTION = "serve_test"
MODEL = f"rag-{COLLECTION}"
KEYS = {"key-acme": "acme", "key-globex": "globex"}
TESLA = "В каком году умер Никола Тесла?"
WARSAW = "Какая река протекает через Варшаву?"
EU_LAW = "Какие договоры образуют Европейский Союз?"
# signed-in users of the test OpenID provider: Keycloak-shaped groups (a tenant's tree, or a
# tenant claim beside plain groups)
USERS = [
    User("alice", {"preferred_username": "alice", "groups": ["/tenants/acme/legal"]}),
    User("carol", {"groups": ["/tenants/acme/hr"]}, alg="ES256"),
    User("bob", {"tenant": "globex", "groups": ["/legal"]}),
    User("mallory", {"groups": ["/tenants/acme/legal", "/tenants/globex/legal"]}),
]
SEARCH_SCALING = {
    "min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 0.5,
    "metrics_interval_s": 0.5, "look_back_period_s": 2, "upscale_delay_s": 1,
    "downscale_delay_s": 3,
}  # fmt: skip


@pytest.fixture(scope="module")
def served(ray_cluster, sample_articles: Path, tmp_path_factory: pytest.TempPathFactory):
    from pipelines.ingest import run_ingest
    from raystore import release_store

    missing = provider_missing()
    if missing:
        pytest.fail(missing)
    provider = OidcProvider(free_port(), USERS)
    provider.start()
    tmp = tmp_path_factory.mktemp("serve")
    settings = Settings(qdrant_path=tmp / "qdrant", collection=COLLECTION)
    sources = ingest_tenants(
        settings, sample_articles, tmp / "docs",
        {"acme": ["04-nikola-tesla", "13-oxygen"], "globex": ["02-warsaw", "12-steam-engine"]},
    )  # fmt: skip
    # acme's legal department's folder: only members of /legal (in acme) read it
    legal = tmp / "docs" / "acme-legal"
    legal.mkdir()
    (article,) = sample_articles.glob("16-european-union-law*.md")
    shutil.copy(article, legal / article.name)
    (legal / ".ruai-access.yaml").write_text("groups: [/legal]\n")
    report = run_ingest(settings, str(legal), tenant="acme")
    assert report.documents_ok == 1 and report.access_policies == 1
    legal_source = str((legal / article.name).resolve())
    args = {
        "settings": {
            "qdrant_path": str(settings.qdrant_path),
            "collection": COLLECTION,
            "api_keys": KEYS,
            "max_question_chars": 500,
            # short, so that test_slow_uploads_time_out_without_holding_a_slot is quick
            "body_read_timeout_s": 3,
            "oidc_issuer": provider.url,
            "oidc_audience": AUDIENCE,
        },
        # small on purpose: a burst of requests must overflow them (test_overload_is_503)
        "ingress": {"max_ongoing_requests": 2, "max_queued_requests": 2},
        # quick to react, so that test_search_scales_out_under_load_and_back sees it
        "search": {"autoscaling_config": SEARCH_SCALING},
    }
    try:
        with running_app(args) as base:
            yield {"base": base, "sources": sources, "settings": settings,
                   "provider": provider, "legal": legal_source}  # fmt: skip
    finally:
        provider.close()
        release_store(settings)


def client(served, key: str = "key-acme") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served['base']}/v1", api_key=key, max_retries=0)


def post(served, path: str, body, key: str | None = "key-acme") -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if isinstance(body, str):
        headers["Content-Type"] = "application/json"
        return http_calls.post(f"{served['base']}{path}", content=body, headers=headers, timeout=60)
    return http_calls.post(f"{served['base']}{path}", json=body, headers=headers, timeout=60)


def test_chat_answer_cites_ingested_chunks(served) -> None:
    response = client(served).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": TESLA}]
    )
    text = response.choices[0].message.content
    assert "1943" in text
    sources = response.model_extra["sources"]
    assert sources and all(s["source"] in served["sources"]["acme"] for s in sources)
    cited = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", text)}
    assert cited and cited <= {s["n"] for s in sources}
    # every cited marker points at a chunk whose text holds the cited sentence's words
    search = post(served, "/v1/search", {"query": TESLA, "top_k": 5}).json()["data"]
    assert {s["chunk_id"] for s in sources} == {hit["chunk_id"] for hit in search}
    assert response.usage.completion_tokens > 0 and response.usage.prompt_tokens > 0


def test_streaming_matches_plain_answer(served) -> None:
    messages = [{"role": "user", "content": TESLA}]
    plain = client(served).chat.completions.create(model=MODEL, messages=messages)
    chunks = list(
        client(served).chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finals) == 1 and finals[0].model_extra["sources"]
    assert chunks[-1].usage.total_tokens == plain.usage.total_tokens


def test_search_embeddings_models(served) -> None:
    hits = post(served, "/v1/search", {"query": TESLA, "top_k": 3}).json()["data"]
    assert len(hits) == 3 and "Тесла" in hits[0]["text"]
    assert [h["n"] for h in hits] == [1, 2, 3]
    embeddings = client(served).embeddings.create(model="navec", input=["Никола Тесла", "кислород"])
    assert len(embeddings.data) == 2 and len(embeddings.data[0].embedding) == 300
    models = [m.id for m in client(served).models.list()]
    assert models[0] == MODEL


@pytest.mark.parametrize(("key", "question", "other"), [
    ("key-acme", WARSAW, "globex"), ("key-globex", TESLA, "acme"),
])  # fmt: skip
def test_tenant_never_sees_another_tenants_chunks(served, key, question, other) -> None:
    own = served["sources"][KEYS[key]]
    hits = post(served, "/v1/search", {"query": question, "top_k": 50}, key).json()["data"]
    assert hits and all(h["source"] in own for h in hits)
    response = client(served, key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": question}], extra_body={"top_k": 50}
    )
    assert all(s["source"] in own for s in response.model_extra["sources"])
    assert not any(s["source"] in served["sources"][other] for s in response.model_extra["sources"])


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_missing_or_wrong_key_is_401(served, key) -> None:
    response = post(served, "/v1/search", {"query": TESLA}, key)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client(served, key or "no-key").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": TESLA}]
        )


def test_tokens_of_the_provider_read_by_group(served) -> None:
    tokens = {user.client_id: served["provider"].token(user.client_id) for user in USERS}

    def sources(key: str, question: str = EU_LAW) -> set[str]:
        response = post(served, "/v1/search", {"query": question, "top_k": 50}, key)
        assert response.status_code == 200, response.text
        return {hit["source"] for hit in response.json()["data"]}

    acme = served["sources"]["acme"]
    assert served["legal"] in sources(tokens["alice"])  # /tenants/acme/legal is /legal in acme
    assert sources(tokens["alice"]) <= acme | {served["legal"]}
    for reader in (tokens["carol"], "key-acme"):  # acme, not legal
        assert sources(reader) and served["legal"] not in sources(reader)
    assert sources(tokens["bob"]) <= served["sources"]["globex"]  # legal, but of globex
    answer = client(served, tokens["alice"]).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": EU_LAW}], extra_body={"top_k": 50}
    )
    assert served["legal"] in {s["source"] for s in answer.model_extra["sources"]}
    answer = client(served, tokens["carol"]).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": EU_LAW}], extra_body={"top_k": 50}
    )
    assert served["legal"] not in {s["source"] for s in answer.model_extra["sources"]}
    # the in-context view of the legal document: for alice, not for carol
    found = post(served, "/v1/search", {"query": EU_LAW, "top_k": 50}, tokens["alice"])
    hit = next(h for h in found.json()["data"] if h["source"] == served["legal"])
    context = {"model": MODEL, "source": hit["source"], "chunk_id": hit["chunk_id"],
               "query": EU_LAW}  # fmt: skip
    assert post(served, "/v1/context", context, tokens["alice"]).status_code == 200
    assert post(served, "/v1/context", context, tokens["carol"]).status_code == 404
    # several tenants in one token: authenticated, but not allowed
    refused = post(served, "/v1/search", {"query": EU_LAW}, tokens["mallory"])
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"


def test_conversations_and_feedback_belong_to_the_signed_in_subject(served) -> None:
    alice, carol = (served["provider"].token(user) for user in ("alice", "carol"))
    created = post(served, "/v1/conversations", {"title": "alice's"}, alice).json()
    headers = {"Authorization": f"Bearer {carol}"}
    listed = http_calls.get(f"{served['base']}/v1/conversations", headers=headers, timeout=30)
    assert created["id"] not in {c["id"] for c in listed.json()["data"]}
    assert http_calls.get(f"{served['base']}/v1/conversations/{created['id']}", headers=headers,
                     timeout=30).status_code == 404  # fmt: skip
    again = http_calls.get(f"{served['base']}/v1/conversations",
                      headers={"Authorization": f"Bearer {served['provider'].token('alice')}"},
                      timeout=30)  # fmt: skip
    assert created["id"] in {c["id"] for c in again.json()["data"]}  # a new token, same subject
    # alice's answer: carol (the same tenant) may not rate it; alice may, with any of her tokens
    answer = client(served, alice).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": TESLA}]
    )
    vote = {"response_id": answer.id, "rating": 1}
    assert post(served, "/v1/feedback", vote, carol).status_code == 404
    assert post(served, "/v1/feedback", vote, served["provider"].token("alice")).status_code == 200


def test_a_saved_answer_hides_what_its_reader_may_not_read(served) -> None:
    alice = served["provider"].token("alice")
    found = post(served, "/v1/search", {"query": EU_LAW, "top_k": 50}, alice).json()["data"]
    legal = next(h for h in found if h["source"] == served["legal"])
    public = next(h for h in found if h["source"] != served["legal"])
    meta = {"model": MODEL, "sources": [legal | {"n": 1}, public | {"n": 2}]}
    for reader, hidden in ((alice, False), ("key-acme", True)):  # key-acme: not in /legal
        conversation = post(served, "/v1/conversations", {"title": "ЕС"}, reader).json()
        path = f"/v1/conversations/{conversation['id']}"
        post(served, f"{path}/messages", {"role": "assistant", "content": legal["text"],
                                          "meta": meta}, reader)  # fmt: skip
        response = http_calls.get(f"{served['base']}{path}",
                             headers={"Authorization": f"Bearer {reader}"}, timeout=30)  # fmt: skip
        (message,) = response.json()["messages"]
        sources = message["meta"]["sources"]
        assert (legal["text"] in message["content"]) is not hidden
        assert ("snippet" in sources[0]) is not hidden and "snippet" in sources[1]
        assert message["meta"].get("withheld", []) == ([served["legal"]] if hidden else [])


def test_bad_tokens_are_401_with_a_challenge(served) -> None:
    token = served["provider"].token("alice")
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    for credential in (tampered, f"{header}.{payload}.", None):
        response = post(served, "/v1/search", {"query": EU_LAW}, credential)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Bearer realm="ruai"')
        assert response.json()["error"]["type"] == "authentication_error"
    assert 'error="invalid_token"' in post(served, "/v1/search", {"query": EU_LAW},
                                           tampered).headers["www-authenticate"]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/v1/chat/completions", "{not json", 422, "invalid_body"),
    ("/v1/chat/completions", {"model": MODEL}, 422, "invalid_body"),
    ("/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user"}]}, 422, "invalid_body"),
    ("/v1/search", {"query": ""}, 422, "invalid_body"),
    ("/v1/search", {"query": "вопрос " * 200}, 413, "input_too_long"),
    ("/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": "а" * 501}]},
     413, "input_too_long"),
    ("/v1/chat/completions", {"model": "rag-nope", "messages": [{"role": "user", "content": TESLA}]},  # noqa: E501
     404, "collection_not_found"),
    ("/v1/chat/completions", {"model": "gpt-4", "messages": [{"role": "user", "content": TESLA}]},
     404, "model_not_found"),
    ("/v1/search", {"query": TESLA, "collection": "nope"}, 404, "collection_not_found"),
])  # fmt: skip
def test_bad_input_gets_openai_style_error(served, path, body, status, code) -> None:
    response = post(served, path, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"], error
    if status == 503:
        assert int(response.headers["retry-after"]) >= 1
    return error


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/v1/chat/completions", {"model": "rag-../../etc", "messages": [{"role": "user", "content": TESLA}]},  # noqa: E501
     400, "invalid_collection"),
    ("/v1/chat/completions", {"model": "rag-", "messages": [{"role": "user", "content": TESLA}]},
     400, "invalid_collection"),
    ("/v1/chat/completions", {"model": "m" * 100_000, "messages": [{"role": "user", "content": TESLA}]},  # noqa: E501
     400, "invalid_model"),
    ("/v1/chat/completions", {"model": "rag-a\u0000b", "messages": [{"role": "user", "content": TESLA}]},  # noqa: E501
     400, "invalid_collection"),
    ("/v1/search", {"query": TESLA, "collection": "../../etc"}, 400, "invalid_collection"),
    ("/v1/chat/completions", {"model": MODEL, "n": 5, "messages": [{"role": "user", "content": TESLA}]},  # noqa: E501
     400, "unsupported_n"),
    ("/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, 400, "unsupported_content"),
    ("/v1/chat/completions", "[" * 100_000 + "]" * 100_000, 400, "invalid_request"),
])  # fmt: skip
def test_names_that_cannot_exist_and_unsupported_input_are_400(served, path, body, status, code):
    """Refused before any store call: the store-down metric and the client's retries never see
    them (issue 12, finding 3)."""
    assert assert_openai_error(post(served, path, body), status)["code"] == code


def test_framework_errors_are_in_openai_shape(served) -> None:
    wrong_method = http_calls.get(f"{served['base']}/v1/chat/completions", timeout=30)
    assert assert_openai_error(wrong_method, 405)["code"] == "method_not_allowed"
    no_such_path = http_calls.post(f"{served['base']}/v1/nothing", json={}, timeout=30)
    assert assert_openai_error(no_such_path, 404)["code"] == "not_found"


def test_content_as_text_parts_is_answered(served) -> None:
    parts = [{"type": "text", "text": "В каком году умер"}, {"type": "text", "text": "Тесла?"}]
    response = client(served).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": parts}]
    )
    assert "1943" in response.choices[0].message.content


def test_fuzzed_requests_from_the_openapi_schema(served) -> None:
    """Bodies generated from the app's own OpenAPI schema (tests/support/openapi_strategies.py),
    plus raw bytes and wrong methods
    (bounded: a fixed number of examples, derandomized): never a 5xx other than a 503 with
    Retry-After, every error in OpenAI's shape, and the app healthy afterwards."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.support.openapi_strategies import from_schema

    base = served["base"]
    # known-good values mixed into the generated ones, so that requests also get past validation
    hints = {
        "model": st.sampled_from([MODEL, f"{MODEL}:x", "rag-" + COLLECTION.upper()]),
        "collection": st.sampled_from([COLLECTION, None]),
        "query": st.sampled_from([TESLA, WARSAW]),
        "role": st.just("user"),
    }
    spec = http_calls.get(f"{base}/openapi.json", headers={"Authorization": "Bearer key-acme"},
                     timeout=30).json()  # fmt: skip
    bodies = []
    for path, methods in spec["paths"].items():
        schema = methods.get("post", {}).get("requestBody", {}).get("content", {})
        schema = schema.get("application/json", {}).get("schema")
        if schema:
            bodies.append(st.tuples(st.just(path), from_schema(schema, spec["components"], hints)))
    assert {"/v1/search", "/v1/chat/completions", "/v1/embeddings"} <= {
        path for path in spec["paths"]
    }
    raw = st.tuples(st.sampled_from(sorted(spec["paths"])), st.binary(max_size=256))
    cases = st.one_of(*bodies, raw)
    seen: dict[int, int] = {}

    @settings(max_examples=120, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=cases, method=st.sampled_from(["POST"] * 6 + ["GET", "PUT", "DELETE"]))
    def check(case, method: str) -> None:
        path, body = case
        headers = {"Authorization": "Bearer key-acme"}
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/json"
            response = http_calls.request(method, f"{base}{path}", content=body, headers=headers,
                                     timeout=60)  # fmt: skip
        else:
            response = http_calls.request(method, f"{base}{path}", json=body, headers=headers,
                                     timeout=60)  # fmt: skip
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500 or response.status_code == 503, response.text
        if response.status_code >= 400:
            assert_openai_error(response, response.status_code)

    check()
    assert any(status < 300 for status in seen) and any(status >= 400 for status in seen), seen
    assert http_calls.get(f"{base}/healthz", timeout=60).status_code == 200


def test_store_down_is_503_and_recovers(served) -> None:
    from raystore import release_store
    from ruai.store.factory import open_store

    settings = served["settings"]
    release_store(settings)  # the owner actor closes the shard and exits
    squatter = open_store(settings)  # …and this process holds it: no new owner can open it
    assert squatter.count(COLLECTION) > 0
    try:
        down = post(served, "/v1/search", {"query": TESLA})
        assert down.status_code == 503, down.text
        assert down.json()["error"]["type"] == "service_unavailable"
        assert http_calls.get(f"{served['base']}/healthz", timeout=60).status_code == 503
    finally:
        squatter.close()
    up = post(served, "/v1/search", {"query": TESLA})
    assert up.status_code == 200, up.text
    assert json.loads(http_calls.get(f"{served['base']}/healthz", timeout=60).text)["ready"]


def test_overload_is_503_not_unbounded_latency(served) -> None:
    burst = 48  # the ingress takes 2 requests at a time and queues 2 more
    start = threading.Barrier(burst)

    def ask(_: int) -> httpx.Response:
        start.wait()
        body = {"model": MODEL, "messages": [{"role": "user", "content": TESLA}]}
        return post(served, "/v1/chat/completions", body)

    with ThreadPoolExecutor(burst) as pool:
        responses = list(pool.map(ask, range(burst)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) >= 1 and statuses.count(200) >= 2, statuses
    for refused in (r for r in responses if r.status_code == 503):
        assert_openai_error(refused, 503)
    assert post(served, "/v1/search", {"query": TESLA}).status_code == 200


def test_metrics_reach_the_prometheus_endpoint(served) -> None:
    """Ray exports replica metrics at each node's metrics port (what Prometheus scrapes)."""
    import ray

    port = ray.nodes()[0]["MetricsExportPort"]
    post(served, "/v1/search", {"query": TESLA})
    post(served, "/v1/search", {"query": TESLA}, key="wrong-key")
    client(served).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": TESLA}]
    )
    wanted = [
        "ray_ruai_requests_total{",
        'endpoint="/v1/search"',
        'status="401"',
        "ray_ruai_request_latency_ms_bucket{",
        "ray_ruai_retrieval_latency_ms_bucket{",
        "ray_ruai_time_to_first_token_ms_bucket{",
        "ray_ruai_tokens_total{",
        "ray_ruai_errors_total{",
    ]
    deadline = time.monotonic() + 90  # Ray reports metrics every few seconds
    while True:
        text = http_calls.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        missing = [w for w in wanted if w not in text]
        if not missing:
            break
        assert time.monotonic() < deadline, f"not exported: {missing}"
        time.sleep(2)


def _listening_ports(process: psutil.Process) -> set[int]:
    try:
        return {c.laddr.port for c in process.net_connections("tcp") if c.status == "LISTEN"}
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return set()


def test_http_goes_through_haproxy_to_the_ingress_replica(served) -> None:
    """cluster_configs/ray-serve.env is in effect: HAProxy, not Serve's Python proxy, holds the
    HTTP port, and the ingress replica runs its own HTTP server (direct ingress)."""
    port = int(served["base"].rsplit(":", 1)[1])
    holders = {p.name() for p in psutil.process_iter() if port in _listening_ports(p)}
    assert holders == {"haproxy"}
    ingress = [p for p in psutil.process_iter(["cmdline"]) if "RagIngress" in " ".join(
        p.info["cmdline"] or [])]  # fmt: skip
    assert ingress and any(_listening_ports(p) for p in ingress)
    # its admin socket (Ray's template: mode 666, level admin) lies in a folder only its user
    # can enter, so no other user of the machine reaches it
    socket_path = Path(os.environ["RAY_SERVE_HAPROXY_SOCKET_PATH"])
    assert socket_path.parent.stat().st_mode & 0o777 == 0o700
    assert list(socket_path.parent.glob(f"*/{socket_path.name}")), "HAProxy's socket is elsewhere"
    config = next(socket_path.parent.glob("*/haproxy.cfg")).read_text()
    assert "timeout client 120s" in config
    # …and cluster_configs/haproxy/hardened-haproxy fixed what Ray's template has no setting for
    assert " mode 600 level admin" in config and "mode 666" not in config
    for port in (os.environ["RAY_SERVE_HAPROXY_STATS_PORT"],
                 os.environ["RAY_SERVE_HAPROXY_METRICS_PORT"]):  # fmt: skip
        assert f"bind 127.0.0.1:{port}\n" in config + "\n", port
    assert "timeout http-request 10s" in config


def test_prometheus_scrapes_every_metric_the_dashboards_and_alerts_use(
    served, tmp_path: Path
) -> None:
    """A real Prometheus scrapes the test cluster's metrics endpoints after traffic and one
    monitor publication: every ray_ruai_* name in cluster_configs/monitoring exists (vLLM's only
    run with a vLLM app; counters of events plain traffic does not cause are in EVENT_ONLY)."""
    import ray

    from cluster_configs.toolchain.layout import REPO
    from cluster_configs.toolchain.metrics_check import EVENT_ONLY, metric_base, queried_names
    from pipelines.monitor_metrics import publish
    from ruai.encoders.factory import build_dense_encoder
    from ruai.lifecycle.monitoring import monitor
    from ruai.lifecycle.query_log import QueryRecord, records_to_table
    from tests.support.prometheus_server import metric_names, prometheus_server

    post(served, "/v1/search", {"query": TESLA})
    answer = client(served).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": WARSAW}]
    )
    voted = post(served, "/v1/feedback", {"response_id": answer.id, "rating": 1})
    assert voted.status_code == 200, voted.text
    log = records_to_table([
        QueryRecord.of(q, ts_ms=i, tenant="acme", endpoint="/v1/search", latency_ms=1.0,
                       status=200, collection=COLLECTION, scores=(0.9 - i / 20,),
                       response_id=f"r{i}", arm="control")
        for i, q in enumerate([TESLA, WARSAW, "Кто открыл кислород?", "Что такое пар?"] * 2)
    ])  # fmt: skip
    # 20 permutations (fast) can only give p >= 1/21: alpha 0.05 keeps the test able to fire
    settings = Settings(monitor_min_questions=2, monitor_permutations=20, monitor_alpha=0.05)
    encode = build_dense_encoder(settings).encode_queries
    report = monitor(log, log, encode, settings, {"r0": 1, "r1": -1})
    assert publish(report) > 0

    targets = [
        f"{n['NodeManagerAddress']}:{n['MetricsExportPort']}" for n in ray.nodes() if n["Alive"]
    ]
    wanted = {
        name for name in queried_names(REPO)
        if name.startswith("ray_ruai_") and metric_base(name) not in EVENT_ONLY
    }  # fmt: skip
    expected = {"ray_ruai_drift_detected", "ray_ruai_requests_total", "ray_ruai_feedback_total"}
    assert expected <= wanted
    with prometheus_server(targets, tmp_path, free_port()) as prometheus:
        deadline = time.monotonic() + 120  # Ray reports metrics every few seconds
        while missing := wanted - metric_names(prometheus):
            assert time.monotonic() < deadline, f"not in Prometheus: {sorted(missing)}"
            time.sleep(2)


def _search_replicas() -> int:
    from ray import serve

    from tests.support.serve_app import APP_NAME

    states = serve.status().applications[APP_NAME].deployments["Search"].replica_states
    return states.get("RUNNING", 0)


def _wait_for_search_replicas(count: int, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while _search_replicas() != count:
        assert time.monotonic() < deadline, f"Search has {_search_replicas()} replicas, not {count}"
        time.sleep(1.5)  # serve.status() pickles a router class: ~0.1 CPU-s a call here


def test_search_scales_out_under_load_and_back(served) -> None:
    """Serve autoscaling (SEARCH_SCALING): two clients asking without pause keep more than
    half a request per Search replica in flight, so a second replica starts; idle, it goes."""
    _wait_for_search_replicas(1)
    stop = threading.Event()

    def ask(_: int) -> set[int]:
        statuses = set()
        while not stop.is_set():
            statuses.add(post(served, "/v1/search", {"query": TESLA, "top_k": 3}).status_code)
        return statuses

    with ThreadPoolExecutor(2) as pool:  # the ingress admits 2 at a time (the fixture's args)
        load = [pool.submit(ask, i) for i in range(2)]
        try:
            _wait_for_search_replicas(2)
        finally:
            stop.set()
        statuses = set().union(*(f.result() for f in load))
    assert statuses == {200}
    _wait_for_search_replicas(1)
    assert post(served, "/v1/search", {"query": TESLA}).status_code == 200


def _slow_upload(base: str, declared: int, send_s: float) -> bytes:
    """A raw request whose body comes a byte every 0.5 s (for up to ``send_s``); its reply."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(
            f"POST /v1/search HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer key-acme\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n{{".encode()
        )
        deadline = time.monotonic() + send_s
        conn.settimeout(0.5)
        reply = b""
        while not _whole_reply(reply):
            try:
                part = conn.recv(65536)
            except TimeoutError:
                if time.monotonic() < deadline:
                    with contextlib.suppress(OSError):
                        conn.sendall(b" ")
                continue
            if not part:
                break
            reply += part
        return reply


def _whole_reply(reply: bytes) -> bool:
    head, found, body = reply.partition(b"\r\n\r\n")
    lengths = [line.split(b":", 1)[1] for line in head.lower().split(b"\r\n")
               if line.startswith(b"content-length:")]  # fmt: skip
    return bool(found) and bool(lengths) and len(body) >= int(lengths[0])


def test_slow_uploads_time_out_without_holding_a_slot(served) -> None:
    """Six clients sending a body byte by byte (more than the ingress admits at once: 2 running,
    2 queued) leave every normal search answered; each gets a 408 once
    RUAI_BODY_READ_TIMEOUT_S (3 s here) has passed (issue 25, finding 2)."""
    with ThreadPoolExecutor(6) as pool:
        slow = [pool.submit(_slow_upload, served["base"], 1000, 20) for _ in range(6)]
        time.sleep(0.5)  # all six are sending
        answered = [post(served, "/v1/search", {"query": TESLA}) for _ in range(5)]
        replies = [f.result(timeout=60) for f in slow]
    assert [r.status_code for r in answered] == [200] * 5, [r.text for r in answered]
    for reply in replies:
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), reply[:300]
        assert b"RUAI_BODY_READ_TIMEOUT_S" in body


def test_a_body_past_the_byte_limit_is_413_before_it_is_read(served) -> None:
    """RUAI_MAX_REQUEST_BYTES (1 MiB): a declared length past it, and a chunked body that grows
    past it, are refused in OpenAI's shape; the app answers normally afterwards."""
    big = {"query": "вопрос", "pad": "я" * 600_000}  # 1.2 MB as UTF-8 JSON
    declared = post(served, "/v1/search", big)
    assert assert_openai_error(declared, 413)["code"] == "input_too_long"
    assert "RUAI_MAX_REQUEST_BYTES" in declared.json()["error"]["message"]

    def chunks():
        for _ in range(40):
            yield b" " * 65536

    chunked = http_calls.post(f"{served['base']}/v1/search", content=chunks(), timeout=60,
                         headers={"Authorization": "Bearer key-acme",
                                  "Content-Type": "application/json"})  # fmt: skip
    assert assert_openai_error(chunked, 413)["code"] == "input_too_long"
    assert post(served, "/v1/search", {"query": TESLA}).status_code == 200


@pytest.mark.parametrize("path", ["/v1/search", "/v1/chat/completions"])
def test_a_lone_surrogate_is_the_clients_400(served, path) -> None:
    """A JSON escape of half a surrogate pair decodes to no text: a 400 naming it, never a 5xx
    blamed on the store (issue 25, finding 5); a whole pair is an ordinary character."""
    field = '"query": "Тесла \\ud800"' if path == "/v1/search" else (
        f'"model": "{MODEL}", "messages": [{{"role": "user", "content": "Тесла \\udc00 умер?"}}]'
    )
    error = assert_openai_error(post(served, path, "{" + field + "}"), 400)
    assert error["code"] == "invalid_unicode"
    paired = post(served, "/v1/search", '{"query": "Тесла \\ud83d\\ude00 умер?"}')
    assert paired.status_code == 200, paired.text


def test_the_schema_answers_callers_the_api_answers(served) -> None:
    assert assert_openai_error(http_calls.get(f"{served['base']}/openapi.json", timeout=30), 401)
    for page in ("/docs", "/redoc"):
        assert http_calls.get(f"{served['base']}{page}", timeout=30).status_code == 404
