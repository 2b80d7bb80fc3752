"""Sampling defaults for the served LLM (Saiga's GPTQ repo ships no generation_config.json)."""

from __future__ import annotations

from typing import Any

from ruai.settings import Settings


def sampling_defaults(settings: Settings) -> dict[str, Any]:
    return {
        "temperature": settings.llm_temperature,
        "top_p": settings.llm_top_p,
        "repetition_penalty": settings.llm_repetition_penalty,
        "max_tokens": settings.llm_max_tokens,
    }


def with_sampling_defaults(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    """The request's own sampling values win; the settings fill what it leaves out."""
    return sampling_defaults(settings) | {k: v for k, v in request.items() if v is not None}
