"""scripts/uv_install.py hands uv the package sources pip is configured with: read through pip's
own `pip config list`, from a pip.conf and PIP_* variables, with pip's precedence."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "uv_install.py"


@pytest.fixture(scope="module")
def uv_install():
    spec = importlib.util.spec_from_file_location("uv_install", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pip_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file pip reads last (over the machine's own files), and no PIP_* variable but those
    a test sets."""
    for name in [n for n in os.environ if n.startswith("PIP_")]:
        monkeypatch.delenv(name)
    conf = tmp_path / "pip.conf"
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    return conf


def test_sources_become_uv_flags_with_pips_precedence(uv_install, pip_conf, monkeypatch):
    pip_conf.write_text(
        "[global]\n"
        "extra-index-url = file:///mirror/a/simple file:///mirror/b/simple\n"
        "find-links = /from/global\n"
        "constraint = /etc/constraints.txt\n"
        "cert = /etc/ca.pem\n"
        "timeout = 7\n"
        "[install]\n"
        "find-links = /from/install\n"
    )
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "180")
    config = uv_install.pip_config()
    assert config["find-links"] == "/from/install"  # the install section over the global one
    assert config["default-timeout"] == "180"
    flags = uv_install.uv_flags(config)
    assert sorted(zip(flags[::2], flags[1::2], strict=True)) == [
        ("--constraint", "/etc/constraints.txt"),
        ("--extra-index-url", "file:///mirror/a/simple"),
        ("--extra-index-url", "file:///mirror/b/simple"),
        ("--find-links", "/from/install"),
    ]

    monkeypatch.setenv("PIP_FIND_LINKS", "/from/env")  # a variable over both files
    assert uv_install.pip_config()["find-links"] == "/from/env"


def test_no_configuration_passes_nothing(uv_install, pip_conf, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip then reads no file at all
    assert uv_install.uv_flags(uv_install.pip_config()) == []

