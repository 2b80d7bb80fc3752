"""The jobs as users run them: `ray job submit` against the `ray start --head` test cluster, and
`python -m jobs.…` from a shell, including their error exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ruai.eval.squad import read_squad
from tests.integration.conftest import copy_articles

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def run(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=REPO, env=os.environ | env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def submitted_articles(sample_articles: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_articles(sample_articles, tmp_path_factory.mktemp("cli-docs"))


@pytest.fixture(scope="module")
def submitted(ray_cluster, submitted_articles, tmp_path_factory):
    """Ingest through `ray job submit` once for the module (the tests only read what it wrote);
    the job's store owner stays up in the cluster."""
    from raystore import release_store
    from ruai.settings import Settings

    tmp_path = tmp_path_factory.mktemp("cli-submit")
    store = tmp_path / "qdrant"
    report = tmp_path / "report.json"
    env = {"RUAI_QDRANT_PATH": str(store), "RUAI_COLLECTION": "cli"}
    runtime_env = json.dumps({"env_vars": env | {"RAY_USAGE_STATS_ENABLED": "0"}})
    result = run(
        [
            str(Path(PYTHON).parent / "ray"), "job", "submit",
            "--address", ray_cluster["dashboard"], "--working-dir", str(REPO),
            "--runtime-env-json", runtime_env,
            "--", "python", "-m", "jobs.ingest", str(submitted_articles), "--report", str(report),
        ],
        env,
    )  # fmt: skip
    yield result, report, env | {"RAY_ADDRESS": ray_cluster["address"]}
    release_store(Settings(qdrant_path=store))


def test_ray_job_submit_ingests_and_reports(submitted):
    result, report, _ = submitted
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "succeeded" in (result.stdout + result.stderr).lower()
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["documents_ok"] == 3 and data["documents_failed"] == []
    assert data["points_total"] == data["chunks"] > 3
    for key in ("points_written", "seconds", "docs_per_s", "chunks_per_s"):
        assert key in data


def test_search_cli_goes_through_the_clusters_store_owner(submitted, submitted_articles):
    _, _, env = submitted
    first = sorted(submitted_articles.glob("*.md"))[0]
    sentence = first.read_text(encoding="utf-8").split("\n\n")[1].split(". ")[0]
    result = run([PYTHON, "-m", "jobs.search", sentence, "--json", "--top-k", "3"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and set(hits[0]) == {"source", "score", "access", "text"}
    assert hits[0]["source"] == str(first)


def test_search_cli_explains_an_empty_result_of_another_tenant(submitted):
    _, _, env = submitted
    result = run([PYTHON, "-m", "jobs.search", "Тесла", "--json", "--tenant", "other"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == []
    assert "none of tenant 'other'" in result.stderr and "--tenant" in result.stderr


def test_evaluate_cli_reports_every_retriever(submitted, submitted_articles, xquad_path, tmp_path):
    _, _, env = submitted
    dataset = read_squad(xquad_path)
    titles = {p.name.split("-", 1)[0] for p in submitted_articles.glob("*.md")}
    wanted = {i for i in dataset.article_titles if f"{i + 1:02d}" in titles}  # files count from 1
    lines = [
        {"question": q.question, "context": p.context, "answers": q.answers}
        for q in dataset.questions
        if q.article_index in wanted
        for p in dataset.paragraphs
        if p.paragraph_id == q.paragraph_id
    ]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    out = tmp_path / "eval.json"
    result = run(
        [PYTHON, "-m", "jobs.evaluate", "--dataset", str(questions), "--json", str(out)], env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads(out.read_text())
    assert set(scores) == {"dense", "sparse", "hybrid"}
    assert scores["hybrid"]["questions"] == len(lines) > 10
    assert scores["hybrid"]["recall@5"] > 0.8


def test_ingest_cli_fails_with_one_line_when_source_is_missing(tmp_path):
    result = run([PYTHON, "-m", "jobs.ingest", str(tmp_path / "nope")], {})
    assert result.returncode != 0
    assert "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ingest_cli_fails_with_one_line_when_store_is_unreachable(few_articles):
    env = {"RUAI_STORE_BACKEND": "client", "RUAI_QDRANT_URL": "http://127.0.0.1:1"}
    result = run([PYTHON, "-m", "jobs.ingest", str(few_articles)], env)
    assert result.returncode != 0
    assert "unreachable" in result.stderr and "127.0.0.1:1" in result.stderr
