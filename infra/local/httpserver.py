"""The HTTP plumbing both stand-ins share: a threaded server on 127.0.0.1 (port 0 unless given) that knows which
client Region it serves, and a request handler that hands every method to one `handle` and answers with exactly
the headers given (plus Content-Length)."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Type

__all__ = ["Listener", "RequestHandler", "RegionalListeners", "ListenedStandIn", "stop_all"]

# How often a server's loop looks for a stop request (socketserver's default is 0.5 s, which every stop waited).
POLL_INTERVAL_S = 0.05


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog (socketserver's default is 5): at a few dozen concurrent clients a backlog of 5 overflows,
    # the kernel drops the SYNs and clients retry after one to three seconds.
    request_queue_size = 1024

    def __init__(self, address: Tuple[str, int], handler: Type[BaseHTTPRequestHandler], app: Any, region: str) -> None:
        super().__init__(address, handler)
        self.app = app
        self.client_region = region  # the location of the clients reaching this port
        self._connections: Set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection, kept-alive ones included (their threads would otherwise serve on)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class RequestHandler(BaseHTTPRequestHandler):
    """Subclasses implement `handle_request()`; `self.server.app` is the stand-in, `client_region` its port's Region."""

    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # seconds an idle kept-alive connection stays open

    def setup(self) -> None:
        super().setup()
        # Each response is one write anyway (see respond); no small write may wait for the peer's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_request(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def parse_request(self) -> bool:
        """http.server's parsing, then the request target exactly as received: CPython collapses a leading "//"
        (an open-redirect guard for file servers) and reads the request line as ISO-8859-1. S3 keys may begin with
        "/", and CloudFront passes a raw UTF-8 target through, so `self.path` is the target's bytes read as UTF-8
        (ISO-8859-1 when they are not UTF-8, so that no byte is lost)."""
        if not super().parse_request():
            return False
        words = self.raw_requestline.rstrip(b"\r\n").split()
        if len(words) >= 2:
            self.path = _utf8(words[1].decode("latin-1"))
        return True

    def _dispatch(self) -> None:
        try:
            self.handle_request()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; nothing to answer

    do_GET = do_HEAD = do_OPTIONS = do_PUT = do_POST = do_DELETE = do_PATCH = _dispatch

    @property
    def app(self) -> Any:
        return self.server.app

    @property
    def client_region(self) -> str:
        return self.server.client_region

    def request_headers(self) -> List[Tuple[str, str]]:
        # http.server decodes header bytes as latin-1; restore the UTF-8 a client may have sent.
        return [(name, _utf8(value)) for name, value in self.headers.items()]

    def request_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def respond(
        self, status: int, headers: Iterable[Tuple[str, str]], body: bytes, reason: Optional[str] = None
    ) -> None:
        self.send_response_only(status, reason)
        length_sent = False
        for name, value in headers:
            if name.lower() == "content-length":
                if length_sent:
                    continue
                length_sent = True
            self.send_header(name, value)
        if not length_sent:
            self.send_header("Content-Length", str(len(body)))
        # Status line, headers and body in one write: two small writes on a kept-alive connection make the second
        # wait for the client's delayed ACK of the first (Nagle), about 40 ms per response.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and status not in (204, 304) and body:
            self._headers_buffer.append(body)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stand-ins keep their own records; per-request stderr lines would drown the demo


def _utf8(value: str) -> str:
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Listener:
    """One server on one port, serving in a background thread. Stopping is two steps, so that many listeners can
    be told to stop before any is waited for: `request_stop()` (returns at once), then `stop()`."""

    def __init__(self, handler: Type[RequestHandler], app: Any, region: str, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), handler, app, region)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_INTERVAL_S,),
                                        name=f"{type(app).__name__}-{region}", daemon=True)
        self._stopping: Optional[threading.Thread] = None

    @property
    def address(self) -> Tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def region(self) -> str:
        return self._server.client_region

    def start(self) -> "Listener":
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the serving loop to end (socketserver's shutdown() waits for it: here in a thread of its own)."""
        if self._stopping is None and self._thread.is_alive():
            self._stopping = threading.Thread(target=self._server.shutdown, daemon=True)
            self._stopping.start()

    def stop(self) -> None:
        self.request_stop()
        if self._stopping is not None:
            self._stopping.join(timeout=5)
        self._server.server_close()
        self._server.close_connections()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)


class RegionalListeners:
    """A stand-in's servers: one port per client Region, which is how a client's location reaches it (as DNS
    gives each client the nearest edge), without adding anything to the request."""

    def __init__(self, handler: Type[RequestHandler], app: Any) -> None:
        self._handler = handler
        self._app = app
        self._by_region: Dict[str, Listener] = {}

    def start(self, regions: Iterable[str]) -> Dict[str, Tuple[str, int]]:
        for region in regions:
            self._by_region[region] = Listener(self._handler, self._app, region).start()
        return self.addresses

    def request_stop(self) -> None:
        for listener in self._by_region.values():
            listener.request_stop()

    def stop(self) -> None:
        self.request_stop()  # every listener first, then wait for each
        for listener in self._by_region.values():
            listener.stop()

    @property
    def addresses(self) -> Dict[str, Tuple[str, int]]:
        return {region: listener.address for region, listener in self._by_region.items()}


class ListenedStandIn:
    """A stand-in reached on one port per client location: its lifecycle is that of its RegionalListeners."""

    _listeners: RegionalListeners
    _places: Tuple[str, ...]

    def _listen(self, handler: Type[RequestHandler], places: Iterable[str]) -> None:
        self._listeners = RegionalListeners(handler, self)
        self._places = tuple(places)

    def start(self) -> Dict[str, Tuple[str, int]]:
        return self._listeners.start(self._places)

    def request_stop(self) -> None:
        self._listeners.request_stop()

    def stop(self) -> None:
        self._listeners.stop()

    @property
    def addresses(self) -> Dict[str, Tuple[str, int]]:
        """Per client location, where a client there reaches this stand-in (its "DNS answer")."""
        return self._listeners.addresses


def stop_all(stand_ins: Iterable[Optional[ListenedStandIn]]) -> None:
    """Ask every listener of every stand-in to stop before waiting for any (each wait is up to a poll interval)."""
    for stand_in in stand_ins:
        if stand_in is not None and hasattr(stand_in, "_listeners"):
            stand_in.request_stop()
