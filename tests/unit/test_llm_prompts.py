from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ruai.llm.context_fit import ChatTemplate, PromptTooLongError, fit_rag_messages
from ruai.llm.passages import Passage
from ruai.llm.prompts import rag_messages
from ruai.llm.sampling import with_sampling_defaults
from ruai.settings import Settings

SYSTEM = Settings().llm_system_prompt
QUESTION = "В каком году умер Никола Тесла?"


def passages(n: int, words: int = 60) -> list[Passage]:
    return [
        Passage(i, " ".join([f"слово{i}"] * words), f"{i}.md", f"c{i}", 1.0 / i)
        for i in range(1, n + 1)
    ]


def test_rag_messages_hold_saiga_prompt_numbered_context_and_instruction() -> None:
    system, user = rag_messages(SYSTEM, QUESTION, passages(2, 3))
    assert system == {"role": "system", "content": SYSTEM}
    assert SYSTEM.startswith("Ты — Сайга, русскоязычный автоматический ассистент.")
    assert "[1] слово1 слово1 слово1\n\n[2] слово2" in user["content"]
    assert "только на контекст" in user["content"] and "[1]" in user["content"]
    assert user["content"].endswith(f"Вопрос: {QUESTION}")


@pytest.fixture(scope="module")
def template(tiny_mistral: Path) -> ChatTemplate:
    return ChatTemplate.from_pretrained(str(tiny_mistral))


def test_renders_with_the_tokenizers_chat_template(template: ChatTemplate) -> None:
    text = template.render(rag_messages(SYSTEM, QUESTION, passages(1, 3)))
    assert text.startswith("<s><|system|>\n" + SYSTEM) and text.endswith("<|assistant|>\n")


@pytest.mark.parametrize("budget", [200, 400, 900])
def test_context_is_trimmed_to_the_token_budget(template: ChatTemplate, budget: int) -> None:
    given = passages(10)
    messages, kept = fit_rag_messages(SYSTEM, QUESTION, given, template, budget)
    assert template.count_tokens(messages) <= budget
    assert [p.n for p in kept] == list(range(1, len(kept) + 1))  # the best passages, in order
    assert len(kept) < len(given)
    # nothing more fits: one more word of the next passage would overflow
    whole = [p.text for p in kept[:-1]] == [p.text for p in given[: len(kept) - 1]]
    assert whole and kept[-1].text == given[len(kept) - 1].text[: len(kept[-1].text)]


def test_everything_fits_when_the_budget_allows(template: ChatTemplate) -> None:
    given = passages(3, 5)
    _, kept = fit_rag_messages(SYSTEM, QUESTION, given, template, 4000)
    assert kept == given


def test_a_question_longer_than_the_budget_is_refused(template: ChatTemplate) -> None:
    with pytest.raises(PromptTooLongError):
        fit_rag_messages(SYSTEM, QUESTION * 50, passages(1), template, 100)


def test_request_sampling_overrides_settings_defaults() -> None:
    settings = Settings(llm_temperature=0.3, llm_top_p=0.8, llm_repetition_penalty=1.2)
    merged = with_sampling_defaults(settings, {"temperature": 0.0, "top_p": None})
    assert merged == {"temperature": 0.0, "top_p": 0.8, "repetition_penalty": 1.2,
                      "max_tokens": settings.llm_max_tokens}  # fmt: skip


def fit_by_recounting(system: str, question: str, given: list[Passage], template: ChatTemplate,
                      budget: int) -> list[Passage]:  # fmt: skip
    """The earlier fit, kept as the reference: the whole prompt re-tokenized for every passage
    added, then a binary search over the last passage's words."""
    kept: list[Passage] = []
    fits = lambda ps: template.count_tokens(rag_messages(system, question, ps)) <= budget  # noqa: E731
    for passage in given:
        if fits([*kept, passage]):
            kept.append(passage)
            continue
        words, lo, hi = passage.text.split(), 0, len(passage.text.split())
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if fits([*kept, replace(passage, text=" ".join(words[:mid]))]) \
                else (lo, mid - 1)  # fmt: skip
        return kept + ([replace(passage, text=" ".join(words[:lo]))] if lo else [])
    return kept


@pytest.mark.parametrize("budget", [260, 333, 700, 1500, 3000])
def test_one_tokenization_pass_fits_what_recounting_fitted(
    template: ChatTemplate, xquad_path: Path, budget: int
) -> None:
    """Real XQuAD-ru paragraphs as passages: the one-pass fit keeps the same passages and cuts
    the last one at the same word as re-tokenizing the prompt for every passage did."""
    from ruai.eval.squad import read_squad

    data = read_squad(xquad_path)
    given = [Passage(i, p.context.strip(), f"{i}.md", f"c{i}", 1.0 / i)
             for i, p in enumerate(data.paragraphs[:12], 1)]  # fmt: skip
    question = data.questions[0].question
    _, kept = fit_rag_messages(SYSTEM, question, given, template, budget)
    assert kept == fit_by_recounting(SYSTEM, question, given, template, budget)


TOOL = {"type": "function", "function": {"name": "search_documents", "description": "Поиск",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}


def chars(kept: list[Passage]) -> int:
    return sum(len(p.text) for p in kept)


def test_tool_calls_after_the_question_and_the_tools_fit_the_budget(template: ChatTemplate) -> None:
    """The calls the model made for the question and their results follow the RAG prompt; they
    and the tools' definitions (as the template renders them) take room from the context."""
    import copy

    from tests.support.tiny_llm import CHAT_TEMPLATE

    _, kept_alone = fit_rag_messages(SYSTEM, QUESTION, passages(10), template, 400)
    call = {"id": "c1", "type": "function",
            "function": {"name": "search_documents", "arguments": '{"query": "Тесла"}'}}
    followup = [{"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "результат " * 40}]
    messages, kept = fit_rag_messages(SYSTEM, QUESTION, passages(10), template, 400, followup)
    assert messages[-2:] == followup and template.count_tokens(messages) <= 400
    assert chars(kept) < chars(kept_alone)
    tokenizer = copy.deepcopy(template.tokenizer)
    tokenizer.chat_template = "{% if tools %}{{ tools | tojson }}{% endif %}" + CHAT_TEMPLATE
    with_tools = ChatTemplate(tokenizer)
    messages, kept = fit_rag_messages(SYSTEM, QUESTION, passages(10), with_tools, 400, (), [TOOL])
    assert with_tools.count_tokens(messages, [TOOL]) <= 400 < with_tools.count_tokens(
        rag_messages(SYSTEM, QUESTION, kept_alone), [TOOL])
    assert chars(kept) < chars(kept_alone)
