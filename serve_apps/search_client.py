"""How the ingress reaches search: the ``Search`` deployment through its handle (one process hop;
the GPU profile, where encoding batches on the encoder's GPU fraction), or a ``SearchService``
in the ingress's own process (``search_in_ingress``: the local profile, where the navec encoder
costs ~0.3 ms and the hop ~4 ms). Both answer the same awaited calls."""

from __future__ import annotations

import inspect
from typing import Any

from ray.serve.handle import DeploymentHandle

from raystore.forwarding import forwards
from ruai.settings import Settings
from serve_apps.search import SearchService

# the awaited calls of SearchService (search, document, readable, check, embed, dense_model)
SEARCH_CALLS = tuple(
    name
    for name, value in vars(SearchService).items()
    if inspect.iscoroutinefunction(value) and not name.startswith("_")
)


async def _through_the_handle(search: HandleSearch, name: str, args: tuple, kwargs: dict) -> Any:
    return await getattr(search.handle, name).remote(*args, **kwargs)


@forwards(SearchService, SEARCH_CALLS, _through_the_handle)
class HandleSearch:
    """The ``Search`` deployment, called through its handle: each of SearchService's awaited
    calls, forwarded with its signature (raystore/forwarding.py)."""

    def __init__(self, handle: DeploymentHandle) -> None:
        self.handle = handle


SearchClient = SearchService | HandleSearch


def search_client(search: DeploymentHandle | None, settings: Settings) -> SearchClient:
    """The handle's deployment, or (no handle: ``search_in_ingress``) search in this process."""
    return SearchService(settings) if search is None else HandleSearch(search)
