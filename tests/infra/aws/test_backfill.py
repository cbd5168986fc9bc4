"""S3 Batch Replication backfill on the account model (tests/infra/aws/account.py: jobs, their manifests, their 90
days in ListJobs, on the account's clock); AWS's refusals through botocore Stubber; the record and buckets on moto."""
from __future__ import annotations

import datetime
import json
from typing import List

import pytest

from infra.aws import backfill
from infra.aws.clients import ToolError
from infra.aws.regions import Bucket, parse_buckets

from infra.aws import replication, rules
from infra.cli import backfill as backfill_cli
from infra.cli.common import EXIT_NOT_YET

from .account import Account, ModelMrap
from .helpers import ACCOUNT, BUCKETS, CODE_BUCKET, LONDON, MRAP_ARN, OHIO, Clients, make_bucket

SEED = parse_buckets(BUCKETS)
BATCH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-backfill"
REPLICATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-replication"


def test_a_job_is_created_as_batch_replication_documents_it(aws: Account) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    make_bucket(aws, OHIO, "us-east-2")
    _our_rules(aws)
    said: List[str] = []
    job = backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, said.append)
    assert job.region == "eu-west-2" and job.running
    assert said == [f"backfill {LONDON} -> {OHIO}: job {job.job_id} started in eu-west-2 (report of failed tasks: "
                    f"s3://{LONDON}/mrap-edge-backfill/reports/)"]
    (made,) = aws.jobs
    assert len(made.manifest) == 2 and made.destinations == [OHIO]


def test_create_job_access_denied_is_one_line_with_the_permissions_and_how_to_resume(aws: Clients) -> None:
    aws.stub("s3control").add_client_error("create_job", "AccessDenied", "Access Denied", 403)
    with pytest.raises(ToolError) as raised:
        backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, lambda _: None)
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"unable to start the backfill of {LONDON} (S3 Batch Replication): AccessDenied")
    assert "s3:CreateJob in eu-west-2" in text and f"iam:PassRole on {BATCH_ROLE}" in text
    assert text.endswith("scripts/backfill --stack-name mrap-edge --resume")


def test_progress_shows_the_rate_and_an_estimate_from_the_progress_summary() -> None:
    job = backfill.Job("j", "eu-west-2", LONDON, (OHIO,), "Active", total=1_200_000, succeeded=299_000, failed=1_000,
                       elapsed_s=600)
    line = backfill.progress_line(job)
    assert "300,000 of 1,200,000 objects (25.0%)" in line and "1,000 failed" in line
    assert "500.0 objects/s" in line and "about 30 min left" in line
    preparing = backfill.Job("j", "eu-west-2", LONDON, (OHIO,), "Preparing")
    assert backfill.progress_line(preparing).endswith("Preparing, S3 is listing the objects to copy")


def _our_rules(aws: Account) -> None:
    replication.put_replication(aws, "mrap-edge", SEED, REPLICATION_ROLE, rtc=False, say=lambda _: None)


def _seed_with_replication_in_place(aws: Account) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    make_bucket(aws, OHIO, "us-east-2")
    make_bucket(aws, CODE_BUCKET, "us-east-1", versioned=False)
    _our_rules(aws)


def test_wait_prints_progress_until_the_job_is_final(aws: Account) -> None:
    _seed_with_replication_in_place(aws)
    start = backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, lambda _: None)
    said: List[str] = []
    (final,) = backfill.wait_for_jobs(aws, ACCOUNT, "mrap-edge", [start], said.append, aws.clock.sleep, poll=600)
    assert final.clean and final.total == 2
    assert "S3 is listing the objects to copy" in said[0] and "2 of 2 objects" in said[-1]
    assert aws("s3", "us-east-2").list_objects_v2(Bucket=OHIO)["KeyCount"] == 2


