"""One typed context per request on the ingress (serve_apps/request_context.py), through the
real middleware, authenticator, arms, query log and chat routes, without Serve: the middleware
starts it, the credential is parsed once, routes get the context, the caller and the ingress's
parts through FastAPI dependencies, and what an endpoint sets (its arm, its notes) is what the
middleware's response headers, guardrail and query log read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow.dataset as pads
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.requests import Request as BareRequest

from ruai.identity import AuthKind
from ruai.lifecycle.arms_config import ArmsConfig
from ruai.settings import Settings
from serve_apps import chat_routes
from serve_apps.admission import Admission
from serve_apps.auth import Authenticator
from serve_apps.errors import ApiError
from serve_apps.experiments import ARM_HEADER, Arms, body_fields
from serve_apps.ingress import AdmitAndObserve, _api_error
from serve_apps.metrics import ServeMetrics
from serve_apps.query_logging import QueryLogging
from serve_apps.request_context import Caller, Context, request_context

KEYS = {"key-legal": {"tenant": "acme", "groups": ["/legal"], "roles": ["reader"]},
        "key-globex": "globex"}  # fmt: skip
ONE_ARM = {"experiments": [{"name": "canary", "arms": [{"name": "wide", "weight": 1}]}]}


@pytest.fixture
def client(tmp_path: Path):
    settings = Settings(api_keys=KEYS, query_log_dir=tmp_path / "log",
                        conversations_path=tmp_path / "c.sqlite3")  # fmt: skip
    arms = Arms()
    arms.configure(ArmsConfig.model_validate(ONE_ARM))
    query_log = QueryLogging(settings, chat_routes.open_conversation_store)
    app = FastAPI()
    app.add_exception_handler(ApiError, _api_error)
    app.include_router(chat_routes.router)
    # the parts of a RagIngress that the middleware and the dependencies reach
    app.state.ingress = SimpleNamespace(
        settings=settings, auth=Authenticator(settings), admission=Admission(4, 4),
        metrics=ServeMetrics(), arms=arms, query_log=query_log,
    )  # fmt: skip
    seen: list = []

    @app.post("/asked")
    async def asked(request: Request, principal: Caller, context: Context) -> dict:
        seen.append((context, request_context(request), principal))
        arms.assign(request, "rag-docs")
        context.note(tenant=principal.tenant, principal=principal, question="Кто такой Тесла?")
        return {"tenant": context.tenant, "groups": sorted(context.groups)} | body_fields(context)

    app.add_middleware(AdmitAndObserve)
    with TestClient(app) as made:
        yield made, seen, query_log
    query_log.close()
    if chat_routes._store is not None:  # the replica's store, opened by the chat routes
        chat_routes._store.close()
        chat_routes._store = None


def test_the_middleware_starts_one_context_that_routes_and_the_log_share(client) -> None:
    http, seen, query_log = client
    response = http.post("/asked", headers={"Authorization": "Bearer key-legal"})
    assert response.status_code == 200
    assert response.json() == {"tenant": "acme", "groups": ["/legal", "legal", "role:reader"],
                                "experiment": "canary", "arm": "wide"}  # fmt: skip
    ((context, again, principal),) = seen
    assert context is again and context.principal is principal  # authenticated once
    assert context.credential == "key-legal" and principal.auth is AuthKind.API_KEY
    assert context.headers_at is not None and context.headers_at >= context.started
    assert response.headers[ARM_HEADER] == "wide"  # the middleware read the endpoint's arm
    assert query_log.sink is not None and query_log.sink.flush()
    log = pads.dataset(query_log.settings.query_log_dir, partitioning="hive")
    (row,) = log.to_table().to_pylist()
    assert (row["tenant"], row["arm"], row["experiment"]) == ("acme", "wide", "canary")
    assert row["key_id"] == principal.key_id and row["status"] == 200


def test_a_caller_without_a_known_key_is_refused_before_the_route_runs(client) -> None:
    http, seen, _ = client
    for headers in ({}, {"Authorization": "Bearer key-unknown"}, {"Authorization": "key-legal"}):
        response = http.post("/asked", headers=headers)
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers
        assert response.json()["error"]["type"] == "authentication_error"
    assert seen == []


def test_chat_routes_get_the_owner_and_the_settings_through_dependencies(client) -> None:
    http, _, _ = client
    legal, globex = ({"Authorization": f"Bearer {key}"} for key in KEYS)
    assert http.get("/ui/config.json").json() == {"oidc": None, "api_key_form": True}
    made = http.post("/v1/conversations", json={"title": "Тесла"}, headers=legal).json()
    renamed = http.patch(f"/v1/conversations/{made['id']}", json={"title": "Никола Тесла"},
                         headers=legal)  # fmt: skip
    assert renamed.json()["title"] == "Никола Тесла"
    listed = http.get("/v1/conversations", headers=legal).json()["data"]
    assert [c["title"] for c in listed] == ["Никола Тесла"]
    assert http.get("/v1/conversations", headers=globex).json()["data"] == []  # not its owner
    assert http.get(f"/v1/conversations/{made['id']}", headers=globex).status_code == 404
    assert http.get("/v1/conversations").status_code == 401


def test_a_request_outside_the_middleware_gets_a_fresh_context() -> None:
    headers = [(b"authorization", b"Bearer  key-globex ")]
    bare = BareRequest({"type": "http", "method": "GET", "path": "/", "headers": headers})
    context = request_context(bare)
    assert request_context(bare) is context
    assert (context.credential, context.principal, context.arm, context.log) == (
        "key-globex", None, "", None)  # fmt: skip
    assert (context.tenant, context.groups) == (None, frozenset())
    context.note(question="первый")
    context.note(question="второй", collection="ruai")
    assert context.log == {"question": "второй", "collection": "ruai"}
