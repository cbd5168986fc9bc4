"""S3 Batch Replication backfill: CreateJob / DescribeJob / ListJobs through botocore Stubber (moto has none of
them), with answers shaped like the s3control model, AWS's refusals included; the record and the buckets on moto."""
from __future__ import annotations

import datetime
import json
from typing import List

import pytest

from infra.aws import backfill
from infra.aws.clients import ToolError
from infra.aws.regions import Bucket, parse_buckets

from .helpers import (ACCOUNT, BUCKETS, CODE_BUCKET, LONDON, MRAP_ARN, OHIO, Clients, describe_answer,
                      expect_create_job, expect_get_routes, expect_list_jobs, job_item, make_bucket)

SEED = parse_buckets(BUCKETS)
BATCH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-backfill"


def test_a_job_is_created_as_batch_replication_documents_it(aws: Clients) -> None:
    expect_create_job(aws, "job-1")
    said: List[str] = []
    job = backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, said.append)
    assert job.job_id == "job-1" and job.region == "eu-west-2" and job.running
    assert said == [f"backfill {LONDON} -> {OHIO}: job job-1 started in eu-west-2 (report of failed tasks: "
                    f"s3://{LONDON}/mrap-edge-backfill/reports/)"]
    aws.stubs["s3control"].assert_no_pending_responses()


def test_create_job_access_denied_is_one_line_with_the_permissions_and_how_to_resume(aws: Clients) -> None:
    aws.stub("s3control").add_client_error("create_job", "AccessDenied", "Access Denied", 403)
    with pytest.raises(ToolError) as raised:
        backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, lambda _: None)
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"unable to start the backfill of {LONDON} (S3 Batch Replication): AccessDenied")
    assert "s3:CreateJob in eu-west-2" in text and f"iam:PassRole on {BATCH_ROLE}" in text
    assert text.endswith("scripts/backfill --stack-name mrap-edge --resume")


def test_a_role_created_seconds_ago_is_retried_until_batch_operations_can_assume_it(aws: Clients) -> None:
    stub = aws.stub("s3control")
    stub.add_client_error("create_job", "AccessDenied", "Unable to assume role: " + BATCH_ROLE, 403)
    expect_create_job(aws, "job-2")
    sleeps: List[float] = []
    job = backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, lambda _: None,
                             sleep=sleeps.append, role_is_new=True)
    assert job.job_id == "job-2" and sleeps == [10]


def test_list_stack_jobs_finds_only_this_stacks_backfill_jobs_across_pages_newest_first(aws: Clients) -> None:
    stub = aws.stub("s3control")
    older = datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)
    other_operation = dict(job_item("copy-1", "Complete"), Operation="S3PutObjectCopy")
    stub.add_response("list_jobs", {"Jobs": [job_item("job-old", "Failed", created=older),
                                             job_item("other-stack", "Active", stack="mrap-edge-2"),
                                             other_operation], "NextToken": "page-2"}, {"AccountId": ACCOUNT})
    stub.add_response("list_jobs", {"Jobs": [job_item("job-new", "Active")]},
                      {"AccountId": ACCOUNT, "NextToken": "page-2"})
    jobs = backfill.list_stack_jobs(aws, ACCOUNT, "mrap-edge", ["eu-west-2"])
    assert [j.job_id for j in jobs] == ["job-new", "job-old"]
    assert jobs[0].source == LONDON and jobs[0].destinations == (OHIO,)
    assert backfill.parse_description("mrap-edge", "mrap-edge backfill mrap-edge-2 a to b") is None
    assert backfill.parse_description("mrap-edge", "another tool's job, 29 chars:images-london to images-ohio") is None


def test_progress_shows_the_rate_and_an_estimate_from_the_progress_summary() -> None:
    job = backfill.Job("j", "eu-west-2", LONDON, (OHIO,), "Active", total=1_200_000, succeeded=299_000, failed=1_000,
                       elapsed_s=600)
    line = backfill.progress_line(job)
    assert "300,000 of 1,200,000 objects (25.0%)" in line and "1,000 failed" in line
    assert "500.0 objects/s" in line and "about 30 min left" in line
    preparing = backfill.Job("j", "eu-west-2", LONDON, (OHIO,), "Preparing")
    assert backfill.progress_line(preparing).endswith("Preparing, S3 is listing the objects to copy")


