"""RagIngress: the HTTP API (FastAPI) over Search (encode + retrieve) → Generator.

The endpoints only wire the pieces: authentication (auth.py), model/collection routing
(routing.py), size limits (limits.py) and admission (admission.py), SSE framing (sse.py), the
OpenAI error shape (errors.py). Other routers may be added with ``app.include_router``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import Route

from ruai.conversations.retrieval_query import retrieval_query
from ruai.identity import Principal
from ruai.lifecycle.arms import Arm
from ruai.llm.passages import passages_from_hits
from ruai.settings import Settings
from ruai.store.base import CollectionNotFoundError, Hit
from serve_apps import experiments, sse
from serve_apps import openai_shapes as shapes
from serve_apps.admission import Admission
from serve_apps.agent_steps import router as agent_steps_router
from serve_apps.auth import Authenticator
from serve_apps.chat_routes import open_conversation_store, open_conversation_store_soon
from serve_apps.chat_routes import router as chat_router
from serve_apps.errors import ApiError, error_response, not_found, unavailable
from serve_apps.experiments import Arms, ArmsConfig
from serve_apps.generation import (
    ExtractiveClient,
    Generation,
    GenerationError,
    Generator,
    VLLMClient,
)
from serve_apps.limits import Limits
from serve_apps.mcp_server import MCP_PATH, McpEndpoint
from serve_apps.metrics import ServeMetrics, endpoint_label
from serve_apps.query_logging import QueryLogging
from serve_apps.request_body import read_body, replayed
from serve_apps.request_context import (
    Caller,
    Context,
    RequestContext,
    caller,
    request_context,
)
from serve_apps.routing import RAG_PREFIX, ModelRouter
from serve_apps.schemas import ChatRequest, EmbeddingsBody, SearchBody
from serve_apps.search_client import search_client
from serve_apps.stream_events import StreamEvent, TextDelta, answer_of
from serve_apps.upstream import cause, within

logger = logging.getLogger("ray.serve")
T = TypeVar("T")

# the schema answers callers the API answers (a route below); the interactive /docs pages load
# their scripts from a CDN, which an offline cluster cannot reach: off
app = FastAPI(title="ruai RAG API", openapi_url=None, docs_url=None, redoc_url=None)
app.include_router(chat_router)  # the chat UI at /, conversations, /v1/feedback
app.include_router(agent_steps_router)  # an agent's steps into the audit trail
# the platform's tools over MCP (streamable HTTP), as the caller's tenant
app.router.routes.append(Route(MCP_PATH, McpEndpoint(), methods=["GET", "POST", "DELETE"]))
UNADMITTED_PATHS = ("/healthz",)


@app.exception_handler(RequestValidationError)
async def _invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error_response(422, f"{where}: {first.get('msg', 'invalid request')}",
                          "invalid_request_error", "invalid_body")  # fmt: skip


@app.exception_handler(HTTPException)
async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """FastAPI's own errors (unparsable body, unknown path, wrong method) in OpenAI's shape."""
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    response = error_response(exc.status_code, str(exc.detail), kind, code)
    response.headers.update(exc.headers or {})
    return response


@app.exception_handler(ApiError)
async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return exc.response()


def library_logs_to_replica_log() -> None:
    """ruai's own log lines (a query-log or answer-record batch lost, among them) into the
    replica's log, beside Serve's, instead of the worker's stderr file."""
    serve_logger, library = logging.getLogger("ray.serve"), logging.getLogger("ruai")
    if not serve_logger.handlers:
        return
    library.setLevel(logging.INFO)
    for handler in serve_logger.handlers:
        if handler not in library.handlers:
            library.addHandler(handler)
    library.propagate = False


