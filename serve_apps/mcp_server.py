"""The platform's tools over MCP: streamable HTTP at ``/mcp`` on the RAG ingress, with the
official SDK's low-level server. Stateless (each request stands alone, JSON responses), so that
any ingress replica answers any request; the caller is authenticated like every API request and
each tool runs as the caller (``caller``): its tenant, and the documents its groups and roles
may read."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import mcp.types as types
from fastapi import Request
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from ruai.agents.platform_tools import platform_tools
from ruai.agents.tools import ToolArgumentsError
from serve_apps.agent_platform import IngressPlatform
from serve_apps.errors import ApiError
from serve_apps.query_logging import note
from serve_apps.request_context import caller, ingress, request_context

logger = logging.getLogger("ray.serve")
MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Поиск и ответы по документам платформы ruai (документы на русском языке). Начните с "
    "search_documents; read_document показывает найденный фрагмент в его документе; ask даёт "
    "ответ со ссылками на источники."
)
# the listing needs no platform: the tools' names, descriptions and schemas only
LISTED = [
    types.Tool(name=tool.name, description=tool.description, input_schema=tool.parameters)
    for tool in platform_tools(None)  # type: ignore[arg-type]
]
LOOPBACK = TransportSecuritySettings(
    enable_dns_rebinding_protection=True,
    allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
    allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
)


async def _list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=LISTED)


async def _call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    """The tool's result; the call (tool, arguments, result size or error) is noted on the
    request for the query log's audit record, with what the tool searched."""
    principal = request_context(ctx.request).principal
    arguments = json.dumps(params.arguments or {}, ensure_ascii=False)
    note(ctx.request, tenant=principal.tenant, principal=principal, tool=params.name,
         tool_arguments=arguments)  # fmt: skip
    platform = IngressPlatform(ingress(ctx.request), principal, ctx.request)
    tools = {tool.name: tool for tool in platform_tools(platform)}
    tool = tools.get(params.name)
    if tool is None:
        return _error(ctx.request, f"no tool {params.name!r}; tools: {sorted(tools)}")
    try:
        result = await tool.call(params.arguments or {})
    except ToolArgumentsError as exc:
        return _error(ctx.request, str(exc))
    except ApiError as exc:  # a missing collection or chunk, a limit, a store that is down
        return _error(ctx.request, exc.message)
    text = json.dumps(result, ensure_ascii=False)
    note(ctx.request, result_chars=len(text))
    logger.info("mcp tool %s tenant=%s arguments=%d chars result=%d chars", params.name,
                principal.tenant, len(arguments), len(text))  # fmt: skip
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                structured_content=result)  # fmt: skip


def _error(request: Request, message: str) -> types.CallToolResult:
    """A tool's failure as its result, so that the model reads it and may correct itself."""
    note(request, error=message)
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)],
                                is_error=True)  # fmt: skip


class McpEndpoint:
    """The ASGI endpoint at ``/mcp``: authenticates, then hands the request to the SDK's session
    manager, started on the replica's event loop with the first request."""

    def __init__(self) -> None:
        self.server = Server("ruai", version="0.1.0", instructions=INSTRUCTIONS,
                             on_list_tools=_list_tools, on_call_tool=_call_tool)  # fmt: skip
        self.manager: StreamableHTTPSessionManager | None = None
        self._ready: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        request = Request(scope)
        try:
            await caller(request)  # kept on the request's context, which the tools read
        except ApiError as exc:
            await exc.response()(scope, receive, send)
            return
        manager = await self._running(ingress(request).auth.open)
        await manager.handle_request(scope, receive, send)

    async def _running(self, loopback_only: bool) -> StreamableHTTPSessionManager:
        """``loopback_only``: without API keys only this machine may call: other hosts are
        refused (DNS rebinding)."""
        if self._ready is None:
            self._ready = asyncio.Event()
            self.manager = StreamableHTTPSessionManager(
                app=self.server, json_response=True, stateless=True,
                security_settings=LOOPBACK if loopback_only else None,
            )  # fmt: skip
            self._task = asyncio.get_running_loop().create_task(self._serve(self.manager))
        await self._ready.wait()
        return self.manager

    async def _serve(self, manager: StreamableHTTPSessionManager) -> None:
        async with manager.run():
            self._ready.set()
            await asyncio.Event().wait()  # for the replica's lifetime
