"""Read a SQuAD-format training file tolerantly: bad rows are counted and skipped, not fatal."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ruai.eval.squad import SquadDataset, SquadFormatError, read_squad, squad_from_jsonl


class NoValidPairsError(ValueError):
    """A training file holds not one usable (question, passage) pair."""


@dataclass
class RowReport:
    """What reading a training file kept and skipped, by reason."""

    source: str
    kept: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def rows(self) -> int:
        return self.kept + self.skipped_total

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.skipped.most_common())
        return (
            f"{self.source}: {self.rows} rows, {self.kept} kept, {self.skipped_total} skipped"
            + (f" ({reasons})" if reasons else "")
        )

    def parse_line(self, line: str) -> object | None:
        """The JSON value of a JSONL line; None (counted) for a blank or invalid line."""
        if not line.strip():
            self.skip("empty line")
            return None
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            self.skip("invalid JSON")
            return None

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "rows": self.rows,
            "kept": self.kept,
            "skipped": dict(self.skipped),
        }


def read_squad_rows(path: str | Path, report: RowReport) -> SquadDataset:
    """SQuAD v1.1 JSON or JSONL through ``read_squad``; when that fails on a malformed JSONL
    line, the file is read again line by line and the malformed lines are counted and skipped.

    A JSONL line is malformed when it is not a JSON object with non-empty string ``question``
    and ``context``; blank lines are counted as ``empty line``.
    """
    try:
        return read_squad(path)
    except SquadFormatError as strict:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
        kept_lines = [line for line in lines if _jsonl_row_ok(line, report)]
        if not kept_lines:
            raise NoValidPairsError(
                f"{report.summary()}: {strict}; and no JSONL line is an object with non-empty "
                "'question' and 'context'"
            ) from strict
    try:
        return squad_from_jsonl(Path(path), "\n".join(kept_lines))
    except SquadFormatError as exc:  # e.g. 'answers' of the wrong shape
        raise NoValidPairsError(f"{path}: {exc}") from exc


def _jsonl_row_ok(line: str, report: RowReport) -> bool:
    row = report.parse_line(line)
    if row is None:
        return False
    if not isinstance(row, dict) or not all(
        isinstance(row.get(key), str) and row[key].strip() for key in ("question", "context")
    ):
        report.skip("no question or context")
        return False
    return True
