"""The HTTP server both stand-ins are built on: kept-alive connections without a Nagle stall, and a listen
backlog that holds a burst of connections."""
from __future__ import annotations

import http.client
import socket
import socketserver
import threading
import time
from typing import Iterator, List, Optional

import pytest

from infra.local.httpserver import Listener, RegionalListeners, RequestHandler

BODY = b"x" * 900


class _Echo(RequestHandler):
    def handle_request(self) -> None:
        self.respond(200, [("Content-Type", "text/plain")], BODY)


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener(_Echo, app=None, region="eu-west-2").start()
    yield running
    running.stop()


def test_sequential_requests_on_a_kept_alive_connection_do_not_stall(listener: Listener) -> None:
    # With the headers and the body in two writes, each response waits ~40 ms for the client's delayed ACK:
    # 50 requests would take over 2 s.
    connection = http.client.HTTPConnection(*listener.address, timeout=10)
    connection.request("GET", "/")  # the connection's first exchange is not what is measured
    connection.getresponse().read()
    started = time.perf_counter()
    for _ in range(50):
        connection.request("GET", "/")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, BODY)
    elapsed = time.perf_counter() - started
    connection.close()

    assert elapsed < 1.0, f"50 kept-alive requests took {elapsed:.2f} s"


def test_a_burst_of_connections_fits_in_the_listen_backlog() -> None:
    # Not serving yet: every connection waits in the kernel's accept queue, whose length is the backlog.
    listener = Listener(_Echo, app=None, region="eu-west-2")
    sockets: List[socket.socket] = []
    try:
        for _ in range(200):
            client = socket.socket()
            client.settimeout(0.5)  # a connection over the backlog is not answered (its SYN is dropped)
            client.connect(listener.address)
            sockets.append(client)
    finally:
        for client in sockets:
            client.close()
        listener.start()
        listener.stop()

    assert len(sockets) == 200


def test_a_response_has_status_headers_and_body_once(listener: Listener) -> None:
    connection = http.client.HTTPConnection(*listener.address, timeout=10)
    connection.request("HEAD", "/")
    head = connection.getresponse()
    head.read()
    connection.request("GET", "/")
    response = connection.getresponse()
    body = response.read()
    connection.close()

    assert head.getheader("content-length") == str(len(BODY))
    assert body == BODY
    assert [name.lower() for name, _ in response.getheaders()].count("content-length") == 1


def test_every_listener_is_told_to_stop_before_any_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    events: List[str] = []
    shutdown = socketserver.BaseServer.shutdown

    def recorded_shutdown(server: socketserver.BaseServer) -> None:
        events.append("asked")
        shutdown(server)
        events.append("stopped")

    monkeypatch.setattr(socketserver.BaseServer, "shutdown", recorded_shutdown)
    listeners = RegionalListeners(_Echo, None)
    listeners.start(["eu-west-2", "us-east-2", "houston"])
    original_join = threading.Thread.join

    def recorded_join(thread: threading.Thread, timeout: Optional[float] = None) -> None:
        events.append("join")
        original_join(thread, timeout)

    monkeypatch.setattr(threading.Thread, "join", recorded_join)
    listeners.stop()
    monkeypatch.undo()

    assert events.count("asked") == 3
    first_join = events.index("join")
    assert all(event != "asked" for event in events[first_join:]), events  # all asked before the first wait
