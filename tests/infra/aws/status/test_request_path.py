"""The request-path checks against the local stack (curl-free: the checks make their own HTTP requests, as they do
in CloudShell): the real function in its worker, the MRAP stand-in verifying SigV4A like S3, moto buckets. Broken
the ways a deployed chain breaks: a signer whose signature or credentials S3 refuses, a function that fails, a
passive or down Region, a missing object. Plus small local servers for what the stack cannot be made to do."""
from __future__ import annotations

import re
import socket
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from infra.aws.status.checklist import FAIL, PASS, SKIP, Check
from infra.aws.status.request_path import request_path_checks
from infra.aws.status.signing import url_signer
from infra.local.invoker import FunctionInvoker
from infra.local.stack import LocalStack, StackOptions, new_credentials
from infra.local.template import load_settings
from tests.infra.aws.status.helpers import HttpServer, SigningKey, check, signed_url_settings, signing_key


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Without the template's custom error responses, S3's and CloudFront's own error bodies reach the viewer and
    # each failure is decoded from its body; test_with_the_error_pages_the_check_says_the_body_was_replaced shows
    # what the check says through the deployed error pages.
    settings = replace(load_settings(), default_ttl=0, error_responses=())
    running = LocalStack(StackOptions(settings=settings, function_timeout_s=2.0)).start()
    yield running
    running.stop()


def run(local: LocalStack, region: str = "eu-west-2", **options: str) -> List[Check]:
    return request_path_checks(local.url(region), timeout=10, **options)


def test_the_healthy_path_passes_from_each_region(local: LocalStack) -> None:
    for region in ("eu-west-2", "us-east-2"):
        checks = run(local, region, key="images/red.png", expect_region=region)
        assert [c.state for c in checks] == [PASS, PASS, PASS], checks
        probe = check(checks, "probe").evidence
        assert re.match(rf"200 served by mrap-edge-demo-\w+-{region} \({region}\); x-cache Miss from cloudfront, "
                        rf"pop \w+-\w+, connect [\d.]+ ms, first byte [\d.]+ ms, total [\d.]+ ms$", probe), probe
        assert check(checks, "key images/red.png").evidence.startswith("200, 138 bytes, image/png")
        assert re.match(r"version \S+ of images/red.png: 200, same bytes", check(checks, "?versionId=").evidence)


def test_without_a_key_the_version_read_uses_the_probe(local: LocalStack) -> None:
    checks = run(local)
    assert [c.state for c in checks] == [PASS, SKIP, PASS]
    assert "of the probe: 200" in check(checks, "?versionId=").evidence


def test_a_signature_s3_refuses_is_decoded(local: LocalStack) -> None:
    for invoker in local.invokers.values():
        invoker.fault = "corrupt-signature"
    checks = run(local, key="images/red.png")
    assert [c.state for c in checks] == [FAIL, FAIL, SKIP]
    assert re.search(r": 403 from S3 \(SignatureDoesNotMatch, request id [0-9A-F]{16}\): S3 computed another "
                     r"signature", check(checks, "probe").evidence)


def test_a_signer_with_credentials_s3_does_not_know_is_decoded(local: LocalStack) -> None:
    wrong = FunctionInvoker(new_credentials(), region="eu-west-2", timeout_s=2.0)
    wrong.start()
    right, local.invokers["eu-west-2"] = local.invokers["eu-west-2"], wrong
    try:
        evidence = check(run(local), "probe").evidence
    finally:
        local.invokers["eu-west-2"] = right
        wrong.stop()
    assert "403 from S3 (InvalidAccessKeyId" in evidence and "not the role's" in evidence


def test_a_failing_function_is_cloudfronts_503(local: LocalStack) -> None:
    for invoker in local.invokers.values():
        invoker.fault = "raise"
    found = check(run(local), "probe")
    assert found.state == FAIL
    assert "503 from CloudFront (function failed, request id " in found.evidence
    assert "/aws/lambda/us-east-1.<function>" in found.evidence


