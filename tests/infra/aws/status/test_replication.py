"""The buckets and replication checks on moto's S3 and CloudWatch (versioning, replication configurations,
listing and HEAD are modelled there; replication itself is not, so each test writes what replication would have)."""
from __future__ import annotations

import datetime
import re
from typing import Iterator, List

import pytest

from infra.aws.status import replication
from infra.aws.status.backfill import BackfillJob
from infra.aws.status.checklist import FAIL, PASS, Check
from tests.infra.aws.status.helpers import (
    BUCKETS, LONDON, OHIO, AwsWorld, aws_world, check, make_buckets, put_replication, put_rules,
)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(monkeypatch) as made:
        yield made


def run(world: AwsWorld, jobs=(), jobs_error: str = "") -> List[Check]:
    return replication.replication_checks(world, BUCKETS, jobs, jobs_error)


def test_two_way_replication_with_metrics_passes(world: AwsWorld) -> None:
    make_buckets(world)
    checks = run(world)
    assert [(c.name, c.state) for c in checks if c.state != PASS] == []
    assert check(checks, "replication from images-london").evidence == "to-us-east-2 -> us-east-2"
    assert check(checks, "replication eu-west-2 -> us-east-2").evidence.startswith("no data")
    assert check(checks, "newest keys of images-london").evidence == "images/red.png: in all 2 buckets"
    assert check(checks, "backfill jobs").evidence.startswith("none")


def test_versioning_off_fails(world: AwsWorld) -> None:
    for bucket in BUCKETS:
        world("s3", bucket.region).create_bucket(Bucket=bucket.name,
                                                 CreateBucketConfiguration={"LocationConstraint": bucket.region})
    world("s3", OHIO.region).put_bucket_versioning(Bucket=OHIO.name, VersioningConfiguration={"Status": "Suspended"})
    london, ohio = replication.versioning_checks(world, BUCKETS)
    assert (london.state, london.evidence) == (FAIL, "never enabled")
    assert (ohio.state, ohio.evidence) == (FAIL, "Suspended")
    assert "put-bucket-versioning --bucket images-london" in london.fix


def test_a_bucket_without_replication_fails(world: AwsWorld) -> None:
    make_buckets(world, with_replication=False)
    put_rules(world, LONDON)
    found = check(run(world), "replication from images-ohio")
    assert found.state == FAIL and found.evidence == "no replication configuration"


def test_a_missing_direction_fails_and_foreign_rules_are_listed(world: AwsWorld) -> None:
    make_buckets(world)
    world("s3", "eu-west-1").create_bucket(Bucket="images-backup",
                                           CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    put_replication(world, OHIO, [
        {"ID": "backup", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
         "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": "arn:aws:s3:::images-backup"}}],
        role="arn:aws:iam::123456789012:role/backup")
    found = check(run(world), "replication from images-ohio")
    assert found.state == FAIL
    assert found.evidence == ("no rule to the other buckets; other rules kept: backup -> images-backup; "
                              "no enabled rule replicates every key to images-london")


def test_a_replicated_probe_and_a_rule_without_metrics_fail(world: AwsWorld) -> None:
    make_buckets(world)
    put_rules(world, OHIO, metrics=False, probe_rule=False)
    found = check(run(world), "replication from images-ohio")
    assert found.state == FAIL
    assert "mrap-edge-probe.json replicates to images-london" in found.evidence
    assert "rule to-eu-west-2 has no replication metrics" in found.evidence


@pytest.mark.parametrize("rule_filter", [
    {"Prefix": "images/"},
    {"And": {"Prefix": "", "Tags": [{"Key": "replicate", "Value": "yes"}]}},
], ids=["a prefix only", "tagged objects only"])
def test_a_rule_for_some_keys_only_does_not_count(world: AwsWorld, rule_filter: dict) -> None:
    make_buckets(world, with_replication=False)
    put_rules(world, LONDON)
    put_replication(world, OHIO, [
        {"ID": "some-only", "Priority": 1, "Status": "Enabled", "Filter": rule_filter,
         "DeleteMarkerReplication": {"Status": "Enabled"},
         "Destination": {"Bucket": f"arn:aws:s3:::{LONDON.name}", "Metrics": {"Status": "Enabled"}}}])
    found = check(run(world), "replication from images-ohio")
    assert found.state == FAIL and "no enabled rule replicates every key to images-london" in found.evidence


