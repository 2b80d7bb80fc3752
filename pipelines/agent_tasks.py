"""An agent over a dataset of tasks with Ray Data: each task (a line of a JSONL file, or a
document of a folder) is answered by the agent loop against the served model, through a fixed
pool of actors (at most ``concurrency`` tasks in flight), and its result is written to
``<out>/results/<id>.json`` as soon as it is done. A re-run skips the tasks whose result says
they finished, so a run that was stopped goes on where it was."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruai.agents.chat_model import OpenAIChatModel
from ruai.agents.http_platform import HttpPlatform
from ruai.agents.loop import Agent, Budget
from ruai.agents.platform_tools import platform_tools
from ruai.settings import Settings

FINISHED = ("answered", "step_budget", "time_budget")  # "failed" runs again
LETTER_TASK = (
    "Ниже входящее письмо. Найдите документы, которые к нему относятся, составьте ответ со "
    "ссылками на источники и назовите категорию письма.\n\nПисьмо:\n{text}"
)
SYSTEM_PROMPT = (
    "Ты — помощник, который отвечает по документам организации. Ищи в них инструментами "
    "search_documents и read_document, отвечай по-русски и ссылайся на источники."
)


class TaskInputError(ValueError):
    """The tasks file or folder cannot be read (the message says where)."""


@dataclass(frozen=True, slots=True)
class AgentJob:
    """What every worker needs to run tasks."""

    api_url: str
    api_key: str | None
    model: str
    collection: str
    max_steps: int
    max_seconds: float
    out: str

    @classmethod
    def from_settings(cls, settings: Settings, out: Path) -> AgentJob:
        return cls(settings.agent_api_url, settings.agent_api_key,
                   settings.agent_model or f"rag-{settings.collection}", settings.collection,
                   settings.agent_max_steps, settings.agent_max_seconds, str(out))  # fmt: skip


@dataclass(slots=True)
class AgentSummary:
    total: int = 0
    skipped: int = 0  # finished by an earlier run
    ran: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "skipped": self.skipped, "ran": self.ran,
                "statuses": self.statuses, "failures": self.failures}  # fmt: skip


def read_tasks(path: Path, settings: Settings) -> list[dict[str, str]]:
    """Tasks {"id", "task"}: a JSONL file's lines ({"id"?, "task"}), or each document of a
    folder (any format ingestion reads) as a letter to answer."""
    if path.is_dir():
        return _folder_tasks(path, settings)
    if not path.is_file():
        raise TaskInputError(f"{path}: no such file or folder")
    tasks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            task = str(row["task"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TaskInputError(
                f"{path}:{number}: not a JSON object with a 'task': {exc}"
            ) from exc
        tasks.append({"id": str(row.get("id") or f"line-{number}"), "task": task})
    ids = [t["id"] for t in tasks]
    if len(set(ids)) != len(ids):
        raise TaskInputError(f"{path}: task ids repeat; give each line its own 'id'")
    return tasks


def _folder_tasks(folder: Path, settings: Settings) -> list[dict[str, str]]:
    from ruai.loaders import LoaderError, load_document

    room = settings.max_question_chars - len(LETTER_TASK)
    tasks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = load_document(str(path), path.read_bytes()).text
        except LoaderError as exc:
            raise TaskInputError(f"{path}: {exc}") from exc
        # the letter as the question: within what the API accepts (RUAI_MAX_QUESTION_CHARS)
        tasks.append({"id": str(path.relative_to(folder)),
                      "task": LETTER_TASK.format(text=text[:room])})  # fmt: skip
    return tasks


def result_path(out: Path, task_id: str) -> Path:
    digest = hashlib.sha256(task_id.encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)[:80]
    return out / "results" / f"{safe}-{digest}.json"


def finished(out: Path, task_id: str) -> bool:
    try:
        result = json.loads(result_path(out, task_id).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return result.get("status") in FINISHED


class AgentWorker:
    """One actor of the pool: runs a batch's tasks one after another and writes each result
    (written whole, then renamed: a killed run never leaves half a result)."""

    def __init__(self, job: AgentJob) -> None:
        self.job = job
        model = OpenAIChatModel(job.api_url, job.model, job.api_key, timeout_s=job.max_seconds)
        platform = HttpPlatform(job.api_url.removesuffix("/v1"), job.api_key, job.collection)
        self.agent = Agent(model, platform_tools(platform),
                           Budget(job.max_steps, job.max_seconds), SYSTEM_PROMPT,
                           on_step=platform.record_step)  # fmt: skip

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        rows: dict[str, list] = {"id": [], "status": [], "error": []}
        for task_id, task in zip(batch["id"], batch["task"], strict=True):
            started = time.perf_counter()
            try:
                run = asyncio.run(self.agent.run(str(task))).to_dict()
            except Exception as exc:  # noqa: BLE001 - one task's failure is its own result
                run = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            result = {"id": str(task_id), "task": str(task), **run,
                      "elapsed_s": round(time.perf_counter() - started, 3)}  # fmt: skip
            _write_json(result_path(Path(self.job.out), str(task_id)), result)
            rows["id"].append(str(task_id))
            rows["status"].append(result["status"])
            rows["error"].append(result.get("error") or "")
        return rows


def run_agent_tasks(
    settings: Settings, tasks_path: Path, out: Path, concurrency: int | None = None
) -> AgentSummary:
    """Run every unfinished task; Ray must be initialised by the caller."""
    import ray

    tasks = read_tasks(tasks_path, settings)
    summary = AgentSummary(total=len(tasks))
    pending = [t for t in tasks if not finished(out, t["id"])]
    summary.skipped = len(tasks) - len(pending)
    (out / "results").mkdir(parents=True, exist_ok=True)
    if pending:
        job = AgentJob.from_settings(settings, out)
        workers = min(concurrency or settings.agent_concurrency, len(pending))
        dataset = ray.data.from_items(pending, override_num_blocks=len(pending))
        done = dataset.map_batches(
            AgentWorker, fn_constructor_args=(job,), batch_size=1, concurrency=workers,
            num_cpus=0.1,
        )  # fmt: skip
        for row in done.iter_rows():
            summary.ran += 1
            summary.statuses[row["status"]] = summary.statuses.get(row["status"], 0) + 1
            if row["status"] == "failed":
                summary.failures.append({"id": row["id"], "error": row["error"]})
    _write_json(out / "summary.json", summary.to_dict())
    return summary


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(path)
