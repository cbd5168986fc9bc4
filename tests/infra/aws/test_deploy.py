"""scripts/deploy: the whole flow on moto (S3, IAM, STS, CloudFormation) with botocore Stubber for what moto lacks
(S3 Batch Operations jobs, the MRAP routes, CloudFront); the seed case (a full London bucket and a new Ohio one)
from the first run to the activation of Ohio; the dry run; one-line errors."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.aws import deploy as deploy_module
from infra.aws.clients import ToolError
from infra.aws.regions import parse_buckets

from .helpers import (ACCOUNT, BUCKETS, CODE_BUCKET, DIST_ID, LONDON, MRAP_ARN, OHIO, Clients, ReadOnly,
                      bucket_policy_or_none, expect_create_job, expect_get_routes, expect_list_jobs, expect_report,
                      job_item, make_bucket, rules_of, run_deploy)


def _record(aws: Clients) -> Any:
    return json.loads(aws("s3", "us-east-1").get_object(Bucket=CODE_BUCKET,
                                                        Key="mrap-edge/backfill/mrap-edge.json")["Body"].read())


def test_deploy_creates_everything_then_a_second_run_changes_nothing(aws: Clients, package: Path,
                                                                     template: Path) -> None:
    # GIVEN an empty account WHEN deploying with bucket creation and RTC
    expect_list_jobs(aws, regions=["eu-west-2", "us-east-2"])
    expect_get_routes(aws)
    expect_report(aws)
    code, said = run_deploy(aws, package, template, "--create-buckets", "--rtc")
    assert code == 0, said
    # THEN the package is in us-east-1 under its hash
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    aws("s3", "us-east-1").head_object(Bucket=CODE_BUCKET, Key=f"mrap-edge/{digest}.zip")
    # AND each Regional bucket is versioned, encrypted, private and replicates to the other, probe excluded
    for bucket in parse_buckets(BUCKETS):
        regional = aws("s3", bucket.region)
        assert regional.get_bucket_versioning(Bucket=bucket.name)["Status"] == "Enabled"
        assert regional.get_bucket_encryption(Bucket=bucket.name)["ServerSideEncryptionConfiguration"]["Rules"]
        assert all(regional.get_public_access_block(Bucket=bucket.name)["PublicAccessBlockConfiguration"].values())
        assert {r["Status"] for r in rules_of(aws, bucket.name, bucket.region)} == {"Enabled", "Disabled"}
    # AND both buckets were empty once replication was set up: nothing to backfill, both Regions stay active
    assert sorted(_record(aws)["complete"]) == [f"{LONDON}->{OHIO}", f"{OHIO}->{LONDON}"]
    assert "routes: no change" in said
    # AND the stack was created with the code key, and the failover bucket admits the distribution
    (stack,) = aws("cloudformation", "us-east-1").describe_stacks(StackName="mrap-edge")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["CodeKey"] == f"mrap-edge/{digest}.zip"
    policy = json.loads(aws("s3", "eu-west-2").get_bucket_policy(Bucket=LONDON)["Policy"])
    assert policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"].endswith(f"distribution/{DIST_ID}")
    assert policy["Statement"][0]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert bucket_policy_or_none(aws, OHIO) is None  # the function signs for the other one
    # AND the page the custom error responses serve is in the failover bucket
    aws("s3", "eu-west-2").head_object(Bucket=LONDON, Key="_mrap-edge/errors/error.html")
    assert any("MRAP route eu-west-2" in line and "active" in line for line in said)
    assert any(line.startswith("  DistributionId") for line in said)

    # WHEN deploying again with nothing changed THEN nothing is uploaded, no change set is made, "no changes"
    change_sets_before = aws("cloudformation", "us-east-1").list_change_sets(StackName="mrap-edge")["Summaries"]
    expect_get_routes(aws)
    expect_report(aws)
    code, said = run_deploy(aws, package, template, "--create-buckets", "--rtc")
    assert code == 0, said
    assert "stack mrap-edge: no changes" in said
    assert any("already uploaded" in line for line in said)
    assert any("unchanged" in line for line in said)
    assert not any(line.startswith(("bucket policy of", "role ", "created", "uploaded", "replication ")) and
                   "unchanged" not in line for line in said), said
    assert aws("cloudformation", "us-east-1").list_change_sets(StackName="mrap-edge")["Summaries"] == change_sets_before
    aws.stubs["s3control"].assert_no_pending_responses()


def test_the_seed_case_backfills_london_into_ohio_and_activates_ohio_when_the_job_completes(
        aws: Clients, package: Path, template: Path) -> None:
    # GIVEN the user's London bucket, versioned and full of images, and no Ohio bucket yet
    make_bucket(aws, LONDON, "eu-west-2", objects=3)
    # WHEN deploying with --create-buckets
    expect_list_jobs(aws, regions=["eu-west-2", "us-east-2"])
    expect_create_job(aws, "job-1")
    stub = aws.stub("s3control")
    expect_get_routes(aws, 100, 100)  # a new MRAP: every Region active
    stub.add_response("submit_multi_region_access_point_routes", {}, {
        "AccountId": ACCOUNT, "Mrap": MRAP_ARN,
        "RouteUpdates": [{"Bucket": OHIO, "Region": "us-east-2", "TrafficDialPercentage": 0}]})
    expect_get_routes(aws, 100, 0)
    expect_report(aws, 100, 0)
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said
    # THEN London is used as it is, and said to hold objects (not claimed empty); Ohio is created
    assert any(line.startswith(f"bucket {LONDON} (eu-west-2) exists and holds 3 object(s)") for line in said), said
    assert f"created bucket {OHIO} (us-east-2)" in said
    # AND a Batch Replication job copies London into Ohio (CreateJob as stubbed above), with its own role
    assert any(line.startswith(f"backfill {LONDON} -> {OHIO}: job job-1 started") for line in said), said
    role = aws("iam", "us-east-1").get_role(RoleName="mrap-edge-backfill")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "batchoperations.s3.amazonaws.com"}
    # AND Ohio stays passive while it lacks London's objects; London serves
    assert "routes: us-east-2 (mrap-edge-demo-us-east-2) active -> passive" in said
    assert _record(aws)["complete"] == {f"{OHIO}->{LONDON}": "source empty once replication was set up"}

    # WHEN deploying again while the job runs THEN its progress is shown and Ohio stays passive
    expect_list_jobs(aws, [job_item("job-1", "Active", total=3, succeeded=1, elapsed=10)])
    expect_get_routes(aws, 100, 0)
    expect_report(aws, 100, 0)
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said
    assert any("job job-1" in line and "1 of 3 objects (33.3%)" in line and "about 20 s left" in line
               for line in said), said
    assert "routes: no change" in said

    # WHEN deploying after the job completed THEN Ohio is made active, and the pair recorded complete
    expect_list_jobs(aws, [job_item("job-1", "Complete", total=3, succeeded=3, elapsed=30)])
    expect_get_routes(aws, 100, 0)
    stub.add_response("submit_multi_region_access_point_routes", {}, {
        "AccountId": ACCOUNT, "Mrap": MRAP_ARN,
        "RouteUpdates": [{"Bucket": OHIO, "Region": "us-east-2", "TrafficDialPercentage": 100}]})
    expect_get_routes(aws, 100, 100)
    expect_report(aws, 100, 100)
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said
    assert "routes: us-east-2 (mrap-edge-demo-us-east-2) passive -> active" in said
    assert _record(aws)["complete"][f"{LONDON}->{OHIO}"] == "job job-1 complete"
    stub.assert_no_pending_responses()


def test_a_job_that_failed_keeps_its_destination_passive_and_says_how_to_resume(aws: Clients, package: Path,
                                                                                template: Path) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    make_bucket(aws, OHIO, "us-east-2")
    expect_list_jobs(aws, [job_item("job-9", "Complete", total=2, succeeded=1, failed=1, elapsed=5)],
                     regions=["eu-west-2", "us-east-2"])
    expect_get_routes(aws, 100, 100)
    aws.stub("s3control").add_response("submit_multi_region_access_point_routes", {}, {
        "AccountId": ACCOUNT, "Mrap": MRAP_ARN,
        "RouteUpdates": [{"Bucket": OHIO, "Region": "us-east-2", "TrafficDialPercentage": 0}]})
    expect_get_routes(aws, 100, 0)
    expect_report(aws, 100, 0)
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said
    assert any("job job-9" in line and "1 failed" in line for line in said), said
    assert any("scripts/backfill --stack-name mrap-edge --resume" in line for line in said)
    assert not any("started" in line and "backfill" in line for line in said)  # not restarted behind the user's back
    assert "routes: us-east-2 (mrap-edge-demo-us-east-2) active -> passive" in said


def test_dry_run_reads_everything_and_writes_nothing(aws: Clients, package: Path, template: Path) -> None:
    # GIVEN the seed case, nothing deployed yet
    make_bucket(aws, LONDON, "eu-west-2", objects=3)
    expect_list_jobs(aws, regions=["eu-west-2", "us-east-2"])
    read_only = ReadOnly(aws)
    # WHEN deploying with --dry-run through clients that fail on any write call
    code, said = run_deploy(read_only, package, template, "--create-buckets", "--dry-run")
    # THEN it ran to the end, said what it would do, and made only reads
    assert code == 0, said
    for expected in (f"would create bucket {OHIO}", "would create role mrap-edge-replication",
                     f"would set replication {LONDON} -> {OHIO}", "would create role mrap-edge-backfill",
                     f"would start a backfill job (S3 Batch Replication) {LONDON} -> {OHIO}",
                     "would create stack mrap-edge", "would upload",
                     "would set the routes of the new MRAP: eu-west-2 active, us-east-2 passive"):
        assert any(line.startswith(expected) for line in said), (expected, said)
    assert any(line.strip().startswith("BucketNames") and OHIO in line for line in said)
    assert "s3.head_bucket" in read_only.reads and "s3control.list_jobs" in read_only.reads
    assert [b["Name"] for b in aws("s3", "us-east-2").list_buckets()["Buckets"]] == [LONDON]
    aws.stubs["s3control"].assert_no_pending_responses()


def test_dry_run_on_a_deployed_stack_prints_the_parameter_changes_and_the_routes(aws: Clients, package: Path,
                                                                                 template: Path,
                                                                                 tmp_path: Path) -> None:
    expect_list_jobs(aws, regions=["eu-west-2", "us-east-2"])
    expect_get_routes(aws)
    expect_report(aws)
    assert run_deploy(aws, package, template, "--create-buckets")[0] == 0
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("edge/__init__.py", "# changed\n")
        archive.writestr("edge/handler.py", "")
    expect_get_routes(aws)
    code, said = run_deploy(ReadOnly(aws), newer, template, "--create-buckets", "--dry-run")
    assert code == 0, said
    assert any(line.startswith("would update stack mrap-edge (CREATE_COMPLETE)") for line in said), said
    assert any(line.strip().startswith("CodeKey") and "->" in line for line in said), said
    assert "routes: no change" in said and said[-1] == "dry run: nothing was changed"


def test_deploy_updates_the_stack_when_the_code_changes(aws: Clients, package: Path, template: Path,
                                                       tmp_path: Path) -> None:
    expect_list_jobs(aws, regions=["eu-west-2", "us-east-2"])
    expect_get_routes(aws)
    expect_report(aws)
    assert run_deploy(aws, package, template, "--create-buckets")[0] == 0
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("edge/__init__.py", "# changed\n")
        archive.writestr("edge/handler.py", "")
    expect_report(aws)
    code, said = run_deploy(aws, newer, template)
    assert code == 0, said
    assert any(line.startswith("uploaded newer.zip") for line in said)
    assert "stack mrap-edge: no changes" not in said
    assert any("update started" in line for line in said)


def test_native_mode_with_an_opt_in_region_is_refused_before_any_call(aws: Clients, package: Path,
                                                                      template: Path) -> None:
    options = deploy_module.DeployOptions(buckets=parse_buckets("a-bucket@eu-west-2,b-bucket@eu-south-1"),
                                          zip_path=package, template=template, native=True)
    with pytest.raises(ToolError, match=r"eu-south-1 \(Europe \(Milan\)\)"):
        deploy_module.deploy(lambda service, region: pytest.fail(f"called {service}"), options)


def test_native_mode_deploys_without_a_function_and_admits_cloudfront_on_every_bucket(
        aws: Clients, package: Path, template: Path) -> None:
    # The sigv4a origin access control is the stack's own (MrapOriginAccessControl): no CloudFront call before it.
    expect_list_jobs(aws, regions=["eu-west-2", "us-east-2"])
    expect_get_routes(aws)
    expect_report(aws)
    code, said = run_deploy(aws, package, template, "--create-buckets", "--native")
    assert code == 0, said
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in
                  aws("cloudformation", "us-east-1").describe_stacks(StackName="mrap-edge")["Stacks"][0]["Parameters"]}
    assert parameters["NativeMode"] == "true" and "MrapOriginAccessControlId" not in parameters
    # CloudFront reads every bucket through the MRAP in native mode: each one admits the distribution.
    for bucket in parse_buckets(BUCKETS):
        policy = bucket_policy_or_none(aws, bucket.name, bucket.region)
        assert policy is not None and policy["Statement"][0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}


@pytest.mark.parametrize("buckets, message", [
    ("only-one@eu-west-2", "give 2 to 8"),
    ("a-bucket@eu-west-2,b-bucket@eu-west-2", "one bucket per Region"),
    ("a-bucket", "name@region"),
], ids=["one bucket is not an MRAP", "two buckets in one Region", "bucket without a Region"])
def test_bad_bucket_lists_are_refused(buckets: str, message: str, package: Path, template: Path) -> None:
    with pytest.raises(ToolError, match=message):
        deploy_module.deploy(lambda s, r: pytest.fail("no call expected"), deploy_module.DeployOptions(
            buckets=parse_buckets(buckets), zip_path=package, template=template))


def test_existing_buckets_must_exist_without_create_buckets(aws: Clients, package: Path, template: Path) -> None:
    code, said = run_deploy(aws, package, template)
    assert code == 1 and "--create-buckets" in said[-1]


def test_existing_buckets_without_replication_both_ways_are_refused(aws: Clients, package: Path,
                                                                    template: Path) -> None:
    # GIVEN both buckets exist and London replicates to Ohio (the user's rule), but Ohio not back to London
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
        "Role": f"arn:aws:iam::{ACCOUNT}:role/their-role", "Rules": [{
            "ID": "to-ohio-everything", "Priority": 1, "Status": "Enabled", "Filter": {},
            "DeleteMarkerReplication": {"Status": "Enabled"}, "Destination": {"Bucket": f"arn:aws:s3:::{OHIO}"}}]})
    # WHEN deploying without --create-buckets THEN the missing direction is named, with what to run
    code, said = run_deploy(aws, package, template)
    assert code == 1
    assert said[-1].startswith(f"unable to use buckets that do not replicate to each other: no enabled rule of {OHIO} "
                               f"replicates every key to {LONDON}")
    assert "pass --create-buckets" in said[-1]


def test_an_aws_error_reaches_the_user_as_one_line_with_what_to_do(capsys: pytest.CaptureFixture[str],
                                                                   package: Path, template: Path) -> None:
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(sts)
    stub.add_client_error("get_caller_identity", "ExpiredToken", "The security token included in the request is "
                          "expired", http_status_code=403)
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    cfn_stub = Stubber(cfn)  # the preflight reads the stack first: there is none yet
    cfn_stub.add_client_error("describe_stacks", "ValidationError", "Stack with id mrap-edge does not exist", 400)
    with stub, cfn_stub:
        code = deploy_module.main(["--buckets", BUCKETS, "--zip", str(package), "--template", str(template)],
                                  clients=lambda service, region: {"sts": sts, "cloudformation": cfn}[service])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("deploy: unable to call GetCallerIdentity: ExpiredToken (The security token")
    assert "aws sts get-caller-identity" in err


def test_bucket_names_alone_are_looked_up_with_head_bucket(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    assert deploy_module._resolve_buckets(aws, f"{LONDON},{OHIO}@us-east-2") == parse_buckets(BUCKETS)


def test_listing_what_the_dry_run_reads_catches_writes() -> None:
    """The guard of the dry-run test itself: a write through ReadOnly fails."""
    s3 = boto3.client("s3", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    with pytest.raises(AssertionError, match="s3.put_object"):
        ReadOnly(lambda service, region: s3)("s3", "eu-west-2").put_object(Bucket="b", Key="k", Body=b"")