def test_a_passive_region_serves_from_the_other_bucket(local: LocalStack) -> None:
    assert local.mrap is not None
    local.mrap.routing.set_dial("eu-west-2", 0)
    found = check(run(local, expect_region="eu-west-2"), "probe")
    assert found.state == FAIL
    assert re.match(r"served by mrap-edge-demo-\w+-us-east-2 \(us-east-2\), not by the eu-west-2 bucket",
                    found.evidence)
    assert "eu-west-2 is passive, down or not the nearest" in found.fix
    assert check(run(local), "probe").state == PASS  # without an expectation, being served is what counts


def test_every_region_down_is_s3s_503(local: LocalStack) -> None:
    assert local.mrap is not None
    for region in ("eu-west-2", "us-east-2"):
        local.mrap.routing.mark_down(region)
    local.cloudfront.settings = replace(local.cloudfront.settings, failover_codes=frozenset())
    found = check(run(local), "probe")
    assert "503 from S3 (ServiceUnavailable" in found.evidence and "every route is passive or down" in found.evidence


def test_a_missing_object_is_decoded(local: LocalStack) -> None:
    checks = run(local, key="images/not-replicated-yet.png")
    found = check(checks, "key images/not-replicated-yet.png")
    assert found.state == FAIL
    # The MRAP stand-in answers as S3 does to a reader without s3:ListBucket: 403 AccessDenied, not 404.
    assert re.search(r"403 from S3 \(AccessDenied, request id \S+\): the key is not in the bucket the MRAP chose",
                     found.evidence), found.evidence
    assert check(checks, "?versionId=").state == SKIP


def test_an_object_in_one_region_only_is_found_by_the_nearest(local: LocalStack) -> None:
    local.buckets.put("us-east-2", "images/ohio-only.png", b"only in Ohio")
    assert check(run(local, key="images/ohio-only.png"), "key").state == FAIL
    assert check(run(local, "us-east-2", key="images/ohio-only.png"), "key").state == PASS


def test_an_unreachable_url_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    checks = request_path_checks(f"http://127.0.0.1:{port}", timeout=2)
    assert checks[0].state == FAIL
    assert checks[0].evidence.startswith(f"GET http://127.0.0.1:{port}/mrap-edge-probe.json: ConnectionRefusedError")


Answer = Tuple[int, Dict[str, str], bytes]
PROBE = b'{"bucket":"images-london","region":"eu-west-2"}'


def test_a_version_read_refused_points_at_the_version_permission() -> None:
    def answer(path: str) -> Answer:
        if "versionId=" in path:
            return 403, {"Content-Type": "application/xml"}, (
                b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
                b"<RequestId>8J2DR5HQMXB3QS1K</RequestId></Error>")
        return 200, {"x-amz-version-id": "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"}, PROBE

    with HttpServer(answer) as server:
        checks = request_path_checks(server.url)
        assert server.requests[-1] == ("/mrap-edge-probe.json?versionId=3sL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY%2BMTRCxf3"
                                       "vjVBH40Nr8X8gdRQBpUMLUo")
    found = check(checks, "?versionId=")
    assert found.state == FAIL and "403 from S3 (AccessDenied" in found.evidence
    assert found.fix.startswith("grant s3:GetObjectVersion")


def test_no_version_id_means_versioning_is_off() -> None:
    with HttpServer(lambda path: (200, {}, PROBE)) as server:
        found = check(request_path_checks(server.url), "?versionId=")
    assert found.state == FAIL and "enable versioning" in found.fix


def test_a_version_read_served_the_latest_bytes_means_versionid_is_not_in_the_cache_key() -> None:
    def answer(path: str) -> Answer:
        body = b"old bytes" if "versionId=" in path else PROBE
        return 200, {"x-amz-version-id": "v1"}, body

    with HttpServer(answer) as server:
        found = check(request_path_checks(server.url), "?versionId=")
    assert found.state == FAIL and "cache key" in found.fix


