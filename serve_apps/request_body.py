"""A request's body, read whole before the request takes an admission slot: at most
RUAI_MAX_REQUEST_BYTES (a declared Content-Length past it is refused before a byte is read, a body
that grows past it as it arrives is refused there), within RUAI_BODY_READ_TIMEOUT_S (a client that
sends a byte now and then is a 408, not a request that holds a slot). Then the app reads the body
from memory. A JSON escape of a lone surrogate (``\\ud800``), which Python decodes but no UTF-8
text can hold, is a 400 here, before it can fail deeper down as the server's error."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from serve_apps.errors import ApiError, invalid, too_long

Receive = Callable[[], Awaitable[dict[str, Any]]]
SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")


def _declared_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise invalid("Content-Length is not a number", "Content-Length",
                              "invalid_header") from None  # fmt: skip
    return None


async def _collect(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "the client closed the connection before sending the whole body",
                           "invalid_request_error", "client_disconnected")  # fmt: skip
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_long("the request body", size, limit, "RUAI_MAX_REQUEST_BYTES")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def read_body(scope: dict[str, Any], receive: Receive, limit: int, timeout_s: float) -> bytes:
    """The whole body, or an ApiError: 413 past ``limit`` bytes, 408 past ``timeout_s``, 400 for
    JSON that escapes a lone surrogate."""
    declared = _declared_length(scope)
    if declared is not None and declared > limit:
        raise too_long("the request body", declared, limit, "RUAI_MAX_REQUEST_BYTES")
    try:
        body = await asyncio.wait_for(_collect(receive, limit), timeout_s)
    except TimeoutError:
        raise ApiError(
            408, f"the request body did not arrive within {timeout_s:g} s "
            "(setting RUAI_BODY_READ_TIMEOUT_S)", "invalid_request_error", "request_timeout",
        ) from None  # fmt: skip
    if SURROGATE_ESCAPE.search(body):
        _refuse_lone_surrogates(body)
    return body


def _refuse_lone_surrogates(body: bytes) -> None:
    """Escaped surrogate pairs decode to one character; a lone half stays a surrogate, which
    encoding to UTF-8 refuses. Unparsable JSON is left to the app's own 4xx."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return
    try:
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise invalid(
            f"the body holds a lone UTF-16 surrogate ({exc.object[exc.start:exc.end]!a}), which "
            "is not text: send valid Unicode", None, "invalid_unicode",
        ) from None  # fmt: skip


def replayed(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body already read, then the client's later messages (a
    disconnect, which a streamed answer watches for)."""
    pending = True

    async def receive_again() -> dict[str, Any]:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
