"""RagIngress: the HTTP API (FastAPI) over QueryEncoder → Retriever → Generator."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from ray import serve
from ray.serve.handle import DeploymentHandle

from ruai.api_keys import ApiKeys
from ruai.conversations.retrieval_query import retrieval_query
from ruai.llm.passages import Passage, passages_from_hits
from ruai.settings import Settings
from ruai.store.base import CollectionNotFoundError, Hit
from serve_apps import openai_shapes as shapes
from serve_apps.chat_routes import record_response
from serve_apps.chat_routes import router as chat_router
from serve_apps.errors import (
    ApiError,
    error_response,
    not_found,
    too_long,
    unauthorized,
    unavailable,
)
from serve_apps.generation import (
    ExtractiveClient,
    Generation,
    GenerationError,
    Generator,
    VLLMClient,
)
from serve_apps.metrics import ServeMetrics, endpoint_label
from serve_apps.schemas import ChatRequest, EmbeddingsBody, SearchBody

logger = logging.getLogger("ray.serve")
RAG_PREFIX = "rag-"
T = TypeVar("T")

app = FastAPI(title="ruai RAG API")
app.include_router(chat_router)  # the chat UI at /, conversations, /v1/feedback
_metrics: ServeMetrics | None = None


def metrics() -> ServeMetrics:
    global _metrics
    if _metrics is None:
        _metrics = ServeMetrics()
    return _metrics


@app.exception_handler(RequestValidationError)
async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error_response(422, f"{where}: {first.get('msg', 'invalid request')}",
                          "invalid_request_error", "invalid_body")  # fmt: skip


@app.exception_handler(ApiError)
async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message, exc.kind, exc.code)


@app.middleware("http")
async def _observe(request: Request, call_next):
    started = time.perf_counter()
    response = await call_next(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    metrics().observe_request(endpoint_label(request.scope), response.status_code, elapsed_ms)
    return response


def _cause(exc: BaseException) -> BaseException:
    """The replica's original exception inside Ray's RayTaskError wrapper."""
    return getattr(exc, "cause", None) or exc


class UpstreamTimeoutError(TimeoutError):
    pass


async def _within(awaitable: Awaitable[T], seconds: float, setting: str) -> T:
    """The awaitable's result, or UpstreamTimeoutError (cancelling it) after ``seconds``."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError as exc:
        raise UpstreamTimeoutError(f"no answer within {seconds:g} s (setting {setting})") from exc


def _sources(passages: list[Passage]) -> dict[str, Any]:
    return {"sources": [p.citation() for p in passages]}


