"""notebooks/tune_sweep.ipynb runs top to bottom, headless, against the test cluster with a tiny
sweep injected after its parameters cell (as papermill would)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.tiny_squad import write_tiny_squad

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "tune_sweep.ipynb"


def test_tune_sweep_notebook_runs_headless(ray_cluster, xquad_path, tmp_path):
    dataset = write_tiny_squad(
        xquad_path, tmp_path / "tiny.json", articles=3, questions_per_article=6
    )
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    position = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    injected = f"""
ADDRESS = {ray_cluster["address"]!r}
DATASET = Path({str(dataset)!r})
OUTPUT = Path({str(tmp_path / "sweep")!r})
NUM_SAMPLES = 1
MAX_EPOCHS = 1
RECALL_K = 1
HP = {{"batch_size": 4, "max_seq_length": 32, "epochs": 1}}
from ray import tune
SPACE = {{"learning_rate": tune.grid_search([5e-5, 1e-4])}}
"""
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell(injected))
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs), "no plot shown"
    html = [out["data"]["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    assert any("recall_at_1" in table and "status" in table for table in html), "no results table"
    assert (tmp_path / "sweep" / "sweep.png").stat().st_size > 0
    text = "".join(out.get("text", "") for out in outputs)
    assert "2 trials" in text and "best checkpoint: /" in text
