"""The chat UI's routes on the RAG ingress: the static interface at ``/``, conversations per
owner (a signed-in subject or an API key), ``/v1/feedback`` on one's own answers, and a cited
chunk within its document.

The routes are plain functions on an APIRouter that the ingress includes; they get the caller
and the replica's RagIngress (its settings, routing and retrieval) through the dependencies of
``request_context``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from ruai.conversations import (
    ConversationNotFoundError,
    ConversationStore,
    ResponseNotFoundError,
    owner_id,
)
from ruai.conversations.database import DatabaseUnavailableError
from ruai.identity import Principal
from ruai.ingest.documents import doc_id_for
from ruai.settings import Settings
from serve_apps.chat_schemas import ContextBody, FeedbackBody, NewConversation, NewMessage, Rename
from serve_apps.errors import ApiError, not_found, unavailable
from serve_apps.query_logging import note
from serve_apps.request_context import Caller, Ingress, request_context
from serve_apps.upstream import UpstreamTimeoutError, within

logger = logging.getLogger("ray.serve")
STATIC = Path(__file__).resolve().parent / "static"
# the UI's files: a fixed list, so that no path from a request ever reaches the file system
UI_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
# what a saved answer shows once a document it quotes is no longer readable by the caller
WITHHELD = "Ответ скрыт: он цитирует документ, который вам больше недоступен."
T = TypeVar("T")

router = APIRouter()
_store: ConversationStore | None = None
_store_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def open_conversation_store(settings: Settings) -> ConversationStore:
    """The replica's store, opened (and migrated) on first use; blocking (the answer recorder's
    thread calls it directly, the routes through ``conversation_store``)."""
    global _store
    with _store_lock:
        if _store is None:
            _store = ConversationStore.from_settings(settings)
        return _store


def open_conversation_store_soon(settings: Settings) -> None:
    """Open (and migrate) the replica's store on a database thread now, so that the first
    request does not wait for the connection and the schema; a failure is logged and the first
    request tries again."""

    def open_now() -> None:
        try:
            open_conversation_store(settings)
        except Exception:
            logger.warning("the conversation store did not open at start-up", exc_info=True)

    _database_threads(settings).submit(open_now)


async def conversation_store(settings: Settings) -> ConversationStore:
    return await _call(settings, open_conversation_store, settings)


def _database_threads(settings: Settings) -> ThreadPoolExecutor:
    """The replica's threads for conversation-store calls, apart from asyncio's default pool
    (which search and the answerer use): a hung database holds these, nothing else."""
    global _executor
    with _store_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(settings.conversations_threads,
                                           thread_name_prefix="conversations")  # fmt: skip
        return _executor


async def _call(settings: Settings, function: Callable[..., T], *args: Any) -> T:
    """A store call on the database threads within RUAI_CONVERSATIONS_TIMEOUT_S (a call still
    queued then never runs), with the store's errors as API errors."""
    loop = asyncio.get_running_loop()
    call = loop.run_in_executor(_database_threads(settings), partial(function, *args))
    try:
        return await within(call, settings.conversations_timeout_s, "RUAI_CONVERSATIONS_TIMEOUT_S")
    except UpstreamTimeoutError as exc:
        raise unavailable("the conversation store", exc) from exc
    except ConversationNotFoundError as exc:
        raise not_found(str(exc), "conversation_not_found") from exc
    except ResponseNotFoundError as exc:
        raise not_found(str(exc), "response_not_found") from exc
    except DatabaseUnavailableError as exc:
        raise unavailable("the conversation store", exc) from exc


