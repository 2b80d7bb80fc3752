"""The ingress's side of generation: one async stream of typed events (``stream_events``) and a
usage count, whether the answer comes from the extractive deployment (its text, framed by the
ingress) or from the vLLM LLMServer (vLLM's own SSE frames, kept for pass-through)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ray.serve.handle import DeploymentHandle

from ruai.llm.context_fit import ChatTemplate, PromptTooLongError, fit_rag_messages
from ruai.llm.model_path import llm_model_path
from ruai.llm.passages import Passage
from ruai.llm.prompts import Message
from ruai.llm.sampling import with_sampling_defaults
from ruai.settings import Settings
from ruai.text.chunking import count_words
from serve_apps.stream_events import Finish, GenerationError, StreamEvent, TextDelta, Usage
from serve_apps.vllm_stream import VLLMStream


@dataclass(slots=True)
class Generation:
    """Filled while the deltas stream: the passages actually shown and the token counts."""

    passages: list[Passage] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""  # the model name in the generator's upstream frames (vLLM's)


class Generator(Protocol):
    """Everything the ingress asks of a generator."""

    kind: str
    serves_llm: bool  # answers plain chats under settings.llm_served_name, and LoRA adapters
    calls_tools: bool  # False: answers with text only (tool_choice "auto"/"none" only)

    def rag(
        self,
        question: str,
        passages: list[Passage],
        sampling: dict[str, Any],
        out: Generation,
        followup: Sequence[Message] = (),
    ) -> AsyncIterator[StreamEvent]:
        """An answer from ``passages``, ending with ``Finish`` and ``Usage``; fills ``out`` as
        it streams.
        ``sampling``: sampling values and the client's tools (``ChatRequest.tool_options``);
        ``followup``: the tool calls and results after the question."""

    def chat(
        self, messages: list[Message], sampling: dict[str, Any], out: Generation
    ) -> AsyncIterator[StreamEvent]:
        """A plain chat, as ``rag``'s (``serves_llm`` generators only)."""

    def with_adapter(self, adapter: str) -> Generator:
        """This generator answering with a LoRA adapter (``serves_llm`` generators only)."""

    async def ready(self) -> None:
        """Returns when the generator answers; raises when it is down."""


class ExtractiveClient:
    """The extractive deployment through its handle, or (no handle: ``generator_in_ingress``)
    an ``ExtractiveService`` in the ingress's own process, run in a thread so that the event
    loop keeps serving while a sentence is picked."""

    kind = "extractive"
    serves_llm = False
    calls_tools = False

    def __init__(self, handle: DeploymentHandle | None, settings: Settings) -> None:
        self.handle = handle
        self.local = None
        if handle is None:
            from serve_apps.extractive import ExtractiveService

            self.local = ExtractiveService(settings)

    async def _answer(self, question: str, passages: list[Passage]) -> str:
        if self.local is not None:
            return await asyncio.to_thread(self.local.answer, question, passages)
        return await self.handle.answer.remote(question, passages)

    async def rag(
        self,
        question: str,
        passages: list[Passage],
        sampling: dict[str, Any],
        out: Generation,
        followup: Sequence[Message] = (),
    ) -> AsyncIterator[StreamEvent]:
        out.passages = passages
        out.prompt_tokens = count_words(question) + sum(count_words(p.text) for p in passages)
        text = await self._answer(question, passages)
        out.completion_tokens = count_words(text)
        yield TextDelta(text)
        yield Finish()
        yield Usage(out.prompt_tokens, out.completion_tokens)

    async def chat(
        self, messages: list[Message], sampling: dict[str, Any], out: Generation
    ) -> AsyncIterator[StreamEvent]:
        raise GenerationError("the extractive generator answers RAG requests only", 404)
        yield Finish()  # an async generator, like every Generator's chat

    def with_adapter(self, adapter: str) -> ExtractiveClient:
        raise GenerationError("the extractive generator has no LoRA adapters", 404)

    async def ready(self) -> None:
        await self._answer("", [])


class VLLMClient:
    """Calls ray.serve.llm's LLMServer.chat through its handle (always streaming); its frames
    come out as typed events (``VLLMStream``)."""

    kind = "vllm"
    serves_llm = True
    calls_tools = True

    def __init__(self, handle: DeploymentHandle, settings: Settings) -> None:
        self.handle = handle.options(stream=True)
        self.settings = settings
        self.model = settings.llm_served_name
        self.template = ChatTemplate.from_pretrained(llm_model_path(settings))

    def with_adapter(self, adapter: str) -> VLLMClient:
        """This client answering with a LoRA folder under RUAI_LLM_LORA_PATH: Serve's model
        multiplexing sends its requests to a replica that has the adapter loaded, or loads it."""
        client = copy.copy(self)
        client.model = f"{self.settings.llm_served_name}:{adapter}"
        client.handle = self.handle.options(multiplexed_model_id=client.model)
        return client

    async def rag(
        self,
        question: str,
        passages: list[Passage],
        sampling: dict[str, Any],
        out: Generation,
        followup: Sequence[Message] = (),
    ) -> AsyncIterator[StreamEvent]:
        sampling = with_sampling_defaults(self.settings, sampling)
        budget = self.settings.max_model_len - sampling["max_tokens"]
        if budget <= 0:
            raise GenerationError(
                f"max_tokens {sampling['max_tokens']} leaves no room for the prompt in the "
                f"model's {self.settings.max_model_len}-token context (RUAI_MAX_MODEL_LEN)"
            )
        # tokenizing is CPU work: off the ingress's event loop
        try:
            messages, out.passages = await asyncio.to_thread(
                fit_rag_messages,
                self.settings.llm_system_prompt, question, passages, self.template, budget,
                followup, sampling.get("tools"),
            )  # fmt: skip
        except PromptTooLongError as exc:
            raise GenerationError(str(exc)) from exc
        async for event in self.chat(messages, sampling, out):
            yield event

    async def chat(
        self, messages: list[Message], sampling: dict[str, Any], out: Generation
    ) -> AsyncIterator[StreamEvent]:
        sampling = with_sampling_defaults(self.settings, sampling)
        fields = {"model": self.model, "messages": messages, "stream": True,
                  "stream_options": {"include_usage": True}, **sampling}  # fmt: skip
        out.model = self.model
        stream = self.handle.chat_fields.remote(fields)
        try:
            async for event in VLLMStream().events(stream):
                if isinstance(event, Usage):
                    out.prompt_tokens = event.prompt_tokens
                    out.completion_tokens = event.completion_tokens
                yield event
        finally:
            # a client that went away cancels the engine's generation
            stream.cancel()

    async def ready(self) -> None:
        await self.handle.options(stream=False).check_health.remote()
