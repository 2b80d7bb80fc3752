"""Every job CLI fails one way (jobs/cli.py): exactly one ``error: <message>`` line on stderr,
the last one, and an exit code from ``ExitCode``. Each case fails before any Ray work starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobs import (
    ask,
    evaluate,
    finetune_embedder,
    finetune_llm,
    ingest,
    prepare_sample,
    reindex,
    render_manifests,
    rollout,
    search,
    tune_embedder,
    validate_configs,
)
from jobs.cli import ExitCode, fail
from ruai.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
UNREACHABLE = "http://127.0.0.1:1"


@pytest.fixture(autouse=True)
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty profile and a Qdrant server nobody listens on: no job may reach a real store."""
    profile = tmp_path / "profile.yaml"
    profile.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("RUAI_PROFILE_FILE", str(profile))
    monkeypatch.setenv("RUAI_STORE_BACKEND", "client")
    monkeypatch.setenv("RUAI_QDRANT_URL", UNREACHABLE)
    monkeypatch.setenv("RUAI_QDRANT_PREFER_GRPC", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _error_line(result) -> str:
    """The failure's one line: the last on stderr, and the only one that starts with error:."""
    lines = result.stderr.strip().splitlines()
    assert lines, result.output
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]], lines
    return lines[-1]


def test_fail_prints_one_line_and_exits_with_the_code() -> None:
    app = typer.Typer()

    @app.command()
    def main() -> None:
        fail("first line\n  second line", ExitCode.NO_COLLECTION)

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 3
    assert result.stderr == "error: first line second line\n"
    assert result.stdout == ""


def _missing(tmp_path: Path) -> str:
    return str(tmp_path / "missing.json")


CASES = {
    "ingest: missing source": (
        ingest.app, lambda t: [str(t / "nope")], ExitCode.CANNOT_RUN, "does not exist"
    ),
    "ingest: store unreachable": (
        ingest.app, lambda t: [str(t)], ExitCode.CANNOT_RUN, UNREACHABLE
    ),
    "search: store unreachable": (
        search.app, lambda t: ["вопрос"], ExitCode.CANNOT_RUN, UNREACHABLE
    ),
    "search: bad mode": (
        search.app, lambda t: ["вопрос", "--mode", "fuzzy"], ExitCode.CANNOT_RUN, "'fuzzy'"
    ),
    "evaluate: missing dataset": (
        evaluate.app, lambda t: ["--dataset", _missing(t)], ExitCode.CANNOT_RUN, "not found"
    ),
    "prepare_sample: missing dataset": (
        prepare_sample.app, lambda t: ["--dataset", _missing(t)], ExitCode.CANNOT_RUN,
        "not found",
    ),
    "finetune_embedder: missing dataset": (
        finetune_embedder.app, lambda t: ["--dataset", _missing(t), "--output", str(t / "o")],
        ExitCode.CANNOT_RUN, "no trainable weights",
    ),
    "tune_embedder: missing dataset": (
        tune_embedder.app, lambda t: ["--dataset", _missing(t), "--output", str(t / "o")],
        ExitCode.CANNOT_RUN, "no trainable weights",
    ),
    "finetune_llm: no base model": (
        finetune_llm.app, lambda t: ["--dataset", _missing(t), "--output", str(t / "o")],
        ExitCode.CANNOT_RUN, "RUAI_LLM_MODEL",
    ),
    "ask: service unreachable": (
        ask.app, lambda t: ["вопрос", "--url", f"{UNREACHABLE}/v1", "--wait", "0"],
        ExitCode.CANNOT_RUN, "not ready",
    ),
    "reindex: no action": (
        reindex.app, lambda t: ["--collection", "c"], ExitCode.CANNOT_RUN, "exactly one of"
    ),
    "reindex: --stage without --model": (
        reindex.app, lambda t: ["--flip-to", "c__v2", "--stage"], ExitCode.CANNOT_RUN, "--stage"
    ),
    "rollout: unreadable experiment file": (
        rollout.app, lambda t: ["--app", "rag", "--experiment-file", _missing(t)],
        ExitCode.CANNOT_RUN, "cannot read",
    ),
    "rollout: Serve unreachable": (
        rollout.app, lambda t: ["--app", "rag", "--experiment", "e", "--arm", "a", "--weight",
                                "1", "--address", UNREACHABLE], ExitCode.CANNOT_RUN, "REST API",
    ),
    "reindex: store unreachable": (
        reindex.app, lambda t: ["--model", "navec"], ExitCode.CANNOT_RUN, UNREACHABLE
    ),
    "validate_configs: not a repository": (
        validate_configs.app, lambda t: ["--repo", str(t)], ExitCode.CANNOT_RUN, "--repo"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_job_fails_with_one_error_line(case: str, tmp_path: Path) -> None:
    app, args, code, needle = CASES[case]
    result = CliRunner().invoke(app, args(tmp_path))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    assert needle in _error_line(result)


def test_render_check_lists_stale_manifests_then_fails(tmp_path: Path) -> None:
    for name in ("cluster_configs", "serve_apps"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    fresh = CliRunner().invoke(render_manifests.app, ["--check", "--repo", str(tmp_path)])
    assert fresh.exit_code == 0, fresh.output
    manifest = tmp_path / "cluster_configs/kuberay/raycluster.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "# edited by hand\n")
    stale = CliRunner().invoke(render_manifests.app, ["--check", "--repo", str(tmp_path)])
    assert stale.exit_code == ExitCode.PROBLEMS
    assert "cluster_configs/kuberay/raycluster.yaml: differs from its render" in stale.stderr
    assert "1 manifest(s) stale" in _error_line(stale)