class Owner:
    """Who is asking: the Principal (the ingress's own auth), its tenant, and whose
    conversations it holds (``owner_id``)."""

    def __init__(self, request: Request, ingress: Any, principal: Principal) -> None:
        self.request = request
        self.ingress = ingress
        self.principal = principal
        self.tenant = principal.tenant
        self.key_id = owner_id(principal, request_context(request).credential)

    async def store(self) -> ConversationStore:
        return await conversation_store(self.ingress.settings)

    async def call(self, method: Callable[..., T], *args: Any) -> T:
        """``method`` of the conversation store (``ConversationStore.list``, …) on this
        owner's conversations: called with the store, the tenant, the owner and ``args``."""
        store = await self.store()
        return await _call(self.ingress.settings, method, store, self.tenant, self.key_id, *args)


def _owner(request: Request, ingress: Ingress, principal: Caller) -> Owner:
    return Owner(request, ingress, principal)


AskedBy = Annotated[Owner, Depends(_owner)]


# --- the interface ------------------------------------------------------------------------


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@router.get("/ui/config.json", include_in_schema=False)
async def ui_config(ingress: Ingress) -> dict[str, Any]:
    """How the page signs people in: the provider and public client (PKCE), and whether the
    API-key form is offered."""
    settings: Settings = ingress.settings
    oidc = None
    if settings.oidc_issuer and settings.oidc_ui_client_id:
        oidc = {"issuer": settings.oidc_issuer, "client_id": settings.oidc_ui_client_id,
                "scope": settings.oidc_ui_scope}  # fmt: skip
    return {"oidc": oidc, "api_key_form": settings.ui_api_key_form or oidc is None}


@router.get("/ui/{name}", include_in_schema=False)
async def ui_file(name: str) -> FileResponse:
    if name not in UI_FILES:
        raise not_found(f"no UI file {name!r}", "not_found")
    return FileResponse(STATIC / name, media_type=f"{UI_FILES[name]}; charset=utf-8")


# --- conversations ------------------------------------------------------------------------


@router.get("/v1/conversations")
async def list_conversations(owner: AskedBy) -> dict[str, Any]:
    conversations = await owner.call(ConversationStore.list)
    return {"object": "list", "data": [c.to_dict() for c in conversations]}


@router.post("/v1/conversations")
async def create_conversation(body: NewConversation, owner: AskedBy) -> dict[str, Any]:
    return (await owner.call(ConversationStore.create, body.title, body.model)).to_dict()


@router.get("/v1/conversations/{conversation_id}")
async def get_conversation(conversation_id: str, owner: AskedBy) -> dict[str, Any]:
    conversation = await owner.call(ConversationStore.get, conversation_id)
    messages = [m.to_dict() for m in await owner.call(ConversationStore.messages, conversation_id)]
    await _withhold_unreadable(owner, messages)
    return conversation.to_dict() | {"messages": messages}


def _doc_id(source: dict[str, Any], tenant: str) -> str:
    return doc_id_for(str(source.get("source", "")), tenant)


async def _withhold_unreadable(owner: Owner, messages: list[dict[str, Any]]) -> None:
    """A saved answer citing a document the caller may no longer read (its access changed, or
    it is gone) keeps neither its text nor that source's snippet: both quote the document."""
    ingress = owner.ingress
    wanted: dict[str, set[str]] = {}  # collection -> doc ids the answers cite
    cited: list[tuple[dict[str, Any], str, list[dict[str, Any]]]] = []
    for message in messages:
        sources = [s for s in message["meta"].get("sources") or [] if isinstance(s, dict)]
        if message["role"] != "assistant" or not sources:
            continue
        try:
            collection = ingress.router.route(str(message["meta"].get("model", ""))).collection
        except ApiError:
            collection = None
        collection = collection or ingress.router.collections[0]
        wanted.setdefault(collection, set()).update(_doc_id(s, owner.tenant) for s in sources)
        cited.append((message, collection, sources))
    readable: dict[str, set[str]] = {}
    for collection, doc_ids in wanted.items():
        call = ingress.retrieval.readable(collection, owner.tenant, sorted(doc_ids),
                                          owner.principal.access_labels)  # fmt: skip
        readable[collection] = set(await ingress.retrieved(call, collection))
    for message, collection, sources in cited:
        visible = readable[collection]
        hidden = [s for s in sources if _doc_id(s, owner.tenant) not in visible]
        if not hidden:
            continue
        message["content"] = WITHHELD
        message["meta"]["sources"] = [
            {"n": s.get("n"), "source": s.get("source"), "withheld": True} if s in hidden else s
            for s in sources
        ]
        message["meta"]["withheld"] = [s.get("source") for s in hidden]


