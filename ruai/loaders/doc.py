"""Legacy Word (.doc, Word 97-2003) through Debian's ``catdoc``: it reads the document's own
code pages and Unicode text, so Russian comes out whole, and needs nothing else installed
(``antiword`` needs a character map per code page; LibreOffice is a 500 MB install)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

from ruai.loaders.errors import LoaderError
from ruai.loaders.limits import UNLIMITED, ParseLimits
from ruai.loaders.parsed import ParsedText

TOOL = "catdoc"


def parse(data: bytes, limits: ParseLimits = UNLIMITED) -> ParsedText:
    if shutil.which(TOOL) is None:
        raise LoaderError(
            "DOC needs the catdoc program: install the Debian package catdoc "
            "(scripts/system-packages.sh)"
        )
    with tempfile.NamedTemporaryFile(suffix=".doc") as file:
        file.write(data)
        file.flush()
        try:
            done = subprocess.run(
                [TOOL, "-d", "utf-8", "-w", file.name],
                capture_output=True,
                timeout=limits.tool_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LoaderError(f"corrupt DOC: catdoc ran past {exc.timeout:g} s") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise LoaderError(f"corrupt DOC: {detail}")
    # catdoc -w writes one paragraph per line
    return ParsedText(done.stdout.decode("utf-8", "replace").replace("\n", "\n\n"))
