"""The summary an ingestion run ends with: printed as a table, written as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# the report's [{source, reason}] lists: the table shows their lengths, a second table the items
LISTED = ("files_skipped", "documents_failed", "documents_removed")


@dataclass
class IngestReport:
    collection: str
    source: str
    tenant: str
    files_seen: int = 0
    # left out by the listing (symlink loops, dangling links, links out of SOURCE, the same
    # file reached twice, directories that cannot be listed): [{source, reason}]
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    documents_ok: int = 0
    # of those, e-mail attachments written as documents of their own
    documents_attachments: int = 0
    documents_unchanged: int = 0
    # of those, the objects skipped at listing time by their change marker (never read)
    files_unchanged_listed: int = 0
    # same content, new readers (a policy file or --access changed): payload rewritten in place,
    # nothing parsed or embedded
    documents_access_updated: int = 0
    # .ruai-access.yaml files that decided some document's access
    access_policies: int = 0
    documents_failed: list[dict[str, str]] = field(default_factory=list)
    # stored before, now without text ("empty file", "no text extracted"): their points were
    # deleted, [{source, reason}]
    documents_removed: list[dict[str, str]] = field(default_factory=list)
    # written with text read by OCR (scans, images): [{source, pages}]
    documents_ocr: list[dict[str, object]] = field(default_factory=list)
    documents_pruned: int = 0
    # not listed, but under a directory the listing could not read (in files_skipped): kept
    documents_not_pruned: int = 0
    chunks: int = 0
    points_written: int = 0
    points_total: int = 0
    seconds: float = 0.0

    @property
    def docs_per_s(self) -> float:
        return self.documents_ok / self.seconds if self.seconds else 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return asdict(self) | {
            "docs_per_s": round(self.docs_per_s, 2),
            "chunks_per_s": round(self.chunks_per_s, 2),
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")

    def render(self):
        from rich.table import Table

        table = Table(title=f"ingest → {self.collection} (tenant {self.tenant})")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in self.to_dict().items():
            if key not in (*LISTED, "documents_ocr", "collection", "tenant"):
                table.add_row(key, str(value))
        ocr_pages = sum(int(item["pages"]) for item in self.documents_ocr)
        table.add_row("documents_ocr (pages)", f"{len(self.documents_ocr)} ({ocr_pages})")
        for key in LISTED:
            table.add_row(key, str(len(getattr(self, key))))
        failed = Table(title="skipped files, failed and removed documents")
        failed.add_column("source")
        failed.add_column("reason")
        listed = self.files_skipped + self.documents_failed + self.documents_removed
        for item in listed:
            failed.add_row(item["source"], item["reason"])
        return table, failed if listed else None
