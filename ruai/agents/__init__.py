"""Agents: the platform's tools as typed definitions (one set for the chat API's clients, the MCP
server and agent jobs) and a small agent loop (a chat model + tools + step and time budgets)."""