@serve.deployment(max_ongoing_requests=32, max_queued_requests=64)
@serve.ingress(app)
class RagIngress:
    def __init__(
        self,
        settings: Settings,
        encoder: DeploymentHandle,
        retriever: DeploymentHandle,
        generator: DeploymentHandle,
        collections: list[str],
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.retriever = retriever
        self.generator: Generator = (
            VLLMClient(generator, settings)
            if settings.generator == "vllm"
            else ExtractiveClient(generator)
        )
        self.collections = collections
        self.keys = ApiKeys.from_settings(settings)
        if not self.keys.enabled:
            logger.warning(
                "no API keys configured (RUAI_API_KEYS / RUAI_API_KEYS_FILE): accepting "
                "requests from this machine only, as tenant %r",
                settings.tenant,
            )

    # --- auth -----------------------------------------------------------------------------

    def _tenant(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else None
        if self.keys.enabled:
            tenant = self.keys.tenant_for(key)
            if tenant is None:
                raise unauthorized()
            return tenant
        host = request.client.host if request.client else ""
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host in ("localhost", "testclient")
        if not local:
            raise unauthorized()
        return self.settings.tenant

    # --- retrieval ------------------------------------------------------------------------

    async def _search(
        self, collection: str, tenant: str, query: str, top_k: int, mode: str = "hybrid"
    ) -> list[Hit]:
        if len(query) > self.settings.max_question_chars:
            raise too_long("the question", len(query), self.settings.max_question_chars,
                           "RUAI_MAX_QUESTION_CHARS")  # fmt: skip
        top_k = min(top_k, self.settings.max_top_k)
        started = time.perf_counter()

        async def encode_and_query() -> list[Hit]:
            dense, sparse = await self.encoder.encode.remote(query)
            return await self.retriever.search.remote(
                collection,
                tenant,
                dense if mode != "sparse" else None,
                sparse if mode != "dense" else None,
                top_k,
            )

        try:
            hits = await _within(encode_and_query(), self.settings.retrieval_timeout_s,
                                 "RUAI_RETRIEVAL_TIMEOUT_S")  # fmt: skip
        except Exception as exc:
            if isinstance(_cause(exc), CollectionNotFoundError):
                raise not_found(f"collection {collection!r} does not exist",
                                "collection_not_found") from exc  # fmt: skip
            raise unavailable("the vector store", _cause(exc)) from exc
        metrics().retrieval_latency.observe((time.perf_counter() - started) * 1000)
        return hits

    # --- endpoints ------------------------------------------------------------------------

    @app.get("/healthz")
    async def healthz(self) -> JSONResponse:
        checks: dict[str, str] = {}
        limit = self.settings.health_timeout_s
        try:
            await _within(self.retriever.check.remote(self.collections[0]), limit,
                          "RUAI_HEALTH_TIMEOUT_S")  # fmt: skip
            checks["store"] = "ok"
        except Exception as exc:
            checks["store"] = f"down: {_cause(exc)}"
        try:
            await _within(self.generator.ready(), limit, "RUAI_HEALTH_TIMEOUT_S")
            checks["generator"] = "ok"
        except Exception as exc:
            checks["generator"] = f"down: {_cause(exc)}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    @app.get("/v1/models")
    async def models(self, request: Request) -> dict[str, Any]:
        self._tenant(request)
        cards = [
            shapes.model_card(
                f"{RAG_PREFIX}{c}", "ruai", collection=c, generator=self.generator.kind
            )
            for c in self.collections
        ]
        if self._llm:
            cards.append(shapes.model_card(self.settings.llm_served_name, "ruai"))
        return {"object": "list", "data": cards}

    @app.post("/v1/search")
    async def search(self, body: SearchBody, request: Request) -> dict[str, Any]:
        tenant = self._tenant(request)
        collection = body.collection or self.collections[0]
        hits = await self._search(
            collection, tenant, body.query, body.top_k or self.settings.top_k, body.mode
        )
        return {
            "object": "list",
            "collection": collection,
            "data": [
                p.citation() | {"text": p.text} for p in passages_from_hits(hits)
            ],  # fmt: skip
        }

    @app.post("/v1/embeddings")
    async def embeddings(self, body: EmbeddingsBody, request: Request) -> dict[str, Any]:
        self._tenant(request)
        texts = body.texts()
        longest = max((len(t) for t in texts), default=0)
        if longest > self.settings.max_question_chars:
            raise too_long("an input", longest, self.settings.max_question_chars,
                           "RUAI_MAX_QUESTION_CHARS")  # fmt: skip
        if len(texts) > self.settings.max_top_k:
            raise too_long("the input list", len(texts), self.settings.max_top_k,
                           "RUAI_MAX_TOP_K")  # fmt: skip
        vectors, tokens = await self.encoder.embed.remote(texts)
        model = await self.encoder.dense_model.remote()
        return shapes.embeddings(model, vectors, tokens)

    @app.post("/v1/chat/completions")
    async def chat(self, body: ChatRequest, request: Request):
        tenant = self._tenant(request)
        if len(body.messages) > self.settings.max_request_messages:
            raise too_long("the message list", len(body.messages),
                           self.settings.max_request_messages,
                           "RUAI_MAX_REQUEST_MESSAGES")  # fmt: skip
        collection, adapter = self._route(body.model)
        generator = self.generator.with_adapter(adapter) if adapter else self.generator
        out = Generation()
        if collection is not None:
            question = body.question()
            if not question.strip():
                raise ApiError(400, "the last user message (the question) is empty",
                               "invalid_request_error", "empty_question")  # fmt: skip
            query = retrieval_query(((m.role, m.content) for m in body.messages),
                                    self.settings.followup_turns,
                                    self.settings.max_question_chars)  # fmt: skip
            hits = await self._search(collection, tenant, query, body.top_k or self.settings.top_k)
            deltas = generator.rag(question, passages_from_hits(hits), body.sampling(), out)
        else:
            total = sum(len(m.content) for m in body.messages)
            limit = self.settings.max_question_chars * self.settings.max_request_messages
            if total > limit:
                raise too_long("the conversation", total, limit, "RUAI_MAX_QUESTION_CHARS")
            messages = [m.model_dump() for m in body.messages]
            deltas = generator.chat(messages, body.sampling(), out)
        started = time.perf_counter()
        first = await self._first(deltas)
        metrics().ttft.observe((time.perf_counter() - started) * 1000,
                               tags={"generator": self.generator.kind})  # fmt: skip
        cid = shapes.completion_id()
        await record_response(self.settings, cid, tenant)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            stream = self._sse(cid, body.model, first, deltas, out, include_usage)
            return StreamingResponse(stream, media_type="text/event-stream")
        text = first + "".join([delta async for delta in deltas])
        self._count_tokens(out)
        usage = shapes.usage(out.prompt_tokens, out.completion_tokens)
        return shapes.chat_completion(cid, body.model, text, usage, _sources(out.passages))

    def _route(self, model: str) -> tuple[str | None, str | None]:
        """``rag-<collection>[:<adapter>]`` → (collection, adapter); the LLM's own name
        ``<llm_served_name>[:<adapter>]`` → (None, adapter), a plain chat. An adapter comes back
        only when the generator is vLLM with RUAI_LLM_LORA_PATH set."""
        name, colon, adapter = model.partition(":")
        if colon and not (adapter and self.settings.llm_lora_path and self._llm):
            raise not_found(
                f"model {model!r}: LoRA adapters are served with generator=vllm and "
                "RUAI_LLM_LORA_PATH set, as '<model>:<adapter>'",
                "model_not_found",
            )
        if name.startswith(RAG_PREFIX):
            return name[len(RAG_PREFIX) :], adapter or None
        if self._llm and name == self.settings.llm_served_name:
            return None, adapter or None
        raise not_found(
            f"model {model!r} does not exist; GET /v1/models lists them", "model_not_found"
        )

    @property
    def _llm(self) -> bool:
        return isinstance(self.generator, VLLMClient)

    # --- generation helpers ---------------------------------------------------------------

    async def _first(self, deltas: AsyncIterator[str]) -> str:
        """The first delta, before any byte is sent: a failing generator is a clean 503/4xx."""
        try:
            return await _within(anext(deltas, ""), self.settings.generator_timeout_s,
                                 "RUAI_GENERATOR_TIMEOUT_S")  # fmt: skip
        except GenerationError as exc:
            raise ApiError(exc.status, str(exc), "invalid_request_error"
                           if exc.status < 500 else "generator_error") from exc  # fmt: skip
        except ApiError:
            raise
        except Exception as exc:
            cause = _cause(exc)
            if getattr(cause, "status_code", None) == 404:  # LLMServer: no such LoRA adapter
                raise not_found(str(getattr(cause, "detail", cause)), "model_not_found") from exc
            raise unavailable("the generator", cause) from exc

    async def _sse(
        self,
        cid: str,
        model: str,
        first: str,
        deltas: AsyncIterator[str],
        out: Generation,
        include_usage: bool,
    ) -> AsyncIterator[str]:
        yield shapes.sse(shapes.chat_chunk(cid, model, {"role": "assistant", "content": first}))
        try:
            async for delta in deltas:
                yield shapes.sse(shapes.chat_chunk(cid, model, {"content": delta}))
        except Exception as exc:
            metrics().errors.inc(tags={"endpoint": "/v1/chat/completions", "kind": "stream"})
            yield shapes.sse({"error": {"message": str(_cause(exc)), "type": "generator_error"}})
            return
        finally:
            await deltas.aclose()
        self._count_tokens(out)
        yield shapes.sse(shapes.chat_chunk(cid, model, {}, "stop", _sources(out.passages)))
        if include_usage:
            usage = shapes.usage(out.prompt_tokens, out.completion_tokens)
            yield shapes.sse(shapes.chat_chunk(cid, model, None, extra={"usage": usage}))
        yield shapes.SSE_DONE

    def _count_tokens(self, out: Generation) -> None:
        metrics().observe_tokens(self.generator.kind, out.prompt_tokens, out.completion_tokens)