@router.patch("/v1/conversations/{conversation_id}")
async def rename_conversation(conversation_id: str, body: Rename, owner: AskedBy) -> dict[str, Any]:
    return (await owner.call(ConversationStore.rename, conversation_id, body.title)).to_dict()


@router.delete("/v1/conversations/{conversation_id}")
async def delete_conversation(conversation_id: str, owner: AskedBy) -> dict[str, Any]:
    await owner.call(ConversationStore.delete, conversation_id)
    return {"id": conversation_id, "deleted": True}


@router.post("/v1/conversations/{conversation_id}/messages")
async def add_message(conversation_id: str, body: NewMessage, owner: AskedBy) -> dict[str, Any]:
    message = await owner.call(ConversationStore.add_message, conversation_id, body.role,
                               body.content, body.meta)  # fmt: skip
    return message.to_dict()


# --- feedback -----------------------------------------------------------------------------


@router.post("/v1/feedback")
async def feedback(body: FeedbackBody, owner: AskedBy) -> dict[str, Any]:
    query_log = owner.ingress.query_log
    # an answer still being recorded: waited for within the call's own timeout
    waited_s = owner.ingress.settings.conversations_timeout_s / 2
    settings = owner.ingress.settings
    await _call(settings, query_log.settle, body.response_id, waited_s)
    store = await owner.store()
    answer = await _call(settings, store.add_feedback, owner.tenant, body.response_id,
                         body.rating, body.comment, body.source, owner.key_id)  # fmt: skip
    query_log.count_feedback(answer, body.rating)
    return {"response_id": body.response_id, "rating": body.rating, "stored": True}


# --- a cited chunk in its document --------------------------------------------------------


@router.post("/v1/context")
async def chunk_in_context(body: ContextBody, owner: AskedBy) -> dict[str, Any]:
    """The tenant's document that holds the cited chunk, as its chunks in order (the cited one
    flagged): the document id is derived from (source, tenant), so another tenant's document
    is never reachable."""
    collection = owner.ingress.router.route(body.model).collection
    if collection is None:
        raise not_found(f"model {body.model!r} answers without documents", "model_not_found")
    return await document_context(owner.ingress, owner.principal, collection, body.source,
                                  body.chunk_id, body.query, owner.request)  # fmt: skip


async def document_context(
    ingress: Any, principal: Principal, collection: str, source: str, chunk_id: str, query: str,
    request: Request | None = None,
) -> dict[str, Any]:
    """The chunks of the caller's document ``source`` that it may read, in order, ``chunk_id``
    flagged cited (a 404 when there is no such chunk for it), noted on ``request`` for the query
    log; also the MCP server's read_document."""
    tenant = principal.tenant
    call = ingress.retrieval.document(
        collection, tenant, doc_id_for(source, tenant), query,
        ingress.settings.context_max_chunks, principal.access_labels,
    )  # fmt: skip
    hits = await ingress.retrieved(call, collection)
    if request is not None:
        note(request, tenant=tenant, principal=principal, question=query,
             collection=collection, hits=hits)  # fmt: skip
    if not any(hit.id == chunk_id for hit in hits):
        raise not_found("no such chunk in the documents you may read", "chunk_not_found")
    return {
        "source": source,
        "title": str(hits[0].payload.get("title") or ""),
        "chunks": [
            {"chunk_id": hit.id, "text": str(hit.payload.get("text", "")),
             "cited": hit.id == chunk_id}
            for hit in hits
        ],
    }  # fmt: skip
