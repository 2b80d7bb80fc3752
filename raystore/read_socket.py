"""The embedded shard's read path for processes on its owner's node: the owner answers searches
over a Unix socket, so a Serve replica's query costs one local round trip instead of a Ray actor
task (submission, scheduling on the owner's task queue, the reply through the core worker:
~2.5 ms of a 3.5 ms call on 2 cores, docs/benchmarks.md).

The socket lives in a private directory (mode 0700, created by the owner), so only processes of
the owner's user can connect: the same trust boundary as Ray's own pickled calls between them.
Frames are ruai.pickle_frames' (a 4-byte length and a pickle): ``(collection,
SearchRequest)`` one way, ``(ok, hits | exception)`` back. Writes, collection lifecycle and
every call from another node stay Ray calls to the owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import shutil
import socket
import socketserver
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ruai.pickle_frames import HEADER, frame, read_frame
from ruai.store.base import Hit, SearchRequest, StoreError

_PREFIX, _SOCKET_NAME = "ruai-store-", "search.sock"
Search = Callable[[str, SearchRequest], list[Hit]]


@dataclass(frozen=True)
class ReadSocketAddress:
    node_id: str  # the owner's Ray node: only processes there can reach the socket
    path: str


class ReadSocketDown(StoreError):
    """The socket is gone (the owner restarted or closed): ask the owner for its address again."""


def _reply(search: Search, request: tuple[str, SearchRequest]) -> bytes:
    try:
        answer = (True, search(*request))
    except Exception as exc:  # the caller gets the store's own error, as through a Ray call
        answer = (False, exc)
    try:
        return frame(answer)
    except Exception as exc:  # an exception that does not pickle
        return frame((False, StoreError(f"{answer[1]!r} ({exc})")))


def remove_stale_sockets(temp_dir: Path) -> int:
    """Remove the socket directories of owners that died without closing (killed, the node
    stopped): nothing listens on their socket any more. Returns how many went."""
    removed = 0
    for socket_path in temp_dir.glob(f"{_PREFIX}*/{_SOCKET_NAME}"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(str(socket_path))
            except ConnectionRefusedError:
                shutil.rmtree(socket_path.parent, ignore_errors=True)
                removed += 1
            except OSError:
                pass  # another user's, or gone meanwhile
    return removed


class _ThreadingServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's 5 refuses a burst of Serve's concurrent requests


class ReadSocketServer:
    """Serves ``search`` on a Unix socket, one thread per client connection."""

    def __init__(self, search: Search) -> None:
        remove_stale_sockets(Path(tempfile.gettempdir()))
        self._dir = Path(tempfile.mkdtemp(prefix=_PREFIX))  # 0700
        self.path = str(self._dir / _SOCKET_NAME)
        connections: set[socket.socket] = set()
        self._connections = connections

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                connections.add(self.request)
                try:
                    while (request := read_frame(self.request.fileno())) is not None:
                        self.request.sendall(_reply(search, request))
                except OSError:
                    pass  # the client went away, or close() shut the connection
                finally:
                    connections.discard(self.request)

        self._server = _ThreadingServer(self.path, Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="store-read-socket", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop listening and end every open connection: no search reaches a closed store."""
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self._connections):
            with contextlib.suppress(OSError):  # the client may have closed it already
                connection.shutdown(socket.SHUT_RDWR)
        shutil.rmtree(self._dir, ignore_errors=True)


class ReadSocketClient:
    """An asyncio client: one connection per concurrent request, kept open for the next one."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._loop, self._idle = loop, []
        if self._idle:
            return self._idle.pop()
        try:
            return await asyncio.open_unix_connection(self.path)
        except OSError as exc:
            message = f"cannot connect to the store owner at {self.path}: {exc}"
            raise ReadSocketDown(message) from exc

    def close(self) -> None:
        """Close the kept connections (those of the loop this is called on)."""
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()

    async def search(self, collection: str, request: SearchRequest) -> list[Hit]:
        reader, writer = await self._connection()
        try:
            writer.write(frame((collection, request)))
            (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
            ok, value = pickle.loads(await reader.readexactly(size))
        except (OSError, asyncio.IncompleteReadError) as exc:
            writer.close()
            raise ReadSocketDown(f"the store owner's socket {self.path} closed: {exc}") from exc
        except BaseException:
            writer.close()  # cancelled mid-request: its reply would be read by the next one
            raise
        self._idle.append((reader, writer))
        if not ok:
            raise value
        return value
