"""scripts/deploy: the whole flow on the account model (moto's S3, IAM, STS and CloudFormation, plus the model's S3
Batch Operations jobs, MRAP routes and CloudFormation rules; CloudFront's report answers from a Stubber); the seed
case (a full London bucket and a new Ohio one) from the first run to the activation of Ohio; the dry run; one-line
errors."""
from __future__ import annotations

import datetime
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any, List

import boto3
import pytest
from botocore.stub import Stubber

from infra.aws import deploy as deploy_module
from infra.aws import routes
from infra.cli import deploy as deploy_cli
from infra.aws.clients import ToolError
from infra.aws.regions import parse_buckets

from .account import Account
from .helpers import (ACCOUNT, BUCKETS, CODE_BUCKET, DIST_ID, LONDON, MRAP_ARN, OHIO, Clients, ReadOnly,
                      bucket_policy_or_none, distribution_response, make_bucket, rules_of, run_deploy)


def _record(aws: Clients) -> Any:
    return json.loads(aws("s3", "us-east-1").get_object(Bucket=CODE_BUCKET,
                                                        Key="mrap-edge/backfill/mrap-edge.json")["Body"].read())


def _expect_reports(aws: Account, runs: int = 1) -> None:
    """CloudFront's answers for deploy's closing report (the distribution is not part of the account model)."""
    for _ in range(runs):
        aws.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})


def _routes(aws: Account) -> dict:
    return {r.region: r.traffic_dial for r in routes.get_routes(aws, ACCOUNT, MRAP_ARN)}


def test_deploy_creates_everything_then_a_second_run_changes_nothing(aws: Account, package: Path,
                                                                     template: Path) -> None:
    # GIVEN an empty account WHEN deploying with bucket creation and RTC
    _expect_reports(aws, 2)
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
    assert aws.jobs == [] and _routes(aws) == {"eu-west-2": 100, "us-east-2": 100}
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
    writes_before = len(aws.calls)
    code, said = run_deploy(aws, package, template, "--create-buckets", "--rtc")
    assert code == 0, said
    assert "stack mrap-edge: no changes" in said
    assert any("already uploaded" in line for line in said)
    assert aws.calls[writes_before:] == [], aws.calls[writes_before:]


def test_the_seed_case_backfills_london_into_ohio_and_activates_ohio_when_the_job_completes(
        aws: Account, package: Path, template: Path) -> None:
    # GIVEN the user's London bucket, versioned and full of images, and no Ohio bucket yet
    make_bucket(aws, LONDON, "eu-west-2", objects=3)
    _expect_reports(aws, 3)
    # WHEN deploying with --create-buckets
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said
    # THEN London is used as it is, and said to hold objects (not claimed empty); Ohio is created
    assert any(line.startswith(f"bucket {LONDON} (eu-west-2) exists and holds 3 object(s)") for line in said), said
    assert f"created bucket {OHIO} (us-east-2)" in said
    # AND one Batch Replication job copies London into Ohio, never-replicated objects only, with its own role
    (job,) = aws.jobs
    assert job.source == LONDON and job.destinations == [OHIO] and len(job.manifest) == 3
    role = aws("iam", "us-east-1").get_role(RoleName="mrap-edge-backfill")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "batchoperations.s3.amazonaws.com"}
    # AND Ohio is passive while it lacks London's objects, and recorded as made passive by deploy
    assert _routes(aws) == {"eu-west-2": 100, "us-east-2": 0}
    assert _record(aws)["made_passive"] == ["us-east-2"]

    # WHEN deploying again while the job runs THEN its progress is shown and Ohio stays passive
    aws.clock.advance(datetime.timedelta(minutes=1))
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said
    assert any(f"job {job.job_id}" in line and ": Active" in line for line in said), "\n".join(said)
    assert _routes(aws)["us-east-2"] == 0 and len(aws.jobs) == 1

    # WHEN deploying after the job completed THEN Ohio is made active, and the pair recorded complete
    aws.clock.advance(datetime.timedelta(hours=1))
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said
    assert "routes: us-east-2 (mrap-edge-demo-us-east-2) passive -> active" in said
    assert _record(aws)["complete"][f"{LONDON}->{OHIO}"] == f"job {job.job_id} complete"
    assert _routes(aws) == {"eu-west-2": 100, "us-east-2": 100} and _record(aws)["made_passive"] == []


