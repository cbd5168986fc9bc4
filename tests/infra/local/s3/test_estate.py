"""The account's real bucket states through the whole local path: an SSE-KMS object the role may not decrypt, an
archived object, a bucket policy's Deny on the company's VPC endpoint for the bucket the MRAP routed to, and
replication keeping (or, as S3 does, skipping) what a production bucket holds."""
from __future__ import annotations

from typing import List, Optional, Tuple

import pytest

from infra.local.s3.estate import PAYROLL_KEY, brownfield_estate
from infra.local.s3.replication import Rule
from infra.local.s3.versions import StoredVersion
from infra.local.stack import LocalStack
from tests.conftest import StartStack
from tests.curl import CurlResponse, curl

LONDON, OHIO = "eu-west-2", "us-east-2"


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> LocalStack:
    return start_stack(default_ttl=0, function_timeout_s=2.0, brownfield=True, estate=brownfield_estate())


def through_london(local: LocalStack, key: str) -> Tuple[CurlResponse, Optional[str]]:
    response = curl(local.url(LONDON, "/" + key))
    assert local.mrap is not None
    received = list(local.mrap.received)
    return response, received[-1].error_code if received else None


@pytest.mark.parametrize("key, error", [
    ("payroll/summary.png", "AccessDenied"),  # kms:Decrypt on the payroll key: only the payroll role
    ("archive/2019/launch.png", "InvalidObjectState"),
    ("internal/roadmap.png", "AccessDenied"),  # the bucket policy's Deny: not from the company's endpoint
], ids=["sse-kms", "archived", "bucket-policy-deny"])
def test_what_the_role_may_not_read_is_403_with_s3s_code(local: LocalStack, key: str, error: str) -> None:
    response, code = through_london(local, key)

    assert (response.status, code) == (403, error)


def test_the_rest_of_the_bucket_is_served(local: LocalStack) -> None:
    response, code = through_london(local, "images/red.png")

    assert (response.status, code) == (200, None)


def test_a_pre_gzipped_object_is_served_as_stored(local: LocalStack) -> None:
    response, _ = through_london(local, "assets/app.js")

    assert (response.status, response.header("content-encoding")) == (200, "gzip")
    assert response.body.startswith(b"\x1f\x8b")


def test_the_backfill_keeps_metadata_and_tags_and_skips_kms_and_archived_objects(local: LocalStack) -> None:
    if not local.backfills:
        assert local.backfill().wait(30)
    ohio = local.buckets.client(OHIO)
    bucket = local.buckets.buckets[OHIO].bucket

    head = ohio.head_object(Bucket=bucket, Key="assets/app.js")
    tags = ohio.get_object_tagging(Bucket=bucket, Key="assets/app.js")["TagSet"]
    copied: List[str] = [v.key for v in local.buckets.ledger.versions(OHIO)]

    assert (head["ContentEncoding"], head["Metadata"], head["ContentType"]) == (
        "gzip", {"build": "2019.4"}, "application/javascript")
    assert tags == [{"Key": "team", "Value": "web"}]
    assert "payroll/summary.png" not in copied  # SSE-KMS: the rule does not opt in
    assert "archive/2019/launch.png" not in copied  # Glacier Flexible Retrieval: never replicated
    assert "internal/roadmap.png" in copied


def test_a_rule_that_opts_in_replicates_sse_kms_objects() -> None:
    from infra.local.s3.replication import Replication

    version = StoredVersion(1, LONDON, "k", "v1", "m1", False, kms_key_id=PAYROLL_KEY)
    opted_in = Rule("r", 1, True, "", True, OHIO, sse_kms=True)
    default = Rule("r", 1, True, "", True, OHIO)

    class Rules(Replication):
        def __init__(self, rule: Rule) -> None:  # only the rules, no buckets
            self.rules = {LONDON: [rule]}

    assert Rules(opted_in).eligible(version, OHIO)
    assert not Rules(default).eligible(version, OHIO)
