"""scripts/upload-probes: one uncached probe per bucket, never while a backfill could copy one over another, and a
probe version that S3 queued for replication is deleted again before failing."""
from __future__ import annotations

import json
from typing import List

import boto3
import pytest
from botocore.stub import ANY, Stubber

from infra.aws import probes
from infra.aws.clients import ToolError
from infra.aws.regions import Bucket, parse_buckets
from infra.aws.replication import PROBE_KEY

from .helpers import BUCKETS, Clients, expect_list_jobs, job_item, make_bucket


def test_upload_probes_writes_one_uncached_probe_per_bucket(aws: Clients) -> None:
    buckets = parse_buckets(BUCKETS)
    for bucket in buckets:
        make_bucket(aws, bucket.name, bucket.region)
    expect_list_jobs(aws, regions=["eu-west-2", "us-east-2"])
    assert probes.main(["--buckets", BUCKETS], clients=aws) == 0
    for bucket in buckets:
        answer = aws("s3", bucket.region).get_object(Bucket=bucket.name, Key=PROBE_KEY)
        assert json.loads(answer["Body"].read()) == {"bucket": bucket.name, "region": bucket.region}
        assert answer["CacheControl"] == "no-store" and answer["ContentType"] == "application/json"


def test_probes_are_not_written_while_a_backfill_job_runs(aws: Clients) -> None:
    buckets = parse_buckets(BUCKETS)
    for bucket in buckets:
        make_bucket(aws, bucket.name, bucket.region)
    expect_list_jobs(aws, [job_item("job-1", "Active", total=10, succeeded=3)], regions=["eu-west-2", "us-east-2"])
    with pytest.raises(ToolError, match="backfill job job-1 .* is Active"):
        probes.upload_probes(aws, buckets, say=lambda _: None, stack_name="mrap-edge")
    for bucket in buckets:
        assert "Contents" not in aws("s3", bucket.region).list_objects_v2(Bucket=bucket.name)


def test_a_probe_queued_for_replication_is_deleted_again_before_failing() -> None:
    s3 = boto3.client("s3", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(s3)
    stub.add_response("put_object", {"ETag": '"1"', "VersionId": "v-new"},
                      {"Bucket": "a-bucket", "Key": PROBE_KEY, "Body": ANY, "ContentType": "application/json",
                       "CacheControl": "no-store"})
    stub.add_response("head_object", {"ReplicationStatus": "PENDING", "VersionId": "v-new"},
                      {"Bucket": "a-bucket", "Key": PROBE_KEY, "VersionId": "v-new"})
    stub.add_response("delete_object", {"VersionId": "v-new"},
                      {"Bucket": "a-bucket", "Key": PROBE_KEY, "VersionId": "v-new"})
    with stub, pytest.raises(ToolError, match="ReplicationStatus PENDING; the new version v-new was deleted again"):
        probes.upload_probes(lambda service, region: s3, [Bucket("a-bucket", "eu-west-2")], say=lambda _: None)
    stub.assert_no_pending_responses()


def test_a_refused_probe_write_is_one_line() -> None:
    s3 = boto3.client("s3", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(s3)
    stub.add_client_error("put_object", "AccessDenied", "Access Denied", 403)
    said: List[str] = []
    with stub, pytest.raises(ToolError) as raised:
        probes.upload_probes(lambda service, region: s3, [Bucket("a-bucket", "eu-west-2")], say=said.append)
    assert str(raised.value) == (f"unable to write the probe s3://a-bucket/{PROBE_KEY}: AccessDenied (Access Denied); "
                                 "the caller needs s3:PutObject and s3:GetObject on the bucket")


def test_an_unexpected_aws_error_in_upload_probes_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(sts)
    stub.add_client_error("get_caller_identity", "InvalidClientTokenId", "The security token included in the "
                          "request is invalid.", 403)
    with stub:
        code = probes.main(["--buckets", BUCKETS], clients=lambda service, region: sts)
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("upload-probes: unable to call GetCallerIdentity: InvalidClientTokenId")
