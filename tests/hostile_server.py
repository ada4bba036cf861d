"""A hostile API on 127.0.0.1: answers that a broken or malicious server could send.

Each path is a scene (`Scene`): a function that writes the raw HTTP answer.
Paths not in the script answer 404 with a TofuPilot error body.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Scene = Callable[[BaseHTTPRequestHandler], None]


def answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> Scene:
    def scene(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return scene


def json_answer(status: int, document: Any, headers: dict[str, str] | None = None) -> Scene:
    return answer(status, json.dumps(document).encode(), headers)


def gzip_bomb(decoded_mb: int) -> Scene:
    """A small gzip body that decodes to `decoded_mb` MB of spaces (valid JSON padding)."""
    body = gzip.compress(b" " * (decoded_mb * 2**20), compresslevel=9)
    return answer(200, body, {"Content-Encoding": "gzip"})


def drip(interval: float = 0.2) -> Scene:
    """A 200 whose body comes a byte at a time, for ever (until the client leaves)."""

    def scene(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b"{")
        try:
            while True:
                time.sleep(interval)
                handler.wfile.write(b" ")
                handler.wfile.flush()
        except OSError:
            return

    return scene


def redirect(location: Callable[[int], str]) -> Scene:
    def scene(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location(handler.server.server_address[1]))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return scene


class HostileServer:
    """The scenes, served on 127.0.0.1 in a thread; `url` is the API base."""

    def __init__(self, scenes: dict[str, Scene]) -> None:
        self.scenes = scenes
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                path = self.path.split("?", 1)[0]
                scene = owner.scenes.get(path) or owner.scenes.get(self.path)
                if scene is None:
                    scene = json_answer(404, {"message": "not found", "code": "NOT_FOUND"})
                scene(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    @contextmanager
    def running(self) -> Iterator[HostileServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
