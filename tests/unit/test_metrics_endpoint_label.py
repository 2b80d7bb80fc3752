"""Request metrics are labelled by route template, so ids in paths never multiply series."""

from __future__ import annotations

from fastapi import FastAPI, Request
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
