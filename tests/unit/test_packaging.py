"""A non-editable wheel (what the image or a plain `pip install .` gets) carries the YAML the code
reads at run time: the settings profiles, the Serve configs and the chat UI's static files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_carries_profiles_and_serve_configs(tmp_path: Path) -> None:
    leftovers = [REPO / "build", REPO / "ruai.egg-info"]
    existed = {path: path.exists() for path in leftovers}
    try:
        _build_wheel(tmp_path)
    finally:  # setuptools builds in the source tree: leave it as it was
        for path, was_there in existed.items():
            if not was_there:
                shutil.rmtree(path, ignore_errors=True)
    (wheel,) = tmp_path.glob("ruai-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = (
        {f"ruai/profiles/{p.name}" for p in (REPO / "ruai/profiles").glob("*.yaml")}
        | {f"serve_apps/configs/{p.name}" for p in (REPO / "serve_apps/configs").glob("*.yaml")}
        | {"ruai/eval/prompts/judge_ru.txt"}
        | {f"serve_apps/static/{p.name}" for p in (REPO / "serve_apps/static").iterdir()}
    )
    assert wanted and wanted <= names, sorted(wanted - names)
    assert "jobs/ingest.py" in names and "pipelines/ingest.py" in names


def _build_wheel(out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(REPO)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
