"""Parse + chunk (``ruai.ingest.extraction``) in a child process that can be killed.

A parser that cannot be interrupted (lxml, pypdf, python-docx are C or tight Python loops) still
ends on time: the parent waits ``parse_timeout_s`` for each document's answer, then kills the
child and reports ``timeout after N s``; the next document gets a fresh child. The child caps its
own address space at ``parse_memory_bytes``, so a decompression or markup bomb ends in a
``MemoryError`` there (reported as that limit) instead of growing the parent until the OOM killer
takes it. One child serves a caller's documents one after another, so its start-up (imports,
tokenizer) is paid once, not per document.

Run as ``python -m ruai.ingest.isolated_extraction``: the child side. Frames on its stdin/stdout
are a 4-byte length and a pickle; the first one carries the Settings.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

from ruai.ingest.extraction import Extraction, Extractor
from ruai.loaders import LimitExceededError, LoaderError, detect_format
from ruai.pickle_frames import frame, read_frame
from ruai.settings import Settings

# the formats whose parsing may OCR pages
OCR_FORMATS = ("pdf", "image")
_START_TIMEOUT_S = 300.0  # imports and the tokenizer, on a loaded machine


class ExtractionCrashedError(LoaderError):
    """The child died without answering (a signal, or an exit inside a C library)."""


class IsolatedExtractor:
    """The same call as :class:`ruai.ingest.extraction.Extractor`, in a killable child process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout_s = settings.parse_timeout_s
        self._child: subprocess.Popen | None = None

    def timeout_for(self, source: str, data: bytes) -> float:
        """``parse_timeout_s``, plus the OCR limits' worth for a format that may need OCR."""
        if detect_format(source, data) in OCR_FORMATS:
            return self.timeout_s + self.settings.ocr_max_pages * self.settings.ocr_page_timeout_s
        return self.timeout_s

    def __call__(self, source: str, data: bytes) -> Extraction:
        timeout_s = self.timeout_for(source, data)
        child = self._running_child()
        try:
            assert child.stdin is not None
            child.stdin.write(frame((source, data)))
            child.stdin.flush()
        except BrokenPipeError:
            raise self._crashed() from None
        answer = read_frame(child.stdout.fileno(), time.monotonic() + timeout_s)
        if answer is None:
            if child.poll() is None:
                self.close()
                raise LimitExceededError(
                    "parse_timeout_s", self.timeout_s, f"timeout after {timeout_s:g} s"
                )
            raise self._crashed()
        kind, value = answer
        if kind == "ok":
            return value
        if kind == "memory":
            self.close()  # whatever the failed allocation left behind goes with the process
            raise LimitExceededError(
                "parse_memory_bytes", self.settings.parse_memory_bytes, "out of memory"
            )
        raise value if isinstance(value, LoaderError) else RuntimeError(value)

    def _running_child(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self.close()
        repo = str(Path(__file__).resolve().parents[2])
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join(filter(None, (repo, os.environ.get("PYTHONPATH"))))
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "ruai.ingest.isolated_extraction"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(frame(self.settings))
        child.stdin.flush()
        ready = read_frame(child.stdout.fileno(), time.monotonic() + _START_TIMEOUT_S)
        if ready != ("ready", None):
            child.kill()
            child.wait()
            raise RuntimeError(f"the extraction process did not start (exit {child.poll()})")
        self._child = child
        return child

    def _crashed(self) -> ExtractionCrashedError:
        code = self._child.wait() if self._child is not None else None
        self._child = None
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return ExtractionCrashedError(f"the parser process died ({how}) on this document")

    def close(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            for stream in (self._child.stdin, self._child.stdout):
                if stream is not None:
                    stream.close()
            self._child = None

    def __del__(self) -> None:
        self.close()


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the process that started it exits."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _cap_memory(limit: int) -> None:
    if limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _serve(requests: BinaryIO, answers: BinaryIO) -> None:
    settings: Settings = read_frame(requests.fileno(), None)
    extract = Extractor.from_settings(settings)
    _cap_memory(settings.parse_memory_bytes)  # after start-up: imports map more than they use
    answers.write(frame(("ready", None)))
    answers.flush()
    while True:
        try:
            request = read_frame(requests.fileno(), None)
            if request is None:
                return
            answer = ("ok", extract(*request))
        except MemoryError:
            answer = ("memory", None)
        except LoaderError as exc:
            answer = ("error", exc)
        except Exception as exc:  # a bug: the parent reports it as this document's failure
            answer = ("error", f"{type(exc).__name__}: {exc}")
        request = None
        answers.write(frame(answer))
        answers.flush()


def main() -> None:
    _die_with_parent()
    # the protocol owns the original stdin/stdout; anything a library prints goes to stderr
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(requests, answers)


if __name__ == "__main__":
    main()
