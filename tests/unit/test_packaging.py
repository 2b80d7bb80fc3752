"""A non-editable wheel (what the image or a plain `pip install .` gets) carries the YAML the code
reads at run time: the settings profiles and the Serve configs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_carries_profiles_and_serve_configs(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("ruai-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"ruai/profiles/{p.name}" for p in (REPO / "ruai/profiles").glob("*.yaml")} | {
        f"serve_apps/configs/{p.name}" for p in (REPO / "serve_apps/configs").glob("*.yaml")
    }
    assert wanted and wanted <= names, sorted(wanted - names)
    assert "jobs/ingest.py" in names and "pipelines/ingest.py" in names
