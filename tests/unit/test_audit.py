"""The audit trail: the query log's records name the caller and the documents retrieved and
shown; jobs.audit answers "who saw this document" and "what did this user see" from them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ruai.identity import AuthKind, Principal
from ruai.lifecycle.audit import what_user_saw, who_saw
from ruai.lifecycle.audit_chain import verify
from ruai.lifecycle.query_log import SCHEMA, QueryRecord, records_to_table
from ruai.lifecycle.query_log_window import read_query_log
from ruai.lifecycle.query_log_writers import ParquetWriter, partition_dir
from serve_apps.query_logging import _who

REPO = Path(__file__).resolve().parents[2]
CONTRACT = "/srv/docs/legal/contract.pdf"
MENU = "/srv/docs/menu.txt"


def _record(principal: Principal, question: str, sources, cited=(), ago_s: int = 0):
    return QueryRecord.of(
        question,
        ts_ms=int((time.time() - ago_s) * 1000),
        tenant=principal.tenant,
        endpoint="/v1/chat/completions",
        latency_ms=12.0,
        status=200,
        **_who(principal),
        sources=tuple(sources),
        cited=tuple(cited),
    )


def test_who_saw_a_document_and_what_a_user_saw(tmp_path: Path) -> None:
    alice = Principal("alice", "acme", groups=("/legal",), roles=("reader",))
    bot = Principal("key-0123", "acme", auth=AuthKind.API_KEY, key_id="key-0123")
    log = tmp_path / "log"
    # an older release's file, without the audit columns: read back as nulls
    audit_columns = {"subject", "groups", "auth", "key_id", "sources", "cited"}
    before = records_to_table([_record(alice, "Старый вопрос", [CONTRACT])])
    old = before.select([name for name in SCHEMA.names if name not in audit_columns])
    folder = partition_dir(log, int(time.time() * 1000))
    folder.mkdir(parents=True)
    pq.write_table(old, folder / "old.parquet")
    ParquetWriter(log, "r1")(
        [
            _record(alice, "Срок договора аренды?", [CONTRACT, MENU], [CONTRACT]),
            _record(bot, "Что на обед?", [MENU], [MENU]),
            _record(alice, "Когда открыта столовая?", [MENU], [MENU], ago_s=10 * 86400),
        ]
    )
    table = read_query_log(log)
    assert table.num_rows == 4 and table.schema == SCHEMA
    assert table.column("subject").null_count == 1  # the old file's row
    [seen] = who_saw(table, "contract.pdf")
    assert (seen.subject, seen.auth, seen.groups) == ("alice", "token", ["/legal", "role:reader"])
    assert seen.retrieved == [CONTRACT, MENU] and seen.cited == [CONTRACT]
    assert {e.subject for e in who_saw(table, MENU)} == {"alice", "key-0123"}
    assert [e.question for e in what_user_saw(table, "alice")] == [
        "Когда открыта столовая?",
        "Срок договора аренды?",
    ]
    assert what_user_saw(table, "key-0123")[0].auth == "api_key"
    assert who_saw(pa.Table.from_pylist([], schema=SCHEMA), MENU) == []

    env = {**os.environ, "RUAI_QUERY_LOG_DIR": str(log), "PYTHONPATH": str(REPO)}

    def audit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "jobs.audit", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip

    result = audit("--user", "alice", "--since", "7d", "--json")
    assert result.returncode == 0, result.stderr
    assert [e["question"] for e in json.loads(result.stdout)] == ["Срок договора аренды?"]
    result = audit("--document", "menu.txt")
    assert result.returncode == 0 and "key-0123" in result.stdout and "alice" in result.stdout
    result = audit("--since", "7d")
    assert result.returncode == 2 and "exactly one of" in result.stderr
    result = audit("--verify")
    assert result.returncode == 0 and "3 records, 0 problems" in result.stderr  # the last 7 days


def test_the_hash_chain_shows_edited_and_deleted_records(tmp_path: Path) -> None:
    alice = Principal("alice", "acme", groups=("/legal",))
    writer = ParquetWriter(tmp_path, "r1")
    for i in range(4):  # one file per batch
        writer([_record(alice, f"вопрос {i}", [MENU], ago_s=100 - i)])
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) == 4 and verify(read_query_log(tmp_path)) == []
    # an edit: the second record now names another document
    table = pq.read_table(files[1], schema=SCHEMA)
    sources = pa.array([[CONTRACT]], type=SCHEMA.field("sources").type)
    pq.write_table(table.set_column(SCHEMA.get_field_index("sources"), "sources", sources),
                   files[1])  # fmt: skip
    # a deletion: the third record is gone
    files[2].unlink()
    problems = verify(read_query_log(tmp_path))
    assert len(problems) == 2
    assert "row 1" in problems[0] and "edited" in problems[0]
    assert "row 3" in problems[1] and "1 row(s) before it deleted" in problems[1]
    # retention deleting a chain's oldest rows is no tampering
    files[0].unlink()
    files[1].unlink()
    assert verify(read_query_log(tmp_path)) == []


def test_an_agents_steps_are_audit_rows_of_its_caller(tmp_path: Path) -> None:
    """A step as /v1/agent/steps records it: the model call and each tool call, as rows of the
    key that ran the agent, in the hash chain; jobs.audit --user lists them."""
    from serve_apps.agent_steps import StepBody, step_records

    bot = Principal("key-0123", "acme", auth=AuthKind.API_KEY, key_id="key-0123")
    step = StepBody.model_validate({
        "run_id": "9f1c2a7b" * 4, "task": "Ответь на письмо", "n": 2, "prompt_tokens": 812,
        "completion_tokens": 40, "elapsed_ms": 900.0, "calls": [
            {"tool": "search_documents", "arguments": '{"query": "тариф"}', "result_chars": 1234,
             "elapsed_ms": 300.0},
            {"tool": "read_document", "arguments": "{}", "error": "ToolArgumentsError: source",
             "elapsed_ms": 1.0},
        ]})  # fmt: skip
    records = step_records(step, bot, keep_text=True, max_chars=2000)
    ParquetWriter(tmp_path, "r1")(records)
    log = read_query_log(tmp_path)
    assert verify(log) == []
    model, search, read = what_user_saw(log, "key-0123")
    assert model.action() == "agent 9f1c2a7b step 2: model, 812+40 tokens"
    assert model.latency_ms == 900.0 - 301.0
    assert search.action() == (
        'agent 9f1c2a7b step 2: search_documents {"query": "тариф"} → 1234 chars'
    )
    assert read.action().endswith("→ error ToolArgumentsError: source")
    assert {e.question for e in (model, search, read)} == {"Ответь на письмо"}
    hashed = step_records(step, bot, keep_text=False, max_chars=2000)
    assert [r.tool_arguments for r in hashed] == [None] * 3 and hashed[0].question is None

    env = {**os.environ, "RUAI_QUERY_LOG_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "jobs.audit", "--user", "key-0123", "--json"],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [(e["tool"], e["result_chars"]) for e in listed] == [
        (None, None), ("search_documents", 1234), ("read_document", 0)
    ]
    assert listed[0]["prompt_tokens"] == 812 and listed[0]["agent_run"] == step.run_id
    # an edited argument breaks the chain
    file = next(tmp_path.rglob("*.parquet"))
    table = pq.read_table(file, schema=SCHEMA)
    arguments = pa.array([None, '{"query": "другое"}', "{}"], type=pa.string())
    index = SCHEMA.get_field_index("tool_arguments")
    pq.write_table(table.set_column(index, "tool_arguments", arguments), file)
    assert "edited" in verify(read_query_log(tmp_path))[0]
