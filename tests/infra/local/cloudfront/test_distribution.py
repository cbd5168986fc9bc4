"""The CloudFront stand-in under concurrency and over time, through the whole local stack: a hung invocation does
not hold up a location, repeated headers reach the buckets intact on both paths, and what it keeps is bounded."""
from __future__ import annotations

import http.client
import threading
import time
import tracemalloc
from pathlib import Path
from typing import List, Tuple

import pytest

from infra.local.s3.buckets import BACKEND_CREDENTIALS, RegionalBucket
from infra.local.s3.verifier import Credentials as VerifierCredentials
from infra.local.s3.verifier import S3Verifier
from infra.local.samples import sample_objects
from infra.local.stack import LocalStack
from tests.conftest import StartStack
from tests.curl import curl
from tests.infra.local.helpers import RecordingOrigin

RED = sample_objects()["images/red.png"]
RECORD_LIMIT = 20
REPEATED = ["-H", "Access-Control-Request-Headers: x-one", "-H", "Access-Control-Request-Headers: x-two"]


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> LocalStack:
    return start_stack(default_ttl=0, function_timeout_s=3.0, function_workers=4, record_limit=RECORD_LIMIT)


def _values(headers: List[Tuple[str, str]], name: str) -> List[str]:
    return [value for key, value in headers if key.lower() == name]


def test_a_hung_invocation_does_not_hold_up_other_viewers_of_its_location(local: LocalStack) -> None:
    invoker = local.invokers["eu-west-2"]
    invoker.fault = "timeout"
    hung: List[int] = []
    thread = threading.Thread(target=lambda: hung.append(curl(local.url("eu-west-2", "/index.txt")).status))
    thread.start()
    deadline = time.monotonic() + 10
    while invoker.busy == 0 and time.monotonic() < deadline:
        time.sleep(0.005)  # until the hung request is in its environment
    invoker.fault = None

    served = [curl(local.url("eu-west-2", "/images/red.png")) for _ in range(5)]
    still_hung = thread.is_alive()
    thread.join()

    assert [(r.status, r.body) for r in served] == [(200, RED)] * 5
    assert still_hung  # the five were served while the hung invocation waited for its timeout
    assert hung == [503]
    assert local.cloudfront.totals["function timeout"] == 1


def test_a_repeated_header_reaches_the_failover_bucket_intact_and_signed(local: LocalStack) -> None:
    assert local.cloudfront is not None and local.mrap is not None
    local.mrap.forced_status = 503
    failover_host = local.settings.failover.domain_name
    resolve = local.cloudfront.resolve
    with RecordingOrigin(b"from the failover bucket") as bucket:
        local.cloudfront.resolve = lambda host, pop: bucket.address if host == failover_host else resolve(host, pop)
        try:
            response = curl(local.url("eu-west-2", "/index.txt"), *REPEATED)
        finally:
            local.cloudfront.resolve = resolve

    assert response.body == b"from the failover bucket"
    [(method, target, headers, _)] = bucket.requests
    assert _values(headers, "access-control-request-headers") == ["x-one", "x-two"]
    oac = local.oac_credentials  # origin access control signs with credentials of its own, not the function's
    verifier = S3Verifier(credentials=[VerifierCredentials(oac.access_key_id, oac.secret_access_key,
                                                           oac.session_token)],
                          region=local.options.failover_region, expected_host=failover_host)
    signed = verifier.verify(method=method, target=target, headers=headers).signed_headers
    assert "access-control-request-headers" in signed


def test_a_repeated_header_reaches_the_bucket_behind_the_mrap_intact(local: LocalStack,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert local.mrap is not None
    with RecordingOrigin(b"from the London bucket") as bucket:
        host, port = bucket.address
        monkeypatch.setitem(local.mrap.buckets, "eu-west-2",
                            RegionalBucket("eu-west-2", local.buckets.buckets["eu-west-2"].bucket, host, port))
        response = curl(local.url("eu-west-2", "/index.txt"), *REPEATED)

    assert (response.status, response.body) == (200, b"from the London bucket")
    [received] = local.mrap.received
    assert received.verified and received.header("access-control-request-headers") == ["x-one", "x-two"]
    [(method, target, headers, _)] = bucket.requests
    assert _values(headers, "access-control-request-headers") == ["x-one", "x-two"]
    verifier = S3Verifier(credentials=[VerifierCredentials(BACKEND_CREDENTIALS.access_key,
                                                           BACKEND_CREDENTIALS.secret_key)], region="eu-west-2")
    assert "access-control-request-headers" in verifier.verify(method=method, target=target,
                                                               headers=headers).signed_headers


def _get_many(address: Tuple[str, int], count: int) -> None:
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        for _ in range(count):
            connection.request("GET", "/images/red.png")
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, RED)
    finally:
        connection.close()


def test_what_the_stand_ins_keep_is_bounded_over_many_requests(local: LocalStack, tmp_path: Path) -> None:
    assert local.cloudfront is not None and local.mrap is not None
    local.cloudfront.record_dir, local.cloudfront.recorded_events_limit = tmp_path, 5
    address = local.cloudfront.addresses["us-east-2"]
    tracemalloc.start()
    try:
        _get_many(address, 3 * RECORD_LIMIT)  # the records are full from here on
        full = tracemalloc.get_traced_memory()[0]
        _get_many(address, 5 * RECORD_LIMIT)
        grown = tracemalloc.get_traced_memory()[0] - full
    finally:
        tracemalloc.stop()
        local.cloudfront.record_dir = None

    # The latest requests are kept, every one is counted, and only the first events were written.
    assert len(local.cloudfront.served) == len(local.cloudfront.invocations) == RECORD_LIMIT
    assert len(local.mrap.received) == RECORD_LIMIT
    assert local.cloudfront.totals["requests"] == local.cloudfront.totals["status 200"] == 8 * RECORD_LIMIT
    assert len(list(tmp_path.glob("*.json"))) == 5 and local.cloudfront.recorded_events == 5
    # Unbounded, each request kept about 15 KB (its events, the function's results, the MRAP's receipt): 1.5 MB here.
    # Bounded, what is left is noise (tens of KB).
    assert grown < 300_000, f"{grown} bytes more after {5 * RECORD_LIMIT} requests"
