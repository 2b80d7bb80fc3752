"""Agents against the deployed local application (the extractive generator, two tenants): an
Open WebUI-shaped session with tools."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.chat_app import MODEL

pytestmark = pytest.mark.integration

# what Open WebUI sends with native function calling: its tools on every chat
WEATHER = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}  # fmt: skip
TITLE_PROMPT = (
    "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n"
    "### Output:\nJSON format: { \"title\": \"your concise title here\" }\n"
    "### Chat History:\n<chat_history>\nUSER: Когда умер Никола Тесла?\nASSISTANT: {answer}\n"
    "</chat_history>"
)


def headers(key: str = "key-acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_an_open_webui_session_with_tools_is_answered(chat_served) -> None:
    base = chat_served["base"]
    models = httpx.get(f"{base}/v1/models", headers=headers(), timeout=60)
    assert models.status_code == 200 and MODEL in [m["id"] for m in models.json()["data"]]
    body = {
        "model": MODEL, "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Когда умер Никола Тесла?"}],
        "tools": [WEATHER], "tool_choice": "auto",
    }  # fmt: skip
    chunks = []
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, headers=headers(),
                      timeout=60) as response:  # fmt: skip
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(json.loads(line[6:]))
    answer = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "1943" in answer
    assert not any(c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"])
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    title = {"model": MODEL, "stream": False,
             "messages": [{"role": "user", "content": TITLE_PROMPT.replace("{answer}", answer)}]}
    titled = httpx.post(f"{base}/v1/chat/completions", json=title, headers=headers(), timeout=60)
    assert titled.status_code == 200, titled.text
    assert titled.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("choice", ["required", {"type": "function",
                                                 "function": {"name": "get_current_weather"}}])
def test_a_demanded_tool_call_is_400_from_a_model_that_cannot_call_tools(chat_served, choice):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Погода в Москве?"}],
            "tools": [WEATHER], "tool_choice": choice}  # fmt: skip
    response = httpx.post(f"{chat_served['base']}/v1/chat/completions", json=body,
                          headers=headers(), timeout=60)  # fmt: skip
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "tool_calls_unsupported" and error["param"] == "tool_choice"
    assert "cannot call tools" in error["message"]
