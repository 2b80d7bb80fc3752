"""A tool: name, description, the JSON schema of its arguments and the async function that runs
it. The same definition is offered to a model (OpenAI's ``tools`` entry), listed by the MCP
server and called by the agent loop; arguments are validated against the schema first."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jsonschema


class ToolArgumentsError(ValueError):
    """The arguments do not match the tool's schema (the message says where)."""


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments (an object)
    run: Callable[..., Awaitable[Any]]  # async, keyword arguments; returns JSON-able data

    def openai_spec(self) -> dict[str, Any]:
        """The tool as an OpenAI chat request's ``tools`` entry."""
        return {"type": "function", "function": {"name": self.name,
                "description": self.description, "parameters": self.parameters}}  # fmt: skip

    def check(self, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.validate(arguments, self.parameters)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "arguments"
            raise ToolArgumentsError(f"{self.name}: {where}: {exc.message}") from exc
        return arguments

    async def call(self, arguments: dict[str, Any] | str) -> Any:
        """The tool run with ``arguments`` (a dict, or the JSON a model wrote)."""
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except json.JSONDecodeError as exc:
                raise ToolArgumentsError(f"{self.name}: arguments are not JSON: {exc}") from exc
        if not isinstance(arguments, dict):
            raise ToolArgumentsError(f"{self.name}: arguments must be a JSON object")
        return await self.run(**self.check(arguments))
