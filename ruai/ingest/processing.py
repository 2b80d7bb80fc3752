"""One document's way from raw bytes to chunks ready for embedding: decode and parse, normalize,
chunk within the encoder's token limit (``ruai.ingest.extraction``), lemmatize, extract entities,
encode BM25.

Ray-free: the Ray Data pipeline runs it inside actors, the plain loop in benchmarks runs it inline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ruai.encoders.base import SparseVector
from ruai.encoders.factory import build_sparse_encoder
from ruai.ingest.documents import Chunk, Document, content_hash_of, doc_id_for
from ruai.ingest.extraction import Extraction
from ruai.loaders import LimitExceededError, LoaderError, NoTextError
from ruai.settings import Settings
from ruai.text.entities import EntityExtractor
from ruai.text.lemmas import Lemmatizer

# "empty": the file holds no text (empty, or nothing extracted); unlike "failed", a stored
# version of it is out of date
# "access": same bytes, only who may read it changed (a payload-only update)
Status = Literal["ok", "unchanged", "access", "empty", "failed"]
MIB = 2**20


@dataclass(slots=True)
class ProcessedDocument:
    source: str
    doc_id: str
    status: Status
    content_hash: str = ""
    reason: str = ""
    document: Document | None = None
    chunks: list[Chunk] = field(default_factory=list)
    sparse: list[SparseVector] = field(default_factory=list)
    # an e-mail attachment's: the mail's source and the attachment's name in it
    parent_source: str = ""
    attachment: str = ""


class DocumentProcessor:
    """``extract`` parses and chunks one file (``ruai.ingest.extraction.Extractor`` inline, or
    ``ruai.ingest.isolated_extraction.IsolatedExtractor`` in a killable child process); lemmas, BM25
    and entities follow here, their cost bounded by the chunk limit."""

    def __init__(
        self,
        settings: Settings,
        extract: Callable[[str, bytes], Extraction],
        tenant: str | None = None,
    ) -> None:
        self.settings = settings
        self.tenant = tenant or settings.tenant
        self.extract = extract
        self.lemmatizer = Lemmatizer(cache_size=settings.lemma_cache_size)
        self.sparse = build_sparse_encoder(settings, lemmatizer=self.lemmatizer)
        self.entities = EntityExtractor() if settings.extract_entities else None

    def too_large(self, source: str, size: int) -> ProcessedDocument | None:
        if size <= self.settings.max_file_bytes:
            return None
        return ProcessedDocument(
            source,
            doc_id_for(source, self.tenant),
            "failed",
            reason=str(
                LimitExceededError(
                    "max_file_bytes",
                    self.settings.max_file_bytes,
                    f"file too large: {size:,} bytes",
                )
            ),
        )

    def prepare_all(self, source: str, data: bytes) -> list[ProcessedDocument]:
        """``prepare`` of the file, then of each attachment it carries (an e-mail's) as a
        document of its own: source ``<mail>#<name>``, parsed by ``extract`` under the same
        limits, linked to the mail by ``parent_source``."""
        processed = self.prepare(source, data)
        documents = [processed]
        if processed.document is not None:
            for attachment in processed.document.attachments:
                derived = self.prepare(f"{source}#{attachment.name}", attachment.data,
                                       parse_as=attachment.name)  # fmt: skip
                derived.parent_source, derived.attachment = source, attachment.name
                documents.append(derived)
            processed.document.attachments = []  # their bytes are not needed any more
        return documents

    def prepare(self, source: str, data: bytes, parse_as: str | None = None) -> ProcessedDocument:
        """Everything but entities: parse, chunk, lemmatize, encode BM25. ``parse_as``: the
        file name that picks the parser, when ``source`` does not end with it."""
        doc_id = doc_id_for(source, self.tenant)
        digest = content_hash_of(data)
        try:
            extraction = self.extract(parse_as or source, data)
        except NoTextError as exc:
            return ProcessedDocument(source, doc_id, "empty", digest, reason=str(exc))
        except LoaderError as exc:
            return ProcessedDocument(source, doc_id, "failed", digest, reason=str(exc))
        document, spans = extraction.document, extraction.spans
        chunks = [
            Chunk(
                doc_id=doc_id,
                index=i,
                text=span.text,
                char_start=span.start,
                char_end=span.end,
                place=span.place,
                lemmas=self.lemmatizer.lemmas(span.text),
            )
            for i, span in enumerate(spans)
        ]
        sparse = [self.sparse.encode_passage_lemmas(chunk.lemmas) for chunk in chunks]
        return ProcessedDocument(source, doc_id, "ok", digest, "", document, chunks, sparse)

    def add_entities(self, documents: list[ProcessedDocument]) -> list[ProcessedDocument]:
        """NER over the chunks of several documents in one batch (the tagger is batch-bound)."""
        if self.entities is None:
            return documents
        chunks = [chunk for doc in documents if doc.status == "ok" for chunk in doc.chunks]
        found = self.entities.extract_many([chunk.text for chunk in chunks])
        for chunk, entities in zip(chunks, found, strict=True):
            chunk.entities = entities
        return documents
