"""The app's experiment config (validated at deploy, naming the field) and the per-replica arm
logic of serve_apps/experiments.py on real Starlette requests (no Serve needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from ruai.settings import Settings
from serve_apps.app_args import RagAppArgs
from serve_apps.errors import ApiError
from serve_apps.experiments import ARM_HEADER, Arms, ArmsConfig, body_fields
from serve_apps.request_context import request_context

CANARY = {
    "name": "canary",
    "arms": [
        {"name": "stable", "weight": 90},
        {"name": "wide", "weight": 10, "top_k": 8, "collection": "docs_v2"},
    ],
}


def request(key: str | None = None, arm: str | None = None) -> Request:
    headers = [(b"authorization", f"Bearer {key}".encode())] if key else []
    headers += [(ARM_HEADER.lower().encode(), arm.encode())] if arm else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


def arms(config: dict) -> Arms:
    made = Arms()
    made.configure(ArmsConfig.model_validate(config))
    return made


@pytest.mark.parametrize(
    ("experiments", "where"),
    [
        ([{"name": "x", "arms": [{"name": "A", "weight": 1, "topk": 5}]}],
         "experiments.0.arms.0.topk"),
        ([{"name": "x", "arms": [{"name": "A", "wieght": 1}]}], "experiments.0.arms.0.wieght"),
        ([{"name": "x", "modle": "rag-a", "arms": [{"name": "A", "weight": 1}]}],
         "experiments.0.modle"),
        ([CANARY, CANARY | {"model": "rag-other"}], "two experiments with name"),
        ([CANARY, CANARY | {"name": "other"}], "two experiments with model"),
    ],
)  # fmt: skip
def test_app_args_name_the_field_of_a_bad_experiment(experiments, where) -> None:
    with pytest.raises(ValidationError, match=where.replace(".", r"\.")):
        RagAppArgs.model_validate({"experiments": experiments})


def test_guardrails_are_validated_and_can_be_turned_off() -> None:
    with pytest.raises(ValidationError, match=r"guardrails\.max_error_rat"):
        RagAppArgs.model_validate({"guardrails": {"max_error_rat": 0.1}})
    assert RagAppArgs.model_validate({"guardrails": None}).guardrails is None
    assert RagAppArgs().guardrails.window_s == 300.0


@pytest.mark.parametrize(
    ("arm", "settings", "message"),
    [
        ({"adapter": "qa-v2"}, {}, r"experiments\.0\.arms\.1\.adapter: LoRA adapters"),
        ({"llm": "qwen"}, {"generator": "vllm"}, r"experiments\.0\.arms\.1\.llm: .*saiga"),
    ],
)
def test_what_the_app_cannot_serve_fails_at_deploy(arm, settings, message) -> None:
    config = ArmsConfig.model_validate(
        {"experiments": [{"name": "x", "arms": [{"name": "A", "weight": 1}, {"name": "B",
                                                                            "weight": 1, **arm}]}]}
    )  # fmt: skip
    with pytest.raises(ValueError, match=message):
        config.check_serving(Settings(**settings))


def test_sticky_by_api_key_else_user_and_overridden_by_the_header() -> None:
    made = arms({"experiments": [CANARY]})
    experiment = made.experiments["canary"]
    keys = [f"key-{i}" for i in range(200)]
    for key in keys:
        by_key = made.assign(request(key), "rag-docs", user="ignored when a key is sent")
        assert by_key.name == experiment.assign(key).name
        assert made.assign(request(), "rag-docs", user=key).name == by_key.name
    assert {made.assign(request(k), "rag-docs").name for k in keys} == {"stable", "wide"}
    stable_key = next(k for k in keys if experiment.assign(k).name == "stable")
    forced = request(stable_key, arm="wide")
    assert made.assign(forced, "rag-docs", may_force=True).name == "wide"
    context = request_context(forced)
    assert (context.experiment, context.arm) == ("canary", "wide")
    assert body_fields(context) == {"experiment": "canary", "arm": "wide"}
    with pytest.raises(ApiError) as refused:
        made.assign(request(stable_key, arm="nope"), "rag-docs", may_force=True)
    assert (refused.value.status, refused.value.code) == (400, "unknown_arm")


def test_an_experiment_takes_only_its_models_requests() -> None:
    made = arms({"experiments": [CANARY | {"model": "rag-docs"}]})
    outside = request("key-1")
    assert made.assign(outside, "rag-other") is None
    context = request_context(outside)
    assert (context.experiment, context.arm, body_fields(context)) == ("", "", {})
    assert made.assign(request("key-1"), "rag-docs:some-adapter") is not None


def test_guardrail_sets_a_failing_arm_to_zero_and_keeps_the_other() -> None:
    made = arms({"experiments": [CANARY], "guardrails": {"min_requests": 3, "max_error_rate": 0.5}})
    keys = [f"key-{i}" for i in range(100)]
    for key in keys:
        answered = request(key)
        arm = made.assign(answered, "rag-docs")
        made.observe(request_context(answered), 503 if arm.name == "wide" else 200, 0.01)
    assert made.weights() == {"canary": {"stable": 90, "wide": 0}}
    assert {made.assign(request(k), "rag-docs").name for k in keys} == {"stable"}
    # a new config (an operator's decision) starts fresh windows and its own weights
    made.configure(ArmsConfig.model_validate({"experiments": [CANARY]}))
    assert made.weights() == {"canary": {"stable": 90, "wide": 10}}


def test_the_last_arm_with_traffic_is_never_stopped() -> None:
    only = {"name": "solo", "arms": [{"name": "A", "weight": 1}, {"name": "B", "weight": 0}]}
    made = arms({"experiments": [only], "guardrails": {"min_requests": 2}})
    for i in range(5):
        failed = request(f"key-{i}")
        made.assign(failed, None)
        made.observe(request_context(failed), 500, 0.01)
    assert made.weights() == {"solo": {"A": 1, "B": 0}}


def test_the_guardrail_times_a_stream_to_its_first_token_not_its_end(tmp_path) -> None:
    """Through the ingress's middleware: long streamed answers do not make an arm slow, slow
    answers do."""
    import asyncio
    from types import SimpleNamespace

    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse, StreamingResponse
    from fastapi.testclient import TestClient

    from serve_apps.admission import Admission
    from serve_apps.ingress import AdmitAndObserve
    from serve_apps.metrics import ServeMetrics
    from serve_apps.query_logging import QueryLogging

    two = {"name": "two", "arms": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}]}
    made = arms({"experiments": [two], "guardrails": {"min_requests": 3, "max_p95_s": 0.25}})
    settings = Settings(query_log_enabled=False, conversations_path=tmp_path / "c.sqlite3")
    app = FastAPI()
    logging = QueryLogging(settings, lambda _settings: None)
    # the parts of a RagIngress that the middleware reads
    app.state.ingress = SimpleNamespace(
        settings=settings, admission=Admission(4, 4), metrics=ServeMetrics(), arms=made,
        query_log=logging,
    )  # fmt: skip

    @app.get("/stream")
    async def stream(request: Request) -> StreamingResponse:
        made.assign(request, None, may_force=True)

        async def answer():
            yield "первый токен"
            await asyncio.sleep(0.4)  # a long answer, its first token at once
            yield ", и остальные"

        return StreamingResponse(answer())

    @app.get("/slow")
    async def slow(request: Request) -> PlainTextResponse:
        made.assign(request, None, may_force=True)
        await asyncio.sleep(0.4)
        return PlainTextResponse("поздно")

    app.add_middleware(AdmitAndObserve)
    client = TestClient(app, headers={ARM_HEADER: "A"})
    try:
        for _ in range(4):
            assert client.get("/stream").text == "первый токен, и остальные"
        assert made.weights() == {"two": {"A": 1, "B": 1}}
        for _ in range(4):
            client.get("/slow")
        assert made.weights() == {"two": {"A": 0, "B": 1}}
    finally:
        logging.close()
