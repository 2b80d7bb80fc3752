"""The training jobs fail on bad input with a clear message, before Ray starts anything."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from jobs import finetune_embedder, finetune_llm, tune_embedder


def invoke(app, *args: str):
    return CliRunner().invoke(app, list(args))


def test_embedder_job_without_one_valid_pair(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('\n{"question": "", "context": ""}\nnot json\n', encoding="utf-8")
    for app in (finetune_embedder.app, tune_embedder.app):
        result = invoke(
            app,
            "--dataset", str(data),
            "--output", str(tmp_path / "out"),
            "--base-model", "all-MiniLM-L6-v2",
        )  # fmt: skip
        assert result.exit_code == 2
        assert "0 kept, 3 skipped" in result.output
    assert not (tmp_path / "out").exists()


def test_embedder_job_with_a_missing_base_model(tmp_path, xquad_path):
    result = invoke(
        finetune_embedder.app, "--dataset", str(xquad_path), "--output", str(tmp_path / "out")
    )
    assert result.exit_code == 2 and "navec encoder has no trainable weights" in result.output
    result = invoke(
        finetune_embedder.app,
        "--dataset", str(xquad_path),
        "--output", str(tmp_path / "out"),
        "--base-model", str(tmp_path / "no-model"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "RUAI_DENSE_MODEL" in result.output and "--base-model" in result.output


def test_llm_job_needs_a_base_model_and_one_valid_conversation(tmp_path, tiny_mistral):
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"messages": [{"role": "user", "content": "x"}]}) + "\n")
    result = invoke(finetune_llm.app, "--dataset", str(chat), "--output", str(tmp_path / "a"))
    assert result.exit_code == 2 and "RUAI_LLM_MODEL" in result.output
    result = invoke(
        finetune_llm.app,
        "--dataset", str(chat),
        "--output", str(tmp_path / "a"),
        "--base-model", str(tiny_mistral),
    )  # fmt: skip
    assert result.exit_code == 2 and "no valid conversation" in result.output
