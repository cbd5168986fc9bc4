"""S3's canonical form on every hop: whatever spelling a viewer uses, the function (towards the MRAP) and origin
access control (towards the failover bucket) send and sign the string S3 rebuilds, the servers keep the request
target exactly as received, and the cache key reads query names as forwarding does."""
from __future__ import annotations

import socket
from typing import List

import pytest

from infra.local.stack import LocalStack
from infra.local.wire import s3_canonical_target
from tests.conftest import StartStack
from tests.curl import curl

AWKWARD_SPELLINGS = [
    "/photos/caf%c3%a9.png",  # lower-case escapes
    "/photos/%7Etilde%2Edot.png",  # escaped unreserved characters
    "/photos/(1):@!*',$~.png",  # raw sub-delimiters
]
KEYS = {
    "/photos/caf%c3%a9.png": "photos/café.png",
    "/photos/%7Etilde%2Edot.png": "photos/~tilde.dot.png",
    "/photos/(1):@!*',$~.png": "photos/(1):@!*',$~.png",
}


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> LocalStack:
    return start_stack(default_ttl=0, function_timeout_s=2.0)


def _put_everywhere(local: LocalStack, key: str, body: bytes) -> None:
    for region in local.options.regions:
        local.buckets.put(region, key, body)


def _fail_over(local: LocalStack) -> None:
    assert local.mrap is not None
    local.mrap.forced_status = 503  # every request fails over to the bucket behind origin access control


def _failover_codes(local: LocalStack) -> List[object]:
    assert local.failover_endpoint is not None
    return [(r.status, r.error_code) for r in local.failover_endpoint.received]


@pytest.mark.parametrize("viewer_path", AWKWARD_SPELLINGS, ids=["lower-hex", "escaped-unreserved", "sub-delims"])
def test_failover_through_origin_access_control_accepts_every_spelling(local: LocalStack, viewer_path: str) -> None:
    _put_everywhere(local, KEYS[viewer_path], b"served by the failover bucket")
    _fail_over(local)

    response = curl(local.url("eu-west-2", viewer_path))

    assert (response.status, response.body) == (200, b"served by the failover bucket"), _failover_codes(local)
    assert _failover_codes(local) == [(200, None)]


def test_an_escaped_query_value_fails_over_to_its_version(local: LocalStack) -> None:
    failover = str(local.options.failover_region)
    first = local.buckets.put(failover, "versioned-hop.txt", b"first")
    local.buckets.put(failover, "versioned-hop.txt", b"second")
    _fail_over(local)
    escaped = "".join(f"%{ord(c):02x}" for c in first[:3]) + first[3:]

    response = curl(local.url("eu-west-2", f"/versioned-hop.txt?versionId={escaped}"))

    assert (response.status, response.body) == (200, b"first"), _failover_codes(local)


@pytest.mark.parametrize("failover", [False, True], ids=["mrap", "failover-bucket"])
def test_a_raw_plus_names_a_plus_through_either_origin(local: LocalStack, failover: bool) -> None:
    _put_everywhere(local, "plus/a+b.txt", b"a plus b")
    _put_everywhere(local, "plus/a b.txt", b"a space b")
    if failover:
        _fail_over(local)

    response = curl(local.url("eu-west-2", "/plus/a+b.txt"))

    assert (response.status, response.body) == (200, b"a plus b")


def test_origin_access_control_sends_s3s_canonical_form() -> None:
    assert s3_canonical_target("/a/caf%c3%a9%7E(1)+ /%2F?versionId=a%2fb%7e&x") == \
        "/a/caf%C3%A9~%281%29%2B%20//?versionId=a%2Fb~&x"


@pytest.mark.parametrize("failover", [False, True], ids=["mrap", "failover-bucket"])
def test_a_leading_double_slash_is_kept_on_every_hop(local: LocalStack, failover: bool) -> None:
    _put_everywhere(local, "k.txt", b"key without a slash")
    _put_everywhere(local, "/k.txt", b"key beginning with a slash")
    if failover:
        _fail_over(local)

    assert curl(local.url("eu-west-2", "//k.txt")).body == b"key beginning with a slash"
    assert curl(local.url("eu-west-2", "/%2Fk.txt")).body == b"key beginning with a slash"


def test_a_raw_utf8_request_line_is_read_as_utf8(local: LocalStack) -> None:
    _put_everywhere(local, "photos/naïve.txt", b"utf-8 key")
    assert local.cloudfront is not None
    host, port = local.cloudfront.addresses["eu-west-2"]
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall("GET /photos/naïve.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode("utf-8"))
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert answer.endswith(b"utf-8 key")


def test_the_cache_key_reads_parameter_names_as_forwarding_does(local: LocalStack) -> None:
    assert local.cloudfront is not None
    local.cloudfront.cache_ttl = 60
    first = local.buckets.put("eu-west-2", "cached-version.txt", b"old")
    local.buckets.put("eu-west-2", "cached-version.txt", b"new")

    old = curl(local.url("eu-west-2", f"/cached-version.txt?version%49d={first}"))
    plain = curl(local.url("eu-west-2", "/cached-version.txt"))

    assert old.body == b"old"
    assert (plain.body, plain.header("x-cache")) == (b"new", "Miss from cloudfront")
