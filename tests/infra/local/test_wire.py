"""HTTP between the stand-ins: SigV4 for S3 that keeps every value of a repeated header, and kept-alive
connections that are reused and replaced when the server closes them."""
from __future__ import annotations

import time

from botocore.credentials import Credentials

from infra.local.s3.verifier import Credentials as VerifierCredentials
from infra.local.s3.verifier import S3Verifier
from infra.local.wire import ConnectionPool, send, signed_s3_headers
from tests.infra.local.helpers import RecordingOrigin

CREDENTIALS = Credentials("AKIDWIRETEST", "wire-test-secret")
HOST = "bucket.s3.us-east-2.amazonaws.com"


def test_signing_keeps_every_value_of_a_repeated_header_and_signs_them_all() -> None:
    headers = [("Host", HOST), ("Access-Control-Request-Headers", "x-one"), ("X-Amz-Cf-Id", "abc"),
               ("Access-Control-Request-Headers", "x-two")]

    signed = signed_s3_headers("GET", HOST, "/key.png", headers, "us-east-2", CREDENTIALS)

    assert [v for n, v in signed if n.lower() == "access-control-request-headers"] == ["x-one", "x-two"]
    assert [n for n, _ in signed].count("Host") == 1
    verifier = S3Verifier(credentials=[VerifierCredentials("AKIDWIRETEST", "wire-test-secret")], region="us-east-2",
                          expected_host=HOST)
    verified = verifier.verify(method="GET", target="/key.png", headers=signed)
    assert "access-control-request-headers" in verified.signed_headers


def test_a_kept_alive_connection_is_reused_and_replaced_once_the_server_has_closed_it() -> None:
    pool = ConnectionPool()
    with RecordingOrigin(b"one") as origin:
        address = origin.address
        first = send(address, "GET", "/a", [("Host", "origin")], 5, pool=pool)
        second = send(address, "GET", "/b", [("Host", "origin")], 5, pool=pool)
        client_ports = [port for *_, port in origin.requests]
    # The server went away, closing the idle connection; it comes back (here: on another port, given the old
    # connection as if the port were the same).
    with RecordingOrigin(b"two") as restarted:
        pool._idle[restarted.address] = pool._idle.pop(address)
        third = send(restarted.address, "GET", "/c", [("Host", "origin")], 5, pool=pool)
    pool.close()

    assert (first[0], first[3], second[3], third[3]) == (200, b"one", b"one", b"two")
    assert client_ports[0] == client_ports[1]  # one connection for both


def test_idle_connections_expire_even_to_a_server_no_longer_asked_for() -> None:
    pool = ConnectionPool(idle_s=0.2)
    with RecordingOrigin() as gone, RecordingOrigin() as other:
        send(gone.address, "GET", "/", [("Host", "origin")], 5, pool=pool)
        time.sleep(0.3)
        send(other.address, "GET", "/", [("Host", "origin")], 5, pool=pool)
        kept = {address: len(idle) for address, idle in pool._idle.items()}
    pool.close()

    assert kept == {other.address: 1}  # the connection to the first server was closed, not kept forever
