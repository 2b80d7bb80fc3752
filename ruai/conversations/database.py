"""One connection to SQLite or PostgreSQL (psycopg 3) behind the same small surface: a
transaction yields a cursor that takes ``%s`` parameters on both engines."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

Dialect = Literal["sqlite", "postgresql"]


class DatabaseUnavailableError(RuntimeError):
    """The conversation database cannot be opened or reached."""


class Cursor:
    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cursor = cursor
        self._dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self._dialect == "sqlite":
            sql = sql.replace("%s", "?")
        self._cursor.execute(sql, tuple(params))
        return self

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class Database:
    """A lazily (re)opened connection, used by one thread at a time."""

    def __init__(self, dialect: Dialect, target: str | Path) -> None:
        self.dialect = dialect
        self._target = target
        self._connection: Any = None
        self._lock = threading.Lock()

    @classmethod
    def sqlite(cls, path: Path) -> Database:
        return cls("sqlite", path)

    @classmethod
    def postgresql(cls, dsn: str) -> Database:
        return cls("postgresql", dsn)

    def describe(self) -> str:
        """Where the data lives, without a password."""
        if self.dialect == "sqlite":
            return f"sqlite:{self._target}"
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(str(self._target))
        return f"postgresql://{info.get('user', '')}@{info.get('host', '')}:" \
               f"{info.get('port', 5432)}/{info.get('dbname', '')}"  # fmt: skip

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            path = Path(self._target)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            except (OSError, sqlite3.Error) as exc:
                raise DatabaseUnavailableError(
                    f"cannot open the conversation database {path} "
                    f"(setting RUAI_CONVERSATIONS_PATH): {exc}"
                ) from exc
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: no fsync per commit (a power cut may lose the last commits, never
            # corrupt the file); every answer records its response id, so this is on the hot path
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA busy_timeout = 10000")
            return connection
        import psycopg

        try:
            return psycopg.connect(str(self._target), autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(
                f"cannot reach the conversation database {self.describe()} "
                f"(setting RUAI_CONVERSATIONS_DSN): {exc}"
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            if self._connection is None:
                self._connection = self._connect()
            connection = self._connection
            try:
                if self.dialect == "sqlite":
                    connection.execute("BEGIN IMMEDIATE")
                    try:
                        yield Cursor(connection.cursor(), self.dialect)
                    except BaseException:
                        connection.execute("ROLLBACK")
                        raise
                    connection.execute("COMMIT")
                else:
                    with connection.transaction(), connection.cursor() as cursor:
                        yield Cursor(cursor, self.dialect)
            except Exception as exc:
                if _connection_lost(exc):
                    self.close_locked()
                raise

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


def _connection_lost(exc: Exception) -> bool:
    """A broken server connection: reopen on the next transaction."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.OperationalError)
