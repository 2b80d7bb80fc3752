"""A small Kubernetes API server over real HTTP that speaks the two calls a rollout makes on a
custom object: GET and PATCH (``application/merge-patch+json``, RFC 7386) of
``/apis/<group>/<version>/namespaces/<ns>/<plural>/<name>``. Like the real one it keeps a
``metadata.resourceVersion`` per object, bumps it on every change, answers 409 Conflict to a
patch that names an older one, 404 to an unknown object and 415 to another patch type, in the
``Status`` shape the official client reads."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATH = re.compile(
    r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)/"
    r"(?P<name>[^/?]+)(?:\?.*)?$"
)
MERGE_PATCH = "application/merge-patch+json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


@dataclass
class KubeObjects:
    """The objects the server holds, by (group, version, namespace, plural, name)."""

    objects: dict[tuple[str, ...], dict] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, type
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, key: tuple[str, ...], obj: dict) -> dict:
        with self.lock:
            stored = copy.deepcopy(obj)
            stored.setdefault("metadata", {})["resourceVersion"] = self._next_version(key)
            self.objects[key] = stored
            return copy.deepcopy(stored)

    def _next_version(self, key: tuple[str, ...]) -> str:
        old = self.objects.get(key, {}).get("metadata", {}).get("resourceVersion", "0")
        return str(int(old) + 1)


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}  # fmt: skip


def _handler(store: KubeObjects) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _key(self) -> tuple[str, ...] | None:
            match = _PATH.match(self.path)
            return match.group("group", "version", "ns", "plural", "name") if match else None

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            store.requests.append(("GET", self.path, ""))
            key = self._key()
            with store.lock:
                found = copy.deepcopy(store.objects.get(key)) if key else None
            if found is None:
                self._send(404, _status(404, "NotFound", f"{self.path} not found"))
            else:
                self._send(200, found)

        def do_PATCH(self) -> None:  # noqa: N802
            kind = self.headers.get("Content-Type", "")
            store.requests.append(("PATCH", self.path, kind))
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if kind.split(";")[0] != MERGE_PATCH:
                self._send(415, _status(415, "UnsupportedMediaType", f"not {MERGE_PATCH}"))
                return
            key = self._key()
            patch = json.loads(body)
            with store.lock:
                current = store.objects.get(key) if key else None
                if current is None:
                    self._send(404, _status(404, "NotFound", f"{self.path} not found"))
                    return
                wanted = (patch.get("metadata") or {}).get("resourceVersion")
                have = current["metadata"]["resourceVersion"]
                if wanted is not None and wanted != have:
                    message = "the object has been modified; apply your changes to the latest"
                    self._send(409, _status(409, "Conflict", message))
                    return
                updated = merge_patch(current, patch)
                updated["metadata"]["resourceVersion"] = str(int(have) + 1)
                store.objects[key] = updated
                answer = copy.deepcopy(updated)
            self._send(200, answer)

    return Handler


@contextmanager
def kube_api_server() -> Iterator[tuple[str, KubeObjects]]:
    """(base URL, its objects) while the server runs on a free local port."""
    store = KubeObjects()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", store
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