def test_failed_replication_operations_in_the_last_hour_fail(world: AwsWorld) -> None:
    make_buckets(world)
    now = datetime.datetime.now(datetime.timezone.utc)
    dimensions = [{"Name": "SourceBucket", "Value": LONDON.name}, {"Name": "DestinationBucket", "Value": OHIO.name},
                  {"Name": "RuleId", "Value": "to-us-east-2"}]
    stamp = now - datetime.timedelta(minutes=5)
    world("cloudwatch", LONDON.region).put_metric_data(Namespace="AWS/S3", MetricData=[
        {"MetricName": "OperationsFailedReplication", "Dimensions": dimensions, "Timestamp": stamp, "Value": 4.0},
        {"MetricName": "ReplicationLatency", "Dimensions": dimensions, "Timestamp": stamp, "Value": 42.0},
        {"MetricName": "OperationsPendingReplication", "Dimensions": dimensions, "Timestamp": stamp, "Value": 17.0},
        {"MetricName": "BytesPendingReplication", "Dimensions": dimensions, "Timestamp": stamp, "Value": 1.5e6},
    ])
    checks = replication.replication_checks(world, BUCKETS, [], "", now=now)
    found = check(checks, "replication eu-west-2 -> us-east-2")
    assert found.state == FAIL
    assert found.evidence == "max latency 42 s, pending 17 operations (1500000 bytes), 4 failed"
    assert check(checks, "replication us-east-2 -> eu-west-2").state == PASS


def test_a_key_missing_from_another_bucket_fails(world: AwsWorld) -> None:
    make_buckets(world)
    world("s3", LONDON.region).put_object(Bucket=LONDON.name, Key="images/new.png", Body=b"new")
    found = check(run(world), "newest keys of images-london")
    assert found.state == FAIL
    assert re.search(r"images/new\.png \(written \d+ s ago\) not in images-ohio, may still be in flight$",
                     found.evidence), found.evidence
    assert check(run(world), "newest keys of images-ohio").state == PASS
    tomorrow = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    later = check(replication.spot_checks(world, BUCKETS, tomorrow), "newest keys of images-london")
    assert later.state == FAIL and later.evidence.endswith("images/new.png (written 24 h ago) not in images-ohio")


def _job(status: str, failed: int = 0) -> BackfillJob:
    return BackfillJob("8d3b5a1f", LONDON, status, 100, 100 - failed, failed, None, 60,
                       reason="", report="s3://mrap-edge-reports-eu-west-2/backfill/images-london")


@pytest.mark.parametrize("job, state, text", [
    (_job("Active"), PASS, "Active, 100% done"),
    (_job("Complete"), PASS, "Complete, 100% done (100 of 100 objects)"),
    (_job("Complete", failed=3), FAIL, "3 failed"),
    (_job("Failed"), FAIL, "Failed"),
    (_job("Suspended"), FAIL, "Suspended"),
], ids=["running", "complete", "complete with failures", "failed", "waiting for confirmation"])
def test_backfill_job_states(job: BackfillJob, state: str, text: str) -> None:
    (found,) = replication.backfill_checks(BUCKETS, [job], "")
    assert found.state == state and text in found.evidence
    if job.status == "Suspended":
        assert "--requested-job-status Ready" in found.fix


def test_backfill_unknown_fails_with_the_permission() -> None:
    (found,) = replication.backfill_checks(BUCKETS, None, "AccessDenied (Access Denied)")
    assert found.state == FAIL and "s3:ListJobs and s3:DescribeJob" in found.fix
