"""Who saw a document, what a user saw: the audit trail of the query log.

    python -m jobs.audit --document SOURCE [--since 7d] [--json]
    python -m jobs.audit --user SUBJECT [--since 7d] [--json]
    python -m jobs.audit --verify [--since 90d]

SOURCE: a document's source as ingested (a path or URI) or its file name; SUBJECT: a signed-in
user's subject (the token's ``sub``) or an API key's id (``key-…``); its agents' steps (the
model's tokens, each tool with its arguments and result size) and MCP tool calls are rows too.
Reads the query log the ingress writes (RUAI_QUERY_LOG_DIR, or RUAI_QUERY_LOG_DSN); a table,
or JSON with --json.
--verify checks the log's hash chains (ruai/lifecycle/audit_chain.py): exit status 1 and one line
per problem when a record was edited or deleted.
"""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli import ExitCode, fail
from ruai.settings import get_settings

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    document: str = typer.Option(None, help="Who saw this document (its source or file name)"),
    user: str = typer.Option(None, help="What this user (subject or API key id) saw"),
    since: str = typer.Option("7d", help="How far back: 30m, 24h, 7d, 2w"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
    verify: bool = typer.Option(
        False, "--verify", help="Check that no record was edited or deleted"
    ),
) -> None:
    from ruai.lifecycle.audit import what_user_saw, who_saw
    from ruai.lifecycle.audit_chain import verify as verify_chains
    from ruai.lifecycle.query_log_window import Window, now_utc, parse_duration, read_window

    if verify + (document is not None) + (user is not None) != 1:
        fail("give exactly one of --document SOURCE, --user SUBJECT or --verify")
    try:
        window = Window.ending(now_utc(), parse_duration(since))
    except ValueError as exc:
        fail(f"--since: {exc}")
    settings = get_settings()
    try:
        log = read_window(settings, window)
    except Exception as exc:  # an unreachable database, an unreadable file
        fail(f"cannot read the query log: {exc}")
    if verify:
        problems = verify_chains(log)
        for problem in problems:
            typer.echo(problem)
        typer.echo(f"{log.num_rows} records, {len(problems)} problems", err=True)
        raise typer.Exit(int(ExitCode.PROBLEMS) if problems else 0)
    entries = who_saw(log, document) if document is not None else what_user_saw(log, user)
    if as_json:
        print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
        return
    title = f"who saw {document}" if document is not None else f"what {user} saw"
    table = Table(title=f"{title}, {window.label()}: {len(entries)} requests", show_lines=True)
    columns = ["time", "user", "groups", "endpoint", "question", "retrieved", "cited"]
    steps = any(e.agent for e in entries)  # an agent's steps, tool calls over MCP
    for column in columns + ["agent step / tool call"] * steps:
        table.add_column(column)
    for e in entries:
        who = e.subject or ""
        if e.auth == "api_key":
            who += f" (key {e.key_id})" if e.subject != e.key_id else " (API key)"
        table.add_row(
            f"{e.ts:%Y-%m-%d %H:%M:%S}",
            f"{who}\n{e.tenant}",
            ", ".join(e.groups),
            f"{e.endpoint} {e.status}",
            e.question if e.question is not None else f"sha256 {e.question_sha256[:12]}…",
            "\n".join(e.retrieved),
            "\n".join(e.cited),
            *[e.action()] * steps,
        )
    Console().print(table)


if __name__ == "__main__":
    sys.exit(app())