class AdmitAndObserve:
    """Admission, the request metrics, the arm's headers, its guardrail sample and the query
    log's row, as a plain ASGI middleware (Starlette's ``@app.middleware("http")`` wraps every
    response in a task and a memory stream: ~1-3 ms per request on 2 cores). A streamed answer
    holds its slot until its last event and is observed with its whole duration, except by the
    guardrail: an arm is slow when its headers (a stream's first token) are, not when its
    answers are long."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = 500
        ingress = scope["app"].state.ingress
        request = Request(scope)  # its state is the scope's: the endpoint's context is this one
        context = request_context(request)

        async def sent(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status, context.headers_at = message["status"], time.perf_counter()
                experiments.tag_headers(context, MutableHeaders(scope=message))
            await send(message)

        try:
            if scope["path"] in UNADMITTED_PATHS:
                await self.app(scope, receive, sent)
            else:
                # the body first: a slow or endless upload times out without holding a slot
                body = await read_body(scope, receive, ingress.settings.max_request_bytes,
                                       ingress.settings.body_read_timeout_s)  # fmt: skip
                async with ingress.admission.slot():
                    await self.app(scope, replayed(body, receive), sent)
        except ApiError as exc:
            await exc.response()(scope, receive, sent)
        finally:
            ended = time.perf_counter()
            elapsed_ms = (ended - context.started) * 1000
            ingress.metrics.observe_request(endpoint_label(scope), status, elapsed_ms,
                                            experiments.arm_label(context))  # fmt: skip
            ingress.arms.observe(context, status, (context.headers_at or ended) - context.started)
            ingress.query_log.observe(request, status, elapsed_ms)


app.add_middleware(AdmitAndObserve)


@serve.deployment(max_ongoing_requests=96, max_queued_requests=-1)
@serve.ingress(app)
class RagIngress:
    def __init__(
        self,
        settings: Settings,
        search: DeploymentHandle | None,
        generator: DeploymentHandle | None,
        collections: list[str],
        admission: tuple[int, int] = (32, 64),
    ) -> None:
        library_logs_to_replica_log()
        self.settings = settings
        self.retrieval = search_client(search, settings)
        self.generator: Generator = (
            VLLMClient(generator, settings)
            if settings.generator == "vllm"
            else ExtractiveClient(generator, settings)
        )
        self.router = ModelRouter(settings, collections, self.generator.serves_llm)
        self.auth = Authenticator(settings)
        self.limits = Limits(settings)
        self.arm_header_callers = frozenset(settings.arm_header_callers)
        self.admission = Admission(*admission)
        self.metrics = ServeMetrics()
        self.arms = Arms(self.metrics.guardrail_trips)
        self.query_log = QueryLogging(settings, open_conversation_store)
        open_conversation_store_soon(settings)
        # what the middleware, the chat routes and the MCP endpoint reach (``request_context``)
        app.state.ingress = self

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Serve's user_config: the experiments and guardrails, changed in place."""
        self.arms.configure(ArmsConfig.model_validate(user_config).check_serving(self.settings))
        logger.info("experiments: weights %s", self.arms.weights())

    def __del__(self) -> None:  # Serve calls it on a graceful replica shutdown: flush the log
        if hasattr(self, "query_log"):
            self.query_log.close()

    async def _search(
        self,
        collection: str,
        principal: Principal,
        query: str,
        top_k: int,
        mode: str = "hybrid",
        arm: Arm | None = None,
    ) -> list[Hit]:
        self.limits.check_question(query)
        top_k = self.limits.clamp_top_k(top_k)
        started = time.perf_counter()
        dense_weight = arm.dense_weight if arm else None
        call = self.retrieval.search(collection, principal.tenant, query, top_k, mode,
                                     dense_weight, principal.access_labels)  # fmt: skip
        hits = await self.retrieved(call, collection, arm)
        self.metrics.retrieval_latency.observe((time.perf_counter() - started) * 1000)
        return hits

    def _may_force_arm(self, principal: Principal) -> bool:
        """RUAI_ARM_HEADER_CALLERS names the caller's tenant or one of its roles."""
        return not self.arm_header_callers.isdisjoint({principal.tenant, *principal.roles})

    async def retrieved(
        self, call: Awaitable[T], collection: str | None = None, arm: Arm | None = None
    ) -> T:
        """A call to search (or its encoder) within RUAI_RETRIEVAL_TIMEOUT_S; a missing
        collection is a 404 (a 503 when an arm names it), anything else a 503."""
        try:
            return await within(call, self.settings.retrieval_timeout_s,
                                "RUAI_RETRIEVAL_TIMEOUT_S")  # fmt: skip
        except ApiError:
            raise
        except Exception as exc:
            missing = isinstance(cause(exc), CollectionNotFoundError)
            if missing and arm and arm.collection:
                raise unavailable(f"arm {arm.name!r}'s collection {collection!r}",
                                  cause(exc)) from exc  # fmt: skip
            if missing:
                raise not_found(f"collection {collection!r} does not exist",
                                "collection_not_found") from exc  # fmt: skip
            raise unavailable("the vector store", cause(exc)) from exc

    # --- endpoints ------------------------------------------------------------------------

    @app.get("/healthz")
    async def healthz(self) -> JSONResponse:
        checks: dict[str, str] = {}
        limit = self.settings.health_timeout_s
        try:
            await within(self.retrieval.check(self.router.collections[0]), limit,
                         "RUAI_HEALTH_TIMEOUT_S")  # fmt: skip
            checks["store"] = "ok"
        except Exception as exc:
            checks["store"] = f"down: {cause(exc)}"
        try:
            await within(self.generator.ready(), limit, "RUAI_HEALTH_TIMEOUT_S")
            checks["generator"] = "ok"
        except Exception as exc:
            checks["generator"] = f"down: {cause(exc)}"
        ready = all(v == "ok" for v in checks.values())
        if ready:
            return JSONResponse({"ready": True, **checks})
        return JSONResponse({"ready": False, **checks}, status_code=503,
                            headers={"Retry-After": "1"})  # fmt: skip

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(caller)])
    async def openapi(self) -> dict[str, Any]:
        return app.openapi()

    @app.get("/v1/models", dependencies=[Depends(caller)])
    async def models(self) -> dict[str, Any]:
        kind = self.generator.kind
        cards = [
            shapes.model_card(model, "ruai", collection=collection, generator=kind)
            for model, collection in self.router.rag_models()
        ]
        if self.generator.serves_llm:
            cards.append(shapes.model_card(self.settings.llm_served_name, "ruai"))
        return {"object": "list", "data": cards}

    @app.post("/v1/search")
    async def search(
        self, body: SearchBody, request: Request, principal: Caller, context: Context
    ) -> dict[str, Any]:
        collection = self.router.collection(body.collection or self.router.collections[0])
        arm = self.arms.assign(request, f"{RAG_PREFIX}{collection}",
                               may_force=self._may_force_arm(principal))  # fmt: skip
        collection = experiments.collection(collection, arm)
        top_k = experiments.top_k(body.top_k, arm, self.settings.top_k)
        context.note(tenant=principal.tenant, principal=principal, question=body.query,
                     collection=collection)  # fmt: skip
        hits = await self._search(collection, principal, body.query, top_k, body.mode, arm)
        context.note(hits=hits)
        data = [p.citation() | {"text": p.text} for p in passages_from_hits(hits)]
        return {"object": "list", "collection": collection, "data": data,
                **experiments.body_fields(context)}  # fmt: skip

    @app.post("/v1/embeddings", dependencies=[Depends(caller)])
    async def embeddings(self, body: EmbeddingsBody) -> dict[str, Any]:
        texts = body.texts()
        self.limits.check_embedding_inputs(texts)
        vectors, tokens = await self.retrieved(self.retrieval.embed(texts))
        model = await self.retrieved(self.retrieval.dense_model())
        return shapes.embeddings(model, vectors, tokens)

    @app.post("/v1/chat/completions")
    async def chat(self, body: ChatRequest, request: Request, principal: Caller, context: Context):
        body.check_supported(self.generator.calls_tools)
        texts = body.texts()
        self.limits.check_messages(texts)
        self.limits.check_conversation(texts)
        arm = self.arms.assign(request, body.model, body.user,
                               may_force=self._may_force_arm(principal))  # fmt: skip
        route = experiments.routed(self.router.route(body.model), arm)
        generator = self.generator.with_adapter(route.adapter) if route.adapter else self.generator
        context.note(tenant=principal.tenant, principal=principal, question=body.question(),
                     collection=route.collection, adapter=route.adapter,
                     llm_model=self.query_log.llm_model)  # fmt: skip
        out = Generation()
        options = body.sampling() | body.tool_options()  # a RAG model offers the tools too
        if route.collection is not None:
            question = body.question()
            if not question.strip():
                raise ApiError(400, "the last user message (the question) is empty",
                               "invalid_request_error", "empty_question")  # fmt: skip
            query = retrieval_query(((m["role"], m["content"]) for m in body.plain_messages()),
                                    self.settings.followup_turns,
                                    self.settings.max_question_chars)  # fmt: skip
            top_k = experiments.top_k(body.top_k, arm, self.settings.top_k)
            hits = await self._search(route.collection, principal, query, top_k, arm=arm)
            context.note(hits=hits)
            events = generator.rag(question, passages_from_hits(hits), options, out,
                                   body.after_question())  # fmt: skip
        else:
            events = generator.chat(body.llm_messages(), options, out)
        started = time.perf_counter()
        first = await self._first(events)
        first_at = time.perf_counter()
        self.metrics.ttft.observe((first_at - started) * 1000,
                                  tags={"generator": self.generator.kind,
                                        "arm": experiments.arm_label(context)})  # fmt: skip
        context.note(ttft_ms=(first_at - context.started) * 1000)  # since the request came
        # a stream of vLLM's frames keeps their id; the others get one here
        upstream_id = body.stream and first.frame is not None
        cid = sse.decoded(first.frame)["id"] if upstream_id else shapes.completion_id()
        self.query_log.answered(request, cid)  # queued: feedback's record, the log's response id
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                sse.chat_stream(cid, body.model, first, events, out, include_usage,
                                on_done=lambda: self._answered(context, out),
                                on_error=self._stream_error,
                                final=experiments.body_fields(context)),
                media_type="text/event-stream",
            )  # fmt: skip
        with self._generation_errors():
            rest = [event async for event in events]
        text, finish, calls = answer_of([first, *rest])
        self._answered(context, out)
        usage = shapes.usage(out.prompt_tokens, out.completion_tokens)
        sources = {"sources": [p.citation() for p in out.passages]}
        extra = sources | experiments.body_fields(context)
        return shapes.chat_completion(cid, body.model, text, usage, extra, finish, calls)

    # --- generation helpers ---------------------------------------------------------------

    async def _first(self, events: AsyncIterator[StreamEvent]) -> StreamEvent:
        """The first event, before any byte is sent: a failing generator is a clean 503/4xx."""
        with self._generation_errors():
            return await within(anext(events, TextDelta()), self.settings.generator_timeout_s,
                                "RUAI_GENERATOR_TIMEOUT_S")  # fmt: skip

    @contextmanager
    def _generation_errors(self) -> Iterator[None]:
        """A generator's failure before the response starts as OpenAI's error body: its own
        refusal with its status, a missing adapter 404, anything else 503."""
        try:
            yield
        except GenerationError as exc:
            raise ApiError(exc.status, str(exc), "invalid_request_error"
                           if exc.status < 500 else "generator_error") from exc  # fmt: skip
        except ApiError:
            raise
        except Exception as exc:
            if getattr(cause(exc), "status_code", None) == 404:  # LLMServer: no such adapter
                detail = getattr(cause(exc), "detail", cause(exc))
                raise not_found(str(detail), "model_not_found") from exc
            raise unavailable("the generator", cause(exc)) from exc

    def _stream_error(self, exc: BaseException) -> str:
        self.metrics.errors.inc(tags={"endpoint": "/v1/chat/completions", "kind": "stream"})
        return str(cause(exc))

    def _answered(self, context: RequestContext, out: Generation) -> None:
        """An answer's end: its tokens counted, the sources it showed noted for the audit."""
        self._count_tokens(out)
        context.note(cited=out.passages)

    def _count_tokens(self, out: Generation) -> None:
        self.metrics.observe_tokens(self.generator.kind, out.prompt_tokens, out.completion_tokens)
