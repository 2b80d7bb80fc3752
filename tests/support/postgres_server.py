"""A throwaway PostgreSQL 15 server for the tests: initdb in a temp dir, its own free port,
run as a non-root user (Debian's ``postgres`` system user via ``setpriv`` when the tests run as
root), stopped and removed at the end. Binaries: Debian's postgresql package."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port

PG_BIN = Path(os.environ.get("RUAI_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "ruai"
DATABASE = "ruai"
SYSTEM_USER = "postgres"


class PostgresMissingError(RuntimeError):
    pass


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the postgres system user. setpriv
    execs the command (runuser would stay its parent and keep signals from reaching it)."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", f"--reuid={SYSTEM_USER}", f"--regid={SYSTEM_USER}", "--init-groups",
            "--", *command]  # fmt: skip


def check_binaries() -> None:
    missing = [name for name in ("initdb", "postgres") if not (PG_BIN / name).exists()]
    if missing:
        raise PostgresMissingError(
            f"PostgreSQL 15 binaries {missing} not found in {PG_BIN}: run "
            "scripts/system-packages.sh as root (Debian's postgresql package) or set RUAI_PG_BIN"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError as exc:
            raise PostgresMissingError(
                f"running as root but there is no {SYSTEM_USER!r} system user to run the server "
                "as: run scripts/system-packages.sh (Debian's postgresql package creates it)"
            ) from exc


@contextmanager
def postgres_server(ready_timeout_s: float = 60) -> Iterator[str]:
    """Start a server; yield its DSN ``postgresql://ruai@127.0.0.1:PORT/ruai``; stop it."""
    check_binaries()
    root = Path(tempfile.mkdtemp(prefix="ruai-test-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SYSTEM_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data = root / "data"
    port = free_port()
    server = None
    try:
        subprocess.run(
            _as_server_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", USER,
                             "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        log = root / "server.log"
        server = subprocess.Popen(
            _as_server_user([str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port),
                             "-h", "127.0.0.1", "-k", str(root), "-c", "fsync=off",
                             "-c", "full_page_writes=off", "-c", "synchronous_commit=off"]),
            stdout=subprocess.DEVNULL, stderr=log.open("w"),
        )  # fmt: skip
        admin = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        _wait_ready(admin, server, log, ready_timeout_s)
        import psycopg

        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
        yield f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if server is not None:
            # SIGINT: PostgreSQL's "fast" shutdown, which ends the sessions still open (pools
            # of this process, Serve replicas); "smart" (SIGTERM) waited 30 s for them to leave
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(dsn: str, server: subprocess.Popen, log: Path, timeout_s: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited with {server.returncode}:\n{log.read_text()}")
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"PostgreSQL not ready after {timeout_s}s:\n{log.read_text()}"
                ) from None
            time.sleep(0.2)


def fresh_database(dsn: str, name: str) -> str:
    """A new empty database on the session's server for one test."""
    import re

    import psycopg

    db = "t_" + re.sub(r"\W", "_", name).lower()[:50]
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {db}")
        connection.execute(f"CREATE DATABASE {db}")
    return dsn.rsplit("/", 1)[0] + "/" + db


@contextmanager
def stopped(dsn: str) -> Iterator[None]:
    """The server of ``dsn`` and its backends stopped by SIGSTOP (a hung database: connections
    stay open, nothing answers) until the block ends, then continued."""
    from urllib.parse import urlsplit

    import psutil

    port = str(urlsplit(dsn).port)
    (server,) = [
        p for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] == "postgres" and port in (p.info["cmdline"] or [])
    ]  # fmt: skip
    processes = [server, *server.children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)
