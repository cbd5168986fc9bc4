"""Serve the example app with the standard library's WSGI server, one thread per connection (a browser loads a
page's images over several connections at once)."""
from __future__ import annotations

import socketserver
import threading
from typing import Any, Tuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

__all__ = ["AppServer", "start_server"]


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per request is noise in a demo or a test
        pass


class AppServer:
    """A running server; `url` is where it listens, `stop()` ends it."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="example-app", daemon=True)

    @property
    def address(self) -> Tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def url(self, host: str = "") -> str:
        return f"http://{host or self.address[0]}:{self.address[1]}"

    def start(self) -> "AppServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_server(app: Any, host: str = "127.0.0.1", port: int = 0) -> AppServer:
    return AppServer(app, host, port).start()
