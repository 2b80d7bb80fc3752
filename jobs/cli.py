"""How every job CLI fails: one line ``error: <message>`` on stderr and an exit code from
``ExitCode``. Never through rich (it wraps long lines) and never with a traceback for a failure
the user can fix.

====  =======================================================================================
code  meaning
====  =======================================================================================
0     done
1     the job ran and found problems (``validate_configs``, ``render_manifests --check``)
2     it could not run: bad input, a missing file or model, an unreachable store or service
      (click also exits 2 for an unknown option or a missing argument)
3     the collection it reads does not exist (ingest into it first)
====  =======================================================================================
"""

from __future__ import annotations

from enum import IntEnum
from typing import NoReturn

import typer


class ExitCode(IntEnum):
    PROBLEMS = 1
    CANNOT_RUN = 2
    NO_COLLECTION = 3


def fail(message: str, code: ExitCode = ExitCode.CANNOT_RUN) -> NoReturn:
    """Print ``error: <message>`` (one line) on stderr and exit with ``code``."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)
    raise typer.Exit(int(code))