def test_resume_starts_the_job_waits_for_it_and_makes_ohio_active(aws: Account) -> None:
    # GIVEN Ohio passive (deploy made it so) while London's objects are not copied
    _seed_with_replication_in_place(aws)
    aws.mraps[MRAP_ARN] = ModelMrap("mrap-edge", MRAP_ARN, [(LONDON, "eu-west-2"), (OHIO, "us-east-2")],
                                    aws.clock.now, {"us-east-2": [(aws.clock.now, 0)]})
    record = backfill.load_record(aws, CODE_BUCKET, "mrap-edge")
    record.set_passive("us-east-2", True)
    # WHEN resuming THEN a job is started, waited for, and Ohio made active once it completed cleanly
    said: List[str] = []
    plan = backfill.resume(aws, ACCOUNT, "mrap-edge", SEED, record, MRAP_ARN, said.append, aws.clock.sleep)
    assert not plan.incomplete
    assert "routes: us-east-2 (mrap-edge-demo-us-east-2) passive -> active" in said
    stored = json.loads(aws("s3", "us-east-1").get_object(Bucket=CODE_BUCKET,
                                                          Key="mrap-edge/backfill/mrap-edge.json")["Body"].read())
    assert stored["complete"][f"{LONDON}->{OHIO}"].startswith("job ")
    assert stored["made_passive"] == []


def test_a_failed_job_keeps_ohio_passive_and_is_replaced_by_resume(aws: Account) -> None:
    # GIVEN a job whose manifest was empty (nothing eligible: the rules were not there yet)
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    make_bucket(aws, OHIO, "us-east-2")
    make_bucket(aws, CODE_BUCKET, "us-east-1", versioned=False)
    backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, lambda _: None)
    aws.clock.advance(datetime.timedelta(hours=1))
    _our_rules(aws)
    record = backfill.load_record(aws, CODE_BUCKET, "mrap-edge")
    plan = backfill.plan_backfill(aws, ACCOUNT, "mrap-edge", SEED, record)
    assert plan.incomplete == {OHIO} and len(plan.broken) == 1 and not plan.to_start
    assert rules.EMPTY_MANIFEST_REASON in backfill.progress_line(plan.broken[0]) or plan.broken[0].status == "Failed"
    assert not record.is_complete(LONDON, OHIO)


def test_a_source_that_is_empty_once_replication_is_set_up_needs_no_job(aws: Account) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    aws("s3", "eu-west-2").put_object(Bucket=LONDON, Key="mrap-edge-probe.json", Body=b"{}")  # ours: not data
    record = backfill.Record(bucket=CODE_BUCKET, key="k")
    plan = backfill.plan_backfill(aws, ACCOUNT, "mrap-edge", SEED, record)
    assert not plan.to_start and not plan.incomplete
    assert record.is_complete(LONDON, OHIO) and record.is_complete(OHIO, LONDON)


def test_a_completed_job_from_before_the_bucket_was_created_is_not_taken_as_done(aws: Account) -> None:
    # GIVEN a deployment whose backfill completed, then a teardown that deleted Ohio, 30 days later
    _seed_with_replication_in_place(aws)
    record = backfill.load_record(aws, CODE_BUCKET, "mrap-edge")
    backfill.resume(aws, ACCOUNT, "mrap-edge", SEED, record, "", lambda _: None, aws.clock.sleep)
    assert record.is_complete(LONDON, OHIO)
    aws.clock.advance(datetime.timedelta(days=30))
    ohio = aws("s3", "us-east-2")
    for version in ohio.list_object_versions(Bucket=OHIO).get("Versions", []):
        ohio.delete_object(Bucket=OHIO, Key=version["Key"], VersionId=version["VersionId"])
    ohio.delete_bucket(Bucket=OHIO)
    backfill.delete_record(aws, CODE_BUCKET, "mrap-edge")
    # WHEN Ohio is created again with the same name (ListJobs still lists the old, completed job)
    make_bucket(aws, OHIO, "us-east-2")
    _our_rules(aws)
    assert any(j.status(aws.clock.now) == "Complete" for j in aws.listed_jobs("eu-west-2"))
    record = backfill.load_record(aws, CODE_BUCKET, "mrap-edge")
    plan = backfill.plan_backfill(aws, ACCOUNT, "mrap-edge", SEED, record)
    # THEN the old job does not count for the new, empty Ohio: a new job is planned and Ohio stays passive
    assert plan.incomplete == {OHIO} and [b.name for b in plan.to_start] == [LONDON]
    assert not record.is_complete(LONDON, OHIO)