def test_wait_prints_progress_until_the_job_is_final(aws: Clients) -> None:
    stub = aws.stub("s3control")
    for status, done in (("Active", 1), ("Complete", 3)):
        stub.add_response("describe_job", describe_answer("job-1", status, total=3, succeeded=done, elapsed=5),
                          {"AccountId": ACCOUNT, "JobId": "job-1"})
    said: List[str] = []
    sleeps: List[float] = []
    start = backfill.Job("job-1", "eu-west-2", LONDON, (OHIO,), "New")
    (final,) = backfill.wait_for_jobs(aws, ACCOUNT, "mrap-edge", [start], said.append, sleeps.append, poll=30)
    assert final.clean and sleeps == [30]
    assert "1 of 3 objects" in said[0] and "3 of 3 objects" in said[1]


def _seed_with_replication_in_place(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    make_bucket(aws, OHIO, "us-east-2")
    make_bucket(aws, CODE_BUCKET, "us-east-1", versioned=False)


def test_resume_replaces_a_failed_job_waits_for_the_new_one_and_makes_ohio_active(aws: Clients) -> None:
    # GIVEN the last backfill of London ended Failed (its role could not read the manifest) and Ohio is passive
    _seed_with_replication_in_place(aws)
    record = backfill.load_record(aws, CODE_BUCKET, "mrap-edge")
    record.mark(OHIO, LONDON, "source empty once replication was set up")
    failed = job_item("job-1", "Failed", total=0)
    expect_list_jobs(aws, [failed])
    # WHEN resuming THEN a new job is started, waited for, and Ohio made active once it completed cleanly
    expect_create_job(aws, "job-2")
    stub = aws.stub("s3control")
    stub.add_response("describe_job", describe_answer("job-2", "Complete", total=2, succeeded=2, elapsed=4),
                      {"AccountId": ACCOUNT, "JobId": "job-2"})
    later = datetime.datetime(2026, 12, 1, 23, 0, tzinfo=datetime.timezone.utc)
    expect_list_jobs(aws, [job_item("job-2", "Complete", total=2, succeeded=2, created=later), failed])
    expect_get_routes(aws, 100, 0)
    stub.add_response("submit_multi_region_access_point_routes", {}, {
        "AccountId": ACCOUNT, "Mrap": MRAP_ARN,
        "RouteUpdates": [{"Bucket": OHIO, "Region": "us-east-2", "TrafficDialPercentage": 100}]})
    expect_get_routes(aws, 100, 100)
    said: List[str] = []
    plan = backfill.resume(aws, ACCOUNT, "mrap-edge", SEED, record, MRAP_ARN, said.append, lambda _: None)
    assert not plan.incomplete
    assert any("job job-2 started" in line for line in said)
    assert "routes: us-east-2 (mrap-edge-demo-us-east-2) passive -> active" in said
    stored = json.loads(aws("s3", "us-east-1").get_object(Bucket=CODE_BUCKET,
                                                          Key="mrap-edge/backfill/mrap-edge.json")["Body"].read())
    assert stored["complete"][f"{LONDON}->{OHIO}"] == "job job-2 complete"
    stub.assert_no_pending_responses()


def test_a_job_with_failed_tasks_is_not_complete_and_ohio_stays_passive(aws: Clients) -> None:
    _seed_with_replication_in_place(aws)
    record = backfill.load_record(aws, CODE_BUCKET, "mrap-edge")
    record.mark(OHIO, LONDON, "source empty once replication was set up")
    expect_list_jobs(aws, [job_item("job-1", "Complete", total=2, succeeded=1, failed=1)])
    plan = backfill.plan_backfill(aws, ACCOUNT, "mrap-edge", SEED, record)
    assert plan.incomplete == {OHIO} and [j.job_id for j in plan.broken] == ["job-1"] and not plan.to_start
    assert not record.is_complete(LONDON, OHIO)


def test_a_source_that_is_empty_once_replication_is_set_up_needs_no_job(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    aws("s3", "eu-west-2").put_object(Bucket=LONDON, Key="mrap-edge-probe.json", Body=b"{}")  # ours: not data
    record = backfill.Record(bucket=CODE_BUCKET, key="k")
    expect_list_jobs(aws, regions=["eu-west-2", "us-east-2"])
    plan = backfill.plan_backfill(aws, ACCOUNT, "mrap-edge", SEED, record)
    assert not plan.to_start and not plan.incomplete
    assert record.is_complete(LONDON, OHIO) and record.is_complete(OHIO, LONDON)


@pytest.mark.parametrize("incomplete, sources, expected", [
    ({OHIO}, [LONDON], {"eu-west-2": 100, "us-east-2": 0}),
    ({OHIO, LONDON}, [OHIO, LONDON], {"eu-west-2": 100, "us-east-2": 0}),
    ({OHIO, LONDON}, [OHIO], {"eu-west-2": 0, "us-east-2": 100}),
    (set(), [], {"eu-west-2": 100, "us-east-2": 100}),
], ids=["the new bucket waits", "both missing: the first bucket holding data serves",
        "both missing: the one holding data serves", "complete: all active"])
def test_one_region_always_stays_active(incomplete: set, sources: List[str], expected: dict) -> None:
    assert backfill.wanted_routes(SEED, incomplete, sources) == expected


def test_the_batch_role_has_exactly_the_documented_actions_for_a_generated_manifest(aws: Clients) -> None:
    arn, created = backfill.ensure_batch_role(aws, ACCOUNT, "mrap-edge", SEED, lambda _: None)
    assert arn == BATCH_ROLE and created
    role = aws("iam", "us-east-1").get_role(RoleName="mrap-edge-backfill")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "batchoperations.s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    document = backfill.batch_role_policy(SEED)
    actions = sorted(a for statement in document["Statement"] for a in statement["Action"])
    assert actions == sorted(["s3:InitiateReplication", "s3:GetReplicationConfiguration",
                              "s3:PutInventoryConfiguration", "s3:GetObject", "s3:GetObjectVersion",
                              "s3:PutObject"])
    writes = next(s for s in document["Statement"] if s["Action"] == ["s3:PutObject"])
    assert writes["Resource"] == [f"arn:aws:s3:::{b.name}/mrap-edge-backfill/*" for b in SEED]


def test_status_says_what_is_complete_and_exits_2_while_something_is_missing(aws: Clients,
                                                                              capsys: pytest.CaptureFixture[str],
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_with_replication_in_place(aws)
    record = backfill.Record(bucket=CODE_BUCKET, key="mrap-edge/backfill/mrap-edge.json",
                             complete={f"{OHIO}->{LONDON}": "source empty once replication was set up"}, changed=True)
    backfill.save_record(aws, record)
    monkeypatch.setattr(backfill, "stack_outputs", lambda clients, name: {
        "BucketNames": f"{LONDON},{OHIO}", "BucketRegions": "eu-west-2,us-east-2", "MrapArn": MRAP_ARN})
    expect_list_jobs(aws, [job_item("job-1", "Active", total=4, succeeded=2, elapsed=8)], regions=["a", "b"])
    assert backfill.main(["--stack-name", "mrap-edge"], clients=aws) == 2
    out = capsys.readouterr().out
    assert f"{OHIO} -> {LONDON}: complete (source empty once replication was set up)" in out
    assert f"{LONDON} -> {OHIO}: not recorded complete" in out
    assert "2 of 4 objects (50.0%)" in out and "about 8 s left" in out


def test_a_job_description_names_the_stack_the_source_and_the_destinations() -> None:
    text = backfill.job_description("mrap-edge", Bucket(LONDON, "eu-west-2"), [Bucket(OHIO, "us-east-2")])
    assert text == f"mrap-edge backfill mrap-edge {LONDON} to {OHIO}"
    assert text.startswith(backfill.stack_job_prefix("mrap-edge"))
    assert backfill.parse_description("mrap-edge", text) == (LONDON, [OHIO])


def test_a_source_that_already_replicates_elsewhere_also_copies_its_completed_objects(aws: Clients) -> None:
    # GIVEN London replicates to the user's backup bucket, so its objects are COMPLETED though not in Ohio
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    backup = {"ID": "nightly-backup", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
              "DeleteMarkerReplication": {"Status": "Disabled"},
              "Destination": {"Bucket": "arn:aws:s3:::images-backup"}}
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
        "Role": f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-replication", "Rules": [backup]})
    # WHEN the backfill starts THEN COMPLETED objects are in the manifest too, and the user is told
    expect_create_job(aws, "job-3", statuses=("NONE", "FAILED", "COMPLETED"))
    said: List[str] = []
    backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, said.append)
    assert "already replicated are included" in said[-1] and "nightly-backup" in said[-1]
    aws.stubs["s3control"].assert_no_pending_responses()


def test_an_aws_error_in_scripts_backfill_is_one_line(aws: Clients, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_with_replication_in_place(aws)
    monkeypatch.setattr(backfill, "stack_outputs", lambda clients, name: {
        "BucketNames": f"{LONDON},{OHIO}", "BucketRegions": "eu-west-2,us-east-2", "MrapArn": MRAP_ARN})
    aws.stub("s3control").add_client_error("list_jobs", "AccessDenied", "Access Denied", 403)
    assert backfill.main(["--status"], clients=aws) == 1
    err = capsys.readouterr().err
    assert err == ("backfill: unable to list the Batch Operations jobs in eu-west-2: AccessDenied (Access Denied); "
                   "the caller needs s3:ListJobs\n")
