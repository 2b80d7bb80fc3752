"""The ingress's request rules without Ray: model/collection routing (400 invalid, 404 unknown),
content parts, admission, and the app's typed args that fail on a typo."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from ruai.settings import Settings
from serve_apps.admission import Admission
from serve_apps.app_args import RagAppArgs
from serve_apps.errors import ApiError
from serve_apps.routing import ModelRouter, Route
from serve_apps.schemas import ChatRequest

SETTINGS = Settings(llm_served_name="saiga", llm_lora_path="s3://bucket/loras")


def status_of(call) -> tuple[int, str]:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value.status, raised.value.code


@pytest.mark.parametrize(("model", "status", "code"), [
    ("rag-../../etc", 400, "invalid_collection"),
    ("rag-", 400, "invalid_collection"),
    ("rag-" + "x" * 100_000, 400, "invalid_collection"),
    ("x" * 100_000, 400, "invalid_model"),
    ("saiga\x00", 400, "invalid_model"),
    ("saiga:../up", 400, "invalid_model"),
    ("rag-docs:", 400, "invalid_model"),
    ("rag-nope", 404, "collection_not_found"),
    ("gpt-4", 404, "model_not_found"),
])  # fmt: skip
def test_names_that_cannot_exist_are_400_unknown_ones_404(model, status, code) -> None:
    router = ModelRouter(SETTINGS, ["docs"], serves_llm=True)
    assert status_of(lambda: router.route(model)) == (status, code)


def test_served_models_route_to_collection_and_adapter() -> None:
    router = ModelRouter(SETTINGS, ["docs", "wiki"], serves_llm=True)
    assert router.route("rag-wiki") == Route("wiki", None)
    assert router.route("rag-docs:xquad") == Route("docs", "xquad")
    assert router.route("saiga:loud-v1.2") == Route(None, "loud-v1.2")
    assert router.collection("docs") == "docs"
    assert status_of(lambda: router.collection("../../etc")) == (400, "invalid_collection")


def test_without_an_llm_there_are_no_plain_chats_or_adapters() -> None:
    router = ModelRouter(SETTINGS, ["docs"], serves_llm=False)
    assert status_of(lambda: router.route("saiga")) == (404, "model_not_found")
    assert status_of(lambda: router.route("rag-docs:xquad")) == (404, "model_not_found")


def test_text_parts_are_joined_other_parts_refused() -> None:
    parts = [{"type": "text", "text": "Кто такой"}, {"type": "text", "text": "Тесла?"}]
    body = ChatRequest(model="rag-docs", messages=[{"role": "user", "content": parts}])
    assert body.question() == "Кто такой\nТесла?"
    image = [{"type": "image_url", "image_url": {"url": "data:,"}}]
    body = ChatRequest(model="rag-docs", messages=[{"role": "user", "content": image}])
    assert status_of(body.question) == (400, "unsupported_content")


@pytest.mark.parametrize(("extra", "code"), [
    ({"n": 2}, "unsupported_n"),
    ({"logprobs": True}, "unsupported_logprobs"),
    ({"top_logprobs": 3}, "unsupported_top_logprobs"),
    ({"functions": [{"name": "f"}]}, "unsupported_functions"),
    ({"response_format": {"type": "json_object"}}, "unsupported_response_format"),
    ({"logprobs": False, "top_logprobs": None, "tools": [], "tool_choice": "none",
      "response_format": {"type": "text"}, "frequency_penalty": 0.5}, None),
])  # fmt: skip
def test_what_no_generator_returns_is_refused_not_dropped(extra: dict, code: str | None) -> None:
    body = ChatRequest(model="rag-docs", messages=[{"role": "user", "content": "Тесла?"}], **extra)
    if code is None:
        body.check_supported()  # what a client sends by default is answered
    else:
        assert status_of(body.check_supported) == (400, code)


TOOL = {"type": "function", "function": {"name": "search_documents", "parameters": {
    "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}
NAMED = {"type": "function", "function": {"name": "search_documents"}}


@pytest.mark.parametrize(("extra", "calls_tools", "code"), [
    # a model may always answer without calling a tool: what Open WebUI sends by default
    ({"tools": [TOOL]}, False, None),
    ({"tools": [TOOL], "tool_choice": "auto"}, False, None),
    ({"tools": [TOOL], "tool_choice": "none"}, False, None),
    # a demanded call: only a model that can call tools, and only of a tool that is offered
    ({"tools": [TOOL], "tool_choice": "required"}, False, "tool_calls_unsupported"),
    ({"tools": [TOOL], "tool_choice": NAMED}, False, "tool_calls_unsupported"),
    ({"tools": [TOOL], "tool_choice": "required"}, True, None),
    ({"tools": [TOOL], "tool_choice": NAMED, "parallel_tool_calls": False}, True, None),
    ({"tool_choice": "required"}, True, "invalid_tool_choice"),
    ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "rm"}}}, True,
     "invalid_tool_choice"),
])  # fmt: skip
def test_tool_choice_follows_openai_semantics(extra: dict, calls_tools: bool, code) -> None:
    body = ChatRequest(model="rag-docs", messages=[{"role": "user", "content": "Тесла?"}], **extra)
    if code is None:
        body.check_supported(calls_tools)
    else:
        assert status_of(lambda: body.check_supported(calls_tools)) == (400, code)


def test_tool_calls_and_results_are_part_of_the_conversation() -> None:
    call = {"id": "call-1", "type": "function",
            "function": {"name": "search_documents", "arguments": '{"query": "Тесла"}'}}
    messages = [
        {"role": "user", "content": "Когда умер Тесла?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call-1", "content": "[1] Тесла умер в 1943 году."},
    ]  # fmt: skip
    body = ChatRequest(model="saiga", messages=messages, tools=[TOOL], tool_choice="auto")
    body.check_supported(True)
    assert body.question() == "Когда умер Тесла?"
    assert body.after_question() == [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "content": "[1] Тесла умер в 1943 году.", "tool_call_id": "call-1"},
    ]
    assert body.llm_messages()[0] == {"role": "user", "content": "Когда умер Тесла?"}
    assert body.tool_options() == {"tools": [TOOL], "tool_choice": "auto"}
    assert ChatRequest(model="saiga", messages=messages[:1]).tool_options() == {}
    with pytest.raises(ValidationError, match="tool_call_id"):
        ChatRequest(model="saiga", messages=[{"role": "tool", "content": "x"}])
    with pytest.raises(ValidationError, match="needs content"):
        ChatRequest(model="saiga", messages=[{"role": "user", "content": None}])


def test_admission_runs_ongoing_queues_the_rest_and_refuses_beyond() -> None:
    async def scenario() -> tuple[int, list[int]]:
        admission = Admission(ongoing=1, queued=1)
        release = asyncio.Event()
        outcomes: list[int] = []

        async def request() -> None:
            try:
                async with admission.slot():
                    await release.wait()
                outcomes.append(200)
            except ApiError as exc:
                outcomes.append(exc.status)

        tasks = [asyncio.create_task(request()) for _ in range(4)]
        await asyncio.sleep(0)
        admitted = admission.inside  # one running, one waiting
        release.set()
        await asyncio.gather(*tasks)
        return admitted, sorted(outcomes)

    admitted, outcomes = asyncio.run(scenario())
    assert admitted == 2 and outcomes == [200, 200, 503, 503]


def test_app_args_name_the_field_of_a_typo() -> None:
    with pytest.raises(ValidationError, match="serch"):
        RagAppArgs.model_validate({"serch": {"num_cpus": 1}})
    with pytest.raises(ValidationError, match="num_cpu"):
        RagAppArgs.model_validate({"search": {"num_cpu": 1}})
    with pytest.raises(ValidationError, match="colection"):
        RagAppArgs.model_validate({"settings": {"colection": "x"}})
    args = RagAppArgs.model_validate({"ingress": {"max_ongoing_requests": 2}})
    assert args.ingress.num_cpus == 0.25 and args.search.deployment_options() == {}


def test_parts_in_the_ingress_refuse_options_of_their_deployment() -> None:
    with pytest.raises(ValidationError, match="search_in_ingress runs the search in the ingress"):
        RagAppArgs.model_validate({"search_in_ingress": True, "search": {"num_cpus": 1}})
    with pytest.raises(ValidationError, match="generator_in_ingress runs the generator"):
        RagAppArgs.model_validate({"generator_in_ingress": True, "generator": {"num_cpus": 1}})
    args = RagAppArgs.model_validate(
        {"search_in_ingress": True, "ingress": {"max_replicas_per_node": 1}}
    )
    assert args.ingress.deployment_options() == {"max_replicas_per_node": 1}


def test_vllm_cannot_run_in_the_ingress() -> None:
    from serve_apps.rag import build_app

    args = {"settings": {"generator": "vllm", "llm_model": "/no/model"},
            "generator_in_ingress": True}  # fmt: skip
    with pytest.raises(ValueError, match="only the extractive generator runs in the ingress"):
        build_app(args)


def test_every_shipped_serve_config_validates_as_app_args() -> None:
    import yaml

    configs = sorted(Path(__file__).resolve().parents[2].glob("serve_apps/configs/*.yaml"))
    assert configs
    for path in configs:
        for application in yaml.safe_load(path.read_text())["applications"]:
            RagAppArgs.model_validate(application.get("args") or {})
