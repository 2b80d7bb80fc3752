"""One request's own state on the ingress, in one typed object: the credential it sent (parsed
once), who it is (the Principal, once authenticated), its A/B arm, its timings and what its
endpoint noted for the query log. The middleware (``AdmitAndObserve``) starts it on the request's
scope; routes get it, and the caller, through the FastAPI dependencies ``Context`` and
``Caller``, and the replica's RagIngress through ``Ingress``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import Headers

from ruai.identity import Principal


def bearer(headers: Headers) -> str | None:
    """The token or API key of ``Authorization: Bearer …``."""
    header = headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


@dataclass(slots=True)
class RequestContext:
    credential: str | None  # as sent; the Authenticator turns it into ``principal``
    started: float = field(default_factory=time.perf_counter)  # when the request came
    principal: Principal | None = None
    experiment: str = ""  # "" outside any experiment
    arm: str = ""
    headers_at: float | None = None  # when the response's headers (a stream's first token) went
    log: dict[str, Any] | None = None  # the query log's entry; None: nothing noted, not logged

    @property
    def tenant(self) -> str | None:
        return self.principal.tenant if self.principal else None

    @property
    def groups(self) -> frozenset[str]:
        """What the caller may read by (its groups and roles)."""
        return self.principal.access_labels if self.principal else frozenset()

    def note(self, **fields: Any) -> None:
        """Add ``fields`` to the query log's entry (later notes win)."""
        if self.log is None:
            self.log = {}
        self.log.update(fields)


def request_context(request: Request) -> RequestContext:
    """The request's context: the one the middleware started, or (a request that did not pass
    it) one started now."""
    context = getattr(request.state, "context", None)
    if context is None:
        request.state.context = context = RequestContext(bearer(request.headers))
    return context


def ingress(request: Request) -> Any:
    """This replica's RagIngress, which its constructor puts on the app's state."""
    return request.app.state.ingress


async def caller(request: Request) -> Principal:
    """Who calls (a 401/403 ApiError otherwise), authenticated once per request."""
    return await ingress(request).auth.principal(request)


Context = Annotated[RequestContext, Depends(request_context)]
Caller = Annotated[Principal, Depends(caller)]
Ingress = Annotated[Any, Depends(ingress)]
