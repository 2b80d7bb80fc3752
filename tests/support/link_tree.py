"""A folder of symlink traps next to two real files (the issue's `loop/up -> ..` made them 82)."""

from __future__ import annotations

import os
from pathlib import Path


def write_link_traps(root: Path, outside: Path) -> dict[str, str]:
    """Links under ``root`` (whose real files are ``real.txt`` and ``sub/real2.txt``): link name
    → a phrase its skip reason must contain."""
    (root / "loop").mkdir(parents=True)
    (root / "loop" / "up").symlink_to("..")
    (root / "pair-a").symlink_to("pair-b")
    (root / "pair-b").symlink_to("pair-a")
    (root / "dangling.txt").symlink_to("gone.txt")
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text("Секрет за пределами SOURCE.", encoding="utf-8")
    (root / "out-file.txt").symlink_to(outside / "secret.txt")
    (root / "out-dir").symlink_to(outside)
    (root / "sub-alias").symlink_to("sub")
    (root / "alias.txt").symlink_to("sub/real2.txt")
    os.link(root / "real.txt", root / "zz-hardlink.txt")
    return {
        "loop/up": "symlink loop",
        "pair-a": "symlink loop",
        "pair-b": "symlink loop",
        "dangling.txt": "dangling symlink",
        "out-file.txt": "out of SOURCE",
        "out-dir": "out of SOURCE",
        "sub-alias": "listed anyway",
        "alias.txt": "same file as",
        "zz-hardlink.txt": "same file as",
    }
