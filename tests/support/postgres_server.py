"""A throw-away PostgreSQL 15 server for the tests: ``initdb`` in a temp dir, its own free port
on 127.0.0.1, trust auth, run as a non-root user (Debian's ``postgres`` system user through
``runuser`` when the tests run as root; PostgreSQL refuses to run as root), stopped and removed
at the end."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("RUAI_PG_BIN", "/usr/lib/postgresql/15/bin"))
SYSTEM_USER = "postgres"
DATABASE = "ruai_test"


class PostgresServer:
    def __init__(self, bin_dir: Path = PG_BIN) -> None:
        missing = [b for b in ("initdb", "pg_ctl", "createdb") if not (bin_dir / b).is_file()]
        if missing:
            raise RuntimeError(
                f"PostgreSQL 15 binaries not found in {bin_dir} (missing: {', '.join(missing)}): "
                "install Debian's postgresql-15 package (apt-get install postgresql-15) or point "
                "RUAI_PG_BIN at a bin directory holding initdb, pg_ctl and createdb"
            )
        self.bin = bin_dir
        self.as_root = os.geteuid() == 0
        self.user = SYSTEM_USER if self.as_root else _current_user()
        self.root = Path(tempfile.mkdtemp(prefix="ruai-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> PostgresServer:
        if self.as_root:
            shutil.chown(self.root, SYSTEM_USER, SYSTEM_USER)
        self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, DATABASE)
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, binary: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin / binary), *args]
        if self.as_root:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root, timeout=120)
        if check and done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{binary} failed ({done.returncode}): {done.stderr.strip()}\n{tail}".strip()
            )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def wait_ready(dsn: str, timeout_s: float = 30.0) -> None:
    """Until a connection succeeds (pg_ctl -w already waits; this guards slow machines)."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