def test_a_200_that_is_not_a_probe_says_to_upload_probes() -> None:
    with HttpServer(lambda path: (200, {"Content-Type": "text/html"}, b"<html>hello</html>")) as server:
        found = check(request_path_checks(server.url), "probe")
    assert found.state == FAIL and found.fix == "run scripts/upload-probes (it writes one probe per bucket)"


def test_with_the_error_pages_the_check_says_the_body_was_replaced() -> None:
    running = LocalStack(StackOptions(settings=replace(load_settings(), default_ttl=0), function_timeout_s=2.0))
    running.start()
    try:
        for invoker in running.invokers.values():
            invoker.fault = "corrupt-signature"
        probe = check(run(running), "probe")
    finally:
        running.stop()
    assert probe.state == FAIL
    assert "403 from the origin, body replaced" in probe.evidence and "see the function's log" in probe.evidence


# --- a behaviour that requires signed URLs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed() -> Iterator[Tuple[LocalStack, SigningKey]]:
    """The local stack with a key in the template's key slot 1: its CloudFront stand-in checks signed URLs as
    CloudFront does (infra/local/signed_requests.py, written apart from the link signer)."""
    with tempfile.TemporaryDirectory() as directory:
        key = signing_key(Path(directory))
        running = LocalStack(StackOptions(settings=signed_url_settings(key), function_timeout_s=2.0)).start()
        try:
            yield running, key
        finally:
            running.stop()


def test_unsigned_requests_are_cloudfronts_missing_key_and_the_fix_asks_for_a_key(
        signed: Tuple[LocalStack, SigningKey]) -> None:
    local, _ = signed
    found = check(request_path_checks(local.url("eu-west-2"), timeout=10), "probe")
    assert found.state == FAIL
    assert re.search(r"/mrap-edge-probe\.json: 403 from CloudFront \(signed URL refused: MissingKey, request id \S+\): "
                     r"the behaviour requires signed URLs", found.evidence), found.evidence
    assert "S3" not in found.evidence
    assert found.fix.startswith("the behaviour requires signed URLs: pass --key-pair-id")


def test_signed_requests_read_the_probe_a_key_and_a_version(signed: Tuple[LocalStack, SigningKey]) -> None:
    local, key = signed
    sign = url_signer(key.key_pair_id, key.private_key)
    checks = request_path_checks(local.url("us-east-2"), key="images/red.png", expect_region="us-east-2", timeout=10,
                                 sign=sign)
    assert [c.state for c in checks] == [PASS, PASS, PASS], checks
    assert local.cloudfront is not None and local.cloudfront.served[-1].target.startswith("/images/red.png?versionId=")
    assert all("Signature" not in c.evidence for c in checks)


def test_a_key_the_behaviour_does_not_trust_is_invalidkey(signed: Tuple[LocalStack, SigningKey],
                                                          tmp_path: Path) -> None:
    local, key = signed
    other = signing_key(tmp_path)
    found = check(request_path_checks(local.url("eu-west-2"), timeout=10,
                                      sign=url_signer(other.key_pair_id, other.private_key)), "probe")
    assert found.state == FAIL
    assert ".json (signed): 403 from CloudFront (signed URL refused: InvalidKey" in found.evidence
    assert found.fix.startswith("check that the key pair id is in the behaviour's trusted key group")


def test_the_right_id_with_another_private_key_is_cloudfronts_access_denied_not_s3s(
        signed: Tuple[LocalStack, SigningKey], tmp_path: Path) -> None:
    local, key = signed
    other = signing_key(tmp_path)
    found = check(request_path_checks(local.url("eu-west-2"), timeout=10,
                                      sign=url_signer(key.key_pair_id, other.private_key)), "probe")
    assert "403 from CloudFront (signed URL refused: AccessDenied" in found.evidence, found.evidence
    assert "signed with another private key" in found.evidence