def test_jobs_are_forgotten_90_days_after_they_end(aws: Account) -> None:
    _seed_with_replication_in_place(aws)
    backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, lambda _: None)
    aws.clock.advance(rules.JOB_HISTORY)
    assert backfill.list_stack_jobs(aws, ACCOUNT, "mrap-edge", ["eu-west-2"])
    aws.clock.advance(datetime.timedelta(days=1))
    assert backfill.list_stack_jobs(aws, ACCOUNT, "mrap-edge", ["eu-west-2"]) == []


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


def test_status_says_what_is_complete_and_exits_not_yet_while_something_is_missing(aws: Account,
                                                                              capsys: pytest.CaptureFixture[str],
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_with_replication_in_place(aws)
    record = backfill.Record(bucket=CODE_BUCKET, key="mrap-edge/backfill/mrap-edge.json",
                             complete={f"{OHIO}->{LONDON}": "source empty once replication was set up"}, changed=True)
    backfill.save_record(aws, record)
    monkeypatch.setattr(backfill_cli, "stack_outputs", lambda clients, name: {
        "BucketNames": f"{LONDON},{OHIO}", "BucketRegions": "eu-west-2,us-east-2", "MrapArn": MRAP_ARN})
    backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, lambda _: None)
    aws.clock.advance(datetime.timedelta(minutes=15))
    assert backfill_cli.main(["--stack-name", "mrap-edge"], clients=aws) == EXIT_NOT_YET
    out = capsys.readouterr().out
    assert f"{OHIO} -> {LONDON}: complete (source empty once replication was set up)" in out
    assert f"{LONDON} -> {OHIO}: not recorded complete" in out
    assert "0 of 2 objects (0.0%)" in out


def test_a_job_description_names_the_stack_the_source_and_the_destinations() -> None:
    text = backfill.job_description("mrap-edge", Bucket(LONDON, "eu-west-2"), [Bucket(OHIO, "us-east-2")])
    assert text == f"mrap-edge backfill mrap-edge {LONDON} to {OHIO}"
    assert text.startswith(backfill.stack_job_prefix("mrap-edge"))
    assert backfill.parse_description("mrap-edge", text) == (LONDON, [OHIO])


def test_a_source_that_already_replicates_elsewhere_also_copies_its_completed_objects(aws: Account) -> None:
    # GIVEN London replicates to the user's backup bucket with our role, so its objects are COMPLETED though not in Ohio
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    backup = {"ID": "nightly-backup", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
              "DeleteMarkerReplication": {"Status": "Disabled"},
              "Destination": {"Bucket": "arn:aws:s3:::images-backup"}}
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
        "Role": REPLICATION_ROLE, "Rules": [backup]})
    # WHEN the backfill starts THEN COMPLETED objects are in the manifest too, and the user is told
    said: List[str] = []
    backfill.start_job(aws, ACCOUNT, "mrap-edge", SEED[0], SEED[1:], BATCH_ROLE, said.append)
    assert "already replicated are included" in said[-1] and "nightly-backup" in said[-1]


def test_an_aws_error_in_scripts_backfill_is_one_line(aws: Clients, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_with_replication_in_place(aws)
    monkeypatch.setattr(backfill_cli, "stack_outputs", lambda clients, name: {
        "BucketNames": f"{LONDON},{OHIO}", "BucketRegions": "eu-west-2,us-east-2", "MrapArn": MRAP_ARN})
    aws.stub("s3control").add_client_error("list_jobs", "AccessDenied", "Access Denied", 403)
    assert backfill_cli.main(["--status"], clients=aws) == 1
    err = capsys.readouterr().err
    assert err == ("backfill: unable to list the Batch Operations jobs in eu-west-2: AccessDenied (Access Denied); "
                   "the caller needs s3:ListJobs\n")
