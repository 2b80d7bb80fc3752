"""Named entities (PER, LOC, ORG) with natasha's offline models (navec embeddings + slovnet).

NER runs batched over all texts. Normalization ("Москве" -> "Москва") needs morphology tags, which
cost three times the NER itself per token, so the tagger sees only the entities with a few words
of context; the syntax parser sees only multi-word organisation names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymorphy2_dicts_ru
from natasha import (
    Doc,
    MorphVocab,
    NewsEmbedding,
    NewsMorphTagger,
    NewsNERTagger,
    NewsSyntaxParser,
    Segmenter,
)
from natasha.doc import DocSpan, DocToken
from natasha.morph.vocab import MorphForm
from pymorphy2.analyzer import MorphAnalyzer as Pymorphy2Analyzer

ENTITY_TYPES = ("PER", "LOC", "ORG")
_CONTEXT_TOKENS = 4  # neighbours each side of an entity that the morphology tagger sees


class _MorphVocab(MorphVocab):
    """natasha's vocabulary with an explicit dictionary path: pymorphy2 finds its dictionary
    through ``pkg_resources``, which current setuptools no longer ships."""

    def __init__(self) -> None:
        Pymorphy2Analyzer.__init__(self, path=pymorphy2_dicts_ru.get_path(), result_type=MorphForm)


@dataclass(frozen=True)
class _Models:
    segmenter: Segmenter
    ner: NewsNERTagger
    morph: NewsMorphTagger
    syntax: NewsSyntaxParser
    vocab: MorphVocab

    @classmethod
    def load(cls) -> _Models:
        embedding = NewsEmbedding()
        return cls(
            segmenter=Segmenter(),
            ner=NewsNERTagger(embedding),
            morph=NewsMorphTagger(embedding),
            syntax=NewsSyntaxParser(embedding),
            vocab=_MorphVocab(),
        )


class EntityExtractor:
    """Cheap to create and to pickle: the models load on first use (about two seconds)."""

    def __init__(self) -> None:
        self._models: _Models | None = None

    def extract(self, text: str) -> list[dict[str, str]]:
        return self.extract_many([text])[0]

    def extract_many(self, texts: list[str]) -> list[list[dict[str, str]]]:
        """For each text: ``{"type", "text", "normal"}`` per distinct entity, in order of first
        appearance."""
        models = self._loaded()
        docs = [Doc(text, tokens=[], spans=[]) for text in texts]
        nonblank = [doc for doc in docs if doc.text.strip()]
        for doc, markup in zip(nonblank, models.ner.map([d.text for d in nonblank]), strict=True):
            doc.tokens = [
                DocToken(t.start, t.stop, t.text) for t in models.segmenter.tokenize(doc.text)
            ]
            doc.spans = [
                DocSpan(s.start, s.stop, s.type, doc.text[s.start : s.stop]) for s in markup.spans
            ]
            doc.envelop_span_tokens()
        _tag_morph(models.morph, [window for doc in nonblank for window in _context_windows(doc)])
        _parse_syntax(
            models.syntax,
            [span.tokens for doc in nonblank for span in doc.spans if _is_compound_org(span)],
        )
        return [_entities(doc, models.vocab) for doc in docs]

    def _loaded(self) -> _Models:
        if self._models is None:
            self._models = _Models.load()
        return self._models

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()


def _context_windows(doc: Doc) -> list[list[DocToken]]:
    """The entity tokens with a few neighbours each side, overlapping windows merged: the tagger
    sees enough context to pick a case without tagging whole sentences."""
    position = {id(token): i for i, token in enumerate(doc.tokens)}
    windows: list[list[int]] = []
    for span in doc.spans:
        if not span.tokens:
            continue
        start = max(0, position[id(span.tokens[0])] - _CONTEXT_TOKENS)
        end = min(len(doc.tokens), position[id(span.tokens[-1])] + 1 + _CONTEXT_TOKENS)
        if windows and start <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], end)
        else:
            windows.append([start, end])
    return [doc.tokens[start:end] for start, end in windows]


def _words(tokens: list[DocToken]) -> list[str]:
    return [token.text for token in tokens]


def _by_length(groups: list[list[DocToken]]) -> list[list[DocToken]]:
    """Similar lengths batch together, so the taggers pad less."""
    return sorted(groups, key=len)


def _tag_morph(tagger: NewsMorphTagger, windows: list[list[DocToken]]) -> None:
    windows = _by_length(windows)
    for window, markup in zip(windows, tagger.map(map(_words, windows)), strict=True):
        for token, tagged in zip(window, markup.tokens, strict=True):
            token.pos, token.feats = tagged.pos, tagged.feats


def _parse_syntax(parser: NewsSyntaxParser, phrases: list[list[DocToken]]) -> None:
    """Parse each multi-word organisation name on its own: normalization only needs to know
    which of its words head the phrase."""
    phrases = _by_length(phrases)
    for number, (phrase, markup) in enumerate(
        zip(phrases, parser.map(map(_words, phrases)), strict=True)
    ):
        for token, parsed in zip(phrase, markup.tokens, strict=True):
            token.id, token.head_id = f"{number}_{parsed.id}", f"{number}_{parsed.head_id}"
            token.rel = parsed.rel


def _is_compound_org(span: DocSpan) -> bool:
    return span.type == "ORG" and len(span.tokens or ()) > 1


def _entities(doc: Doc, vocab: MorphVocab) -> list[dict[str, str]]:
    found: dict[tuple[str, str], dict[str, str]] = {}
    for span in doc.spans:
        if span.type not in ENTITY_TYPES:
            continue
        normal = _normal_form(span, vocab)
        found.setdefault(
            (span.type, normal), {"type": span.type, "text": span.text, "normal": normal}
        )
    return list(found.values())


def _normal_form(span: DocSpan, vocab: MorphVocab) -> str:
    if not span.tokens or any(token.pos is None for token in span.tokens):
        return span.text
    span.normalize(vocab)
    return span.normal or span.text
