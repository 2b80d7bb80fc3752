"""Request metrics are labelled by route template, so ids in paths never multiply series."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from serve_apps.metrics import endpoint_label


def test_label_is_the_route_template() -> None:
    app = FastAPI()
    seen: list[str] = []

    @app.middleware("http")
    async def observe(request: Request, call_next):
        response = await call_next(request)
        seen.append(endpoint_label(request.scope))
        return response

    @app.get("/v1/conversations/{conversation_id}")
    async def conversation(conversation_id: str) -> dict:
        return {}

    client = TestClient(app)
    for path in ("/v1/conversations/a1", "/v1/conversations/b2", "/no/such/path"):
        client.get(path)
    assert seen == ["/v1/conversations/{conversation_id}"] * 2 + ["unmatched"]


def test_a_request_refused_before_routing_is_labelled_by_its_route() -> None:
    """The ingress's admission answers an overload before the router runs: the label must still
    be the endpoint the request was for, not "unmatched"."""
    app = FastAPI()
    seen: list[str] = []

    @app.get("/v1/conversations/{conversation_id}")
    async def conversation(conversation_id: str) -> dict:
        return {}

    class RefuseAll:
        def __init__(self, app) -> None:
            self.app = app

        async def __call__(self, scope, receive, send) -> None:
            seen.append(endpoint_label(scope))
            await JSONResponse({"error": "overloaded"}, status_code=503)(scope, receive, send)

    app.add_middleware(RefuseAll)
    client = TestClient(app)
    assert client.get("/v1/conversations/a1").status_code == 503
    assert client.post("/v1/conversations/a1").status_code == 503  # a method it does not take
    client.get("/no/such/path")
    assert seen == ["/v1/conversations/{conversation_id}"] * 2 + ["unmatched"]
