"""Helpers shared by the local stand-ins' tests."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import List, Tuple

from infra.local.function.invoker import AwsCredentials, FunctionInvoker
from infra.local.httpserver import Listener, RequestHandler

__all__ = ["handler_zip", "zip_invoker", "RecordingOrigin"]


def handler_zip(directory: Path, handler_source: str) -> Path:
    """A deployment zip whose `edge.handler` module is `handler_source` (it defines `lambda_handler`)."""
    package = directory / "function.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("edge/__init__.py", "")
        archive.writestr("edge/handler.py", handler_source)
    return package


def zip_invoker(directory: Path, handler_source: str, **options) -> FunctionInvoker:
    """An invoker running a small stand-in handler (python -I -S starts it in a few tens of ms)."""
    return FunctionInvoker(AwsCredentials("AKIDTEST", "secret"), zip_path=handler_zip(directory, handler_source),
                           **options)


class RecordingOrigin:
    """An HTTP origin on 127.0.0.1 that answers 200 with `body` and keeps every request it received."""

    def __init__(self, body: bytes = b"recorded") -> None:
        self.body = body
        # (method, target, headers, the client's port: one per connection)
        self.requests: List[Tuple[str, str, List[Tuple[str, str]], int]] = []
        self._listener = Listener(_RecordingHandler, self, "local")

    @property
    def address(self) -> Tuple[str, int]:
        return self._listener.address

    def __enter__(self) -> "RecordingOrigin":
        self._listener.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.stop()


class _RecordingHandler(RequestHandler):
    def handle_request(self) -> None:
        self.app.requests.append((self.command, self.path, self.request_headers(), self.client_address[1]))
        self.respond(200, [("Content-Type", "text/plain")], self.app.body)
