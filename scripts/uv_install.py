"""`uv pip install` into the running Python's environment, from the sources pip is configured with.

scripts/setup.sh installs with uv: it downloads in parallel and compiles bytecode on every core,
where pip does both one file at a time. uv reads no pip configuration, yet the machine's (pip.conf
files and PIP_* variables) may name where packages come from: a local wheel folder (find-links),
mirrors (index-url, extra-index-url), a constraints file, a CA bundle. They are read the way pip
reads them (`pip config list`: the environment before the install section before the global
one) and passed on as the uv flags that mean the same. Arguments go to `uv pip install`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

FLAGS = {
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
    "trusted-host": "--allow-insecure-host",
}
SECTIONS = (":env:", "install", "global")


def pip_config() -> dict[str, str]:
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    by_option: dict[str, dict[str, str]] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        section, _, option = key.rpartition(".")
        by_option.setdefault(option, {})[section] = shlex.split(value)[0] if value else ""
    return {
        option: next(sections[s] for s in SECTIONS if s in sections)
        for option, sections in by_option.items()
        if any(s in sections for s in SECTIONS)
    }


def uv_flags(config: dict[str, str]) -> list[str]:
    flags: list[str] = []
    for option, value in config.items():
        if option in FLAGS:
            for entry in value.split():
                flags += [FLAGS[option], entry]
    return flags


def main(arguments: list[str]) -> int:
    config = pip_config()
    env = dict(os.environ)
    if "cert" in config:
        env.setdefault("SSL_CERT_FILE", config["cert"])
    if "default-timeout" in config:
        env.setdefault("UV_HTTP_TIMEOUT", config["default-timeout"])
    uv = Path(sysconfig.get_path("scripts")) / "uv"
    command = [
        # compiled here, not on first import: where PYTHONDONTWRITEBYTECODE is set (this CI
        # machine sets it) nothing is ever cached and every process compiles what it imports
        str(uv), "pip", "install", "--python", sys.executable, "--compile-bytecode",
        # pip's way with several indexes: the best version from any of them
        "--index-strategy", "unsafe-best-match", *uv_flags(config), *arguments,
    ]  # fmt: skip
    return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
