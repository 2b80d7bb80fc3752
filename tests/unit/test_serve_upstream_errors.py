"""How the ingress turns its upstreams' failures into OpenAI error bodies, without Ray: a store
call that fails or hangs (every retrieval call, /v1/context and /v1/embeddings included), a
generator that fails after its first delta (the non-streamed answer), a request the prompt
budget cannot hold (a 400, not a retryable 503), and search encoding kept off the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import MethodType, SimpleNamespace

import pytest

from ruai.llm.context_fit import ChatTemplate
from ruai.retrieval import Query
from ruai.settings import Settings
from ruai.store.aliases import CollectionVersion
from ruai.store.base import SearchRequest
from ruai.store.edge import EdgeStore
from serve_apps.errors import ApiError
from serve_apps.generation import Generation, GenerationError, VLLMClient
from serve_apps.ingress import RagIngress
from serve_apps.search import SearchService
from serve_apps.stream_events import StreamEvent, TextDelta

IngressClass = RagIngress.func_or_class


def ingress(settings: Settings) -> SimpleNamespace:
    """The ingress's own methods, bound to an object with its settings (the class wants a Serve
    replica to be built)."""
    bare = SimpleNamespace(settings=settings)
    for name in ("retrieved", "_first", "_generation_errors"):
        setattr(bare, name, MethodType(getattr(IngressClass, name), bare))
    return bare


async def failure(exc: BaseException) -> None:
    raise exc


def api_error(coro) -> ApiError:
    with pytest.raises(ApiError) as raised:
        asyncio.run(coro)
    return raised.value


def test_retrieval_failures_are_404_or_503_and_a_hang_ends_at_the_timeout(tmp_path) -> None:
    app = ingress(Settings(retrieval_timeout_s=0.2))
    store = EdgeStore(tmp_path / "store")
    request = SearchRequest(dense=[0.1] * 4, tenant="t", limit=3)
    missing = asyncio.to_thread(store.search, "dropped", request)  # the store's own error
    error = api_error(app.retrieved(missing, "dropped"))
    assert (error.status, error.code) == (404, "collection_not_found")
    down = api_error(app.retrieved(failure(ConnectionError("the owner died"))))
    assert down.status == 503 and "the owner died" in str(down)
    hung = api_error(app.retrieved(asyncio.sleep(30)))
    assert hung.status == 503 and "RUAI_RETRIEVAL_TIMEOUT_S" in str(hung)
    asked = ApiError(413, "too long", "invalid_request_error", "too_long")
    assert api_error(app.retrieved(failure(asked))) is asked  # the ingress's own errors pass


def test_a_generator_failing_after_its_first_delta_is_an_error_body() -> None:
    app = ingress(Settings())

    async def events(exc: BaseException):
        yield TextDelta("Тесла")
        raise exc

    async def answer(exc: BaseException) -> list[StreamEvent]:
        stream = events(exc)
        first = await app._first(stream)
        with app._generation_errors():
            return [first, *[delta async for delta in stream]]

    refused = api_error(answer(GenerationError("the engine refused", 400)))
    assert (refused.status, refused.kind) == (400, "invalid_request_error")
    died = api_error(answer(RuntimeError("ActorDiedError: the LLM replica died")))
    assert died.status == 503 and "the generator is unavailable" in str(died)


def test_a_prompt_the_budget_cannot_hold_is_a_400(tiny_mistral: Path) -> None:
    settings = Settings(generator="vllm", max_model_len=256, llm_max_tokens=64)
    client = VLLMClient.__new__(VLLMClient)  # rag() refuses before it calls the LLM handle
    client.settings, client.handle = settings, None
    client.template = ChatTemplate.from_pretrained(str(tiny_mistral))

    async def first(question: str, max_tokens: int) -> StreamEvent:
        events = client.rag(question, [], {"max_tokens": max_tokens}, Generation())
        return await anext(events)

    with pytest.raises(GenerationError) as raised:
        asyncio.run(first("Когда умер Тесла?", 256))
    assert raised.value.status == 400 and "RUAI_MAX_MODEL_LEN" in str(raised.value)
    with pytest.raises(GenerationError) as raised:
        asyncio.run(first("Тесла " * 400, 64))
    assert raised.value.status == 400 and "budget" in str(raised.value)


def test_search_encodes_off_the_event_loop() -> None:
    service = SearchService(Settings())
    threads: list[int] = []
    encode = service.searcher.requests

    def recorded(queries):
        threads.append(threading.get_ident())
        return encode(queries)

    service.searcher.requests = recorded

    async def requests() -> tuple[int, SearchRequest]:
        query = Query("Когда умер Тесла?", "t", 5, "hybrid", frozenset({"/legal"}),
                      CollectionVersion("docs"))  # fmt: skip
        return threading.get_ident(), await service._request(query)

    loop_thread, request = asyncio.run(requests())
    assert threads and threads[0] != loop_thread
    assert request.tenant == "t" and request.limit == 5 and request.dense is not None
    assert request.access == frozenset({"/legal"})