def test_dry_run_reads_everything_and_writes_nothing(aws: Account, package: Path, template: Path) -> None:
    # GIVEN the seed case, nothing deployed yet
    make_bucket(aws, LONDON, "eu-west-2", objects=3)
    read_only = ReadOnly(aws)
    writes_before = len(aws.calls)
    # WHEN deploying with --dry-run through clients that fail on any write call
    code, said = run_deploy(read_only, package, template, "--create-buckets", "--dry-run")
    # THEN it ran to the end, said what it would do, and made only reads
    assert code == 0, said
    for expected in (f"would create bucket {OHIO}", "would create role mrap-edge-replication",
                     f"would set replication {LONDON} -> {OHIO}", "would create role mrap-edge-backfill",
                     f"would start a backfill job (S3 Batch Replication) {LONDON} -> {OHIO}",
                     "would create stack mrap-edge", "would upload",
                     "would set the routes of the new MRAP as soon as it exists: eu-west-2 active, us-east-2 passive"):
        assert any(line.startswith(expected) for line in said), (expected, said)
    assert any(line.strip().startswith("BucketNames") and OHIO in line for line in said)
    assert "s3.head_bucket" in read_only.reads
    assert aws.calls[writes_before:] == []


def test_dry_run_on_a_deployed_stack_prints_the_parameter_changes_and_the_routes(aws: Account, package: Path,
                                                                                 template: Path,
                                                                                 tmp_path: Path) -> None:
    _expect_reports(aws)
    assert run_deploy(aws, package, template, "--create-buckets")[0] == 0
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("edge/__init__.py", "# changed\n")
        archive.writestr("edge/handler.py", "")
    code, said = run_deploy(ReadOnly(aws), newer, template, "--create-buckets", "--dry-run")
    assert code == 0, said
    assert any(line.startswith("would update stack mrap-edge (CREATE_COMPLETE)") for line in said), said
    assert any(line.strip().startswith("CodeKey") and "->" in line for line in said), said
    assert "routes: no change" in said and said[-1] == "dry run: nothing was changed"


def test_deploy_updates_the_stack_when_the_code_changes(aws: Account, package: Path, template: Path,
                                                       tmp_path: Path) -> None:
    _expect_reports(aws, 2)
    assert run_deploy(aws, package, template, "--create-buckets")[0] == 0
    aws.clock.advance(datetime.timedelta(hours=1))
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("edge/__init__.py", "# changed\n")
        archive.writestr("edge/handler.py", "")
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
        aws: Account, package: Path, template: Path) -> None:
    # The sigv4a origin access control is the stack's own (MrapOriginAccessControl): no CloudFront call before it.
    _expect_reports(aws)
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
        code = deploy_cli.main(["--buckets", BUCKETS, "--zip", str(package), "--template", str(template), "--yes"],
                                  clients=lambda service, region: {"sts": sts, "cloudformation": cfn}[service])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("deploy: unable to call GetCallerIdentity: ExpiredToken (The security token")
    assert "aws sts get-caller-identity" in err


def test_bucket_names_alone_are_looked_up_with_head_bucket(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    assert deploy_cli.resolve_buckets(aws, f"{LONDON},{OHIO}@us-east-2") == parse_buckets(BUCKETS)


def test_listing_what_the_dry_run_reads_catches_writes() -> None:
    """The guard of the dry-run test itself: a write through ReadOnly fails."""
    s3 = boto3.client("s3", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    with pytest.raises(AssertionError, match="s3.put_object"):
        ReadOnly(lambda service, region: s3)("s3", "eu-west-2").put_object(Bucket="b", Key="k", Body=b"")


def test_deploy_says_every_step_before_asking_and_a_no_leaves_the_account_as_it_was(aws: Account, package: Path,
                                                                                   template: Path) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=3)
    before = len(aws.calls)
    said: List[str] = []
    asked: List[str] = []
    options = deploy_module.DeployOptions(buckets=parse_buckets(BUCKETS), zip_path=package, template=template,
                                          create_buckets=True)
    with pytest.raises(ToolError, match="not confirmed: nothing was changed"):
        deploy_module.deploy(aws, options, say=said.append, sleep=aws.clock.sleep,
                             confirm=lambda question: bool(asked.append(question)))
    assert asked == ["deploy: go ahead with these steps and the change set above?"]
    for step in (f"would create bucket {OHIO}", f"would set replication {LONDON} -> {OHIO}",
                 f"would start a backfill job (S3 Batch Replication) {LONDON} -> {OHIO}"):
        assert any(line.startswith(step) for line in said), (step, said)
    # Only the change set was made, and it is gone again with the empty stack it created
    assert [name for _, name in aws.calls[before:]] == [
        "cloudformation.CreateChangeSet", "cloudformation.DeleteChangeSet", "cloudformation.DeleteStack"]
    assert [b["Name"] for b in aws("s3", "us-east-1").list_buckets()["Buckets"]] == [LONDON]
