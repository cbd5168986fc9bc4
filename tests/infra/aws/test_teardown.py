"""scripts/teardown: the stack, what deploy created, the rules it added to buckets it keeps, the roles while anything
still names them; and the retried deletion of the retained function (Stubber for Lambda and CloudFront)."""
from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import List

import boto3
import pytest
from botocore.stub import Stubber

from infra.aws import teardown
from infra.aws.clients import ToolError
from infra.aws.regions import parse_buckets
from infra.aws.replication import is_our_rule
from infra.cli import teardown as teardown_cli

from .account import Account
from .helpers import (ACCOUNT, BUCKETS, DIST_ID, LONDON, OHIO, TEST_TEMPLATE, Clients, distribution_response,
                      make_bucket, rules_of, run_deploy)

ROLE = f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-replication"
BACKUP_RULE = {"ID": "nightly-backup", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
               "DeleteMarkerReplication": {"Status": "Disabled"},
               "Destination": {"Bucket": "arn:aws:s3:::images-backup"}}


def _deploy_seed(aws: Account, package: Path, template: Path, objects: int = 2) -> None:
    """The seed case deployed: the user's London bucket (with objects) and an Ohio bucket deploy created."""
    make_bucket(aws, LONDON, "eu-west-2", objects=objects)
    aws.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 0, said


def _expect_teardown_reads(aws: Account) -> None:
    aws.stub("cloudfront").add_response("list_origin_access_controls", {"OriginAccessControlList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})


def _buckets(aws: Account) -> set:
    return {b["Name"] for b in aws("s3", "us-east-1").list_buckets()["Buckets"]}


def test_teardown_takes_our_rules_out_of_a_kept_bucket_and_keeps_the_role_it_still_names(
        aws: Account, package: Path, template: Path) -> None:
    # GIVEN the seed case deployed, and the user has since added a backup rule to London (same configuration role)
    _deploy_seed(aws, package, template)
    aws.clock.advance(datetime.timedelta(hours=2))
    s3 = aws("s3", "eu-west-2")
    config = s3.get_bucket_replication(Bucket=LONDON)["ReplicationConfiguration"]
    config["Rules"].append(BACKUP_RULE)
    s3.put_bucket_replication(Bucket=LONDON, ReplicationConfiguration=config)
    # WHEN tearing down with --delete-buckets
    _expect_teardown_reads(aws)
    said: List[str] = []
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, sleep=lambda _: None)
    # THEN Ohio (created by deploy) is gone; London is kept with the user's rule only
    remaining = _buckets(aws)
    assert OHIO not in remaining and LONDON in remaining
    assert [r["ID"] for r in rules_of(aws, LONDON, "eu-west-2")] == ["nightly-backup"]
    # AND the replication role is kept, because London's configuration still names it, and teardown says so
    aws("iam", "us-east-1").get_role(RoleName="mrap-edge-replication")
    assert f"role mrap-edge-replication kept: the replication configuration of {LONDON} still names it" in said
    assert any(line.startswith(f"bucket {LONDON} kept: deploy did not create it") for line in said)
    # AND the backfill role is deleted (no job running), the backfill record too
    assert "deleted role mrap-edge-backfill" in said
    assert aws("s3", "us-east-1").list_objects_v2(Bucket=f"mrap-edge-deployables-{ACCOUNT}",
                                                  Prefix="mrap-edge/backfill/").get("KeyCount") == 0


def test_teardown_removes_a_configuration_left_empty_and_then_the_role(aws: Account, package: Path,
                                                                       template: Path) -> None:
    _deploy_seed(aws, package, template, objects=0)
    config = aws("s3", "eu-west-2").get_bucket_replication(Bucket=LONDON)["ReplicationConfiguration"]
    assert all(is_our_rule(r, config, "mrap-edge", ROLE) for r in config["Rules"])
    _expect_teardown_reads(aws)
    said: List[str] = []
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, sleep=lambda _: None)
    with pytest.raises(aws("s3", "eu-west-2").exceptions.ClientError, match="ReplicationConfigurationNotFound"):
        aws("s3", "eu-west-2").get_bucket_replication(Bucket=LONDON)
    assert "deleted role mrap-edge-replication" in said


def test_the_backfill_role_is_kept_while_a_job_still_runs(aws: Account, package: Path, template: Path) -> None:
    _deploy_seed(aws, package, template)
    (job,) = aws.jobs
    assert job.status(aws.clock.now) == "Active"
    _expect_teardown_reads(aws)
    said: List[str] = []
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, sleep=lambda _: None)
    assert f"role mrap-edge-backfill kept: backfill job(s) {job.job_id} still running" in said
    aws("iam", "us-east-1").get_role(RoleName="mrap-edge-backfill")


def test_teardown_without_delete_buckets_keeps_buckets_replication_and_roles(aws: Account, package: Path,
                                                                             template: Path) -> None:
    _deploy_seed(aws, package, template)
    _expect_teardown_reads(aws)
    said: List[str] = []
    teardown.teardown(aws, "mrap-edge", delete_buckets=False, say=said.append, sleep=lambda _: None)
    assert rules_of(aws, LONDON, "eu-west-2") and rules_of(aws, OHIO, "us-east-2")
    assert f"  keep bucket {LONDON} and its replication (pass --delete-buckets to remove them)" in said


def test_teardown_after_a_deploy_that_failed_before_the_stack_finds_the_buckets_through_the_role(
        aws: Account, package: Path, tmp_path: Path) -> None:
    # GIVEN a deploy that wrote the buckets, rules and job, then failed at the stack (no stack left)
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    refused = tmp_path / "refused.template"
    refused.write_text(json.dumps(dict(TEST_TEMPLATE, Resources={"Broken": {"Type": "AWS::SNS::Topic", "Properties": {
        "TopicName": {"Fn::GetAtt": ["Nowhere", "Arn"]}}}})), encoding="utf-8")
    buckets = parse_buckets(BUCKETS)
    from infra.aws import replication

    arn = replication.ensure_replication_role(aws, ACCOUNT, "mrap-edge", buckets, lambda _: None)
    make_bucket(aws, OHIO, "us-east-2")
    aws("s3", "us-east-2").put_bucket_tagging(Bucket=OHIO, Tagging={"TagSet": [
        {"Key": "mrap-edge:created-by", "Value": "scripts/deploy"}]})
    replication.put_replication(aws, "mrap-edge", buckets, arn, rtc=False, say=lambda _: None)
    assert teardown.find_deployment(aws, "mrap-edge").stack is None
    # WHEN tearing down with --delete-buckets, first as a dry run
    said: List[str] = []
    assert teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, dry_run=True) is False
    assert f"  delete bucket {OHIO} (us-east-2) with every object version: deploy created it" in said
    assert OHIO in _buckets(aws)
    # AND not confirmed: nothing is deleted
    with pytest.raises(ToolError, match="not confirmed"):
        teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, confirm=lambda q: False)
    assert OHIO in _buckets(aws)
    # THEN confirmed: London stops replicating to Ohio, Ohio and the roles are gone
    _expect_teardown_reads(aws)
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, sleep=lambda _: None)
    assert OHIO not in _buckets(aws) and LONDON in _buckets(aws)
    with pytest.raises(aws("s3", "eu-west-2").exceptions.ClientError, match="ReplicationConfigurationNotFound"):
        aws("s3", "eu-west-2").get_bucket_replication(Bucket=LONDON)
    with pytest.raises(aws("iam", "us-east-1").exceptions.NoSuchEntityException):
        aws("iam", "us-east-1").get_role(RoleName="mrap-edge-replication")


def test_teardown_takes_the_buckets_it_is_given(aws: Account) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    said: List[str] = []
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, dry_run=True,
                      buckets=parse_buckets(f"{LONDON}@eu-west-2"))
    assert f"  buckets found from --buckets: {LONDON}" in said


def test_a_version_s3_refuses_to_delete_stops_the_bucket_deletion_and_is_reported() -> None:
    s3 = boto3.client("s3", region_name="us-east-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(s3)
    stub.add_response("delete_bucket_replication", {}, {"Bucket": OHIO})
    stub.add_response("list_object_versions", {"Versions": [
        {"Key": "images/0001.jpg", "VersionId": "v1"}, {"Key": "images/0002.jpg", "VersionId": "v2"}]},
        {"Bucket": OHIO})
    stub.add_response("delete_objects", {"Deleted": [{"Key": "images/0001.jpg", "VersionId": "v1"}], "Errors": [
        {"Key": "images/0002.jpg", "VersionId": "v2", "Code": "AccessDenied",
         "Message": "Access Denied because object protected by object lock."}]},
        {"Bucket": OHIO, "Delete": {"Objects": [{"Key": "images/0001.jpg", "VersionId": "v1"},
                                                {"Key": "images/0002.jpg", "VersionId": "v2"}], "Quiet": True}})
    with stub, pytest.raises(ToolError) as raised:
        teardown._empty_and_delete(s3, OHIO, lambda _: None)  # no delete_bucket is queued: it must not be called
    text = str(raised.value)
    assert "\n" not in text
    assert f"unable to empty bucket {OHIO}: S3 refused to delete 1 object version(s)" in text
    assert "images/0002.jpg (version v2): AccessDenied (Access Denied because object protected" in text
    assert "the bucket is kept" in text


def test_an_aws_error_in_teardown_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    stub.add_client_error("describe_stacks", "AccessDenied", "User is not authorized to perform "
                          "cloudformation:DescribeStacks", 403)
    with stub:
        code = teardown_cli.main([], clients=lambda service, region: cfn)
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("teardown: unable to read stack mrap-edge in us-east-1: AccessDenied (User is not "
                          "authorized")


def test_cleanup_retries_while_replicas_exist_and_says_what_it_waits_for() -> None:
    lam = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    cloudfront = boto3.client("cloudfront", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:mrap-edge"
    function = {"Configuration": {"FunctionName": "mrap-edge", "FunctionArn": arn}}
    replicated = ("InvalidParameterValueException", "Lambda was unable to delete "
                  f"{arn}:1 because it is a replicated function. Please see our documentation for Deleting "
                  "Lambda@Edge Functions and Replicas.")
    versions = {"Versions": [{"Version": "$LATEST"}, {"Version": "1"}]}
    lam_stub, cf_stub = Stubber(lam), Stubber(cloudfront)
    associated = {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 1, "Items": [
        {"Id": DIST_ID, "ARN": "arn", "Status": "Deployed", "LastModifiedTime": datetime.datetime(2026, 1, 1),
         "DomainName": "d1.cloudfront.net", "Aliases": {"Quantity": 0}, "Origins": {"Quantity": 1, "Items": [
             {"Id": "mrap", "DomainName": "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"}]},
         "DefaultCacheBehavior": {"TargetOriginId": "mrap-with-failover", "ViewerProtocolPolicy": "redirect-to-https",
                                  "LambdaFunctionAssociations": {"Quantity": 1, "Items": [
                                      {"LambdaFunctionARN": f"{arn}:1", "EventType": "origin-request"}]}},
         "CacheBehaviors": {"Quantity": 0}, "CustomErrorResponses": {"Quantity": 0}, "Comment": "",
         "PriceClass": "PriceClass_100", "Enabled": True,
         "ViewerCertificate": {}, "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
         "WebACLId": "", "HttpVersion": "http2and3", "IsIPV6Enabled": True, "Staging": False}]}}
    none_left = {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}
    # attempt 1: a distribution still associates it; attempt 2: replicas are being removed; attempt 3: deleted
    for listing in (associated, none_left):
        lam_stub.add_response("get_function", function, {"FunctionName": "mrap-edge"})
        lam_stub.add_response("list_versions_by_function", versions, {"FunctionName": "mrap-edge"})
        lam_stub.add_client_error("delete_function", *replicated)
        cf_stub.add_response("list_distributions", listing, {})
    lam_stub.add_response("get_function", function, {"FunctionName": "mrap-edge"})
    lam_stub.add_response("list_versions_by_function", versions, {"FunctionName": "mrap-edge"})
    lam_stub.add_response("delete_function", {}, {"FunctionName": "mrap-edge", "Qualifier": "1"})
    lam_stub.add_response("delete_function", {}, {"FunctionName": "mrap-edge"})
    sleeps: List[float] = []
    said: List[str] = []
    with lam_stub, cf_stub:
        done = teardown.cleanup_function(lambda service, region: {"lambda": lam, "cloudfront": cloudfront}[service],
                                         "mrap-edge", say=said.append, sleep=sleeps.append, interval=60, attempts=5)
    assert done is True and sleeps == [60, 60]
    assert f"distribution(s) {DIST_ID} still associate it" in said[0]
    assert "CloudFront is deleting its replicas" in said[1]
    assert said[2] == "function mrap-edge: deleted"


def test_cleanup_gives_up_after_the_attempts_and_says_to_run_again() -> None:
    lam = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    cloudfront = boto3.client("cloudfront", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    lam_stub, cf_stub = Stubber(lam), Stubber(cloudfront)
    lam_stub.add_response("get_function", {"Configuration": {"FunctionArn": "arn:aws:lambda:us-east-1:1:function:f"}},
                          {"FunctionName": "f"})
    lam_stub.add_response("list_versions_by_function", {"Versions": [{"Version": "$LATEST"}]}, {"FunctionName": "f"})
    lam_stub.add_client_error("delete_function", "InvalidParameterValueException", "it is a replicated function")
    cf_stub.add_response("list_distributions", {"DistributionList": {"Marker": "", "MaxItems": 1,
                                                                     "IsTruncated": False, "Quantity": 0}}, {})
    said: List[str] = []
    with lam_stub, cf_stub:
        done = teardown.cleanup_function(lambda s, r: {"lambda": lam, "cloudfront": cloudfront}[s], "f",
                                         say=said.append, sleep=lambda _: None, attempts=1)
    assert done is False and "run `scripts/teardown cleanup` again later" in said[-1]


def test_teardown_names_the_stacks_own_function_for_the_cleanup(aws: Clients, package: Path, template: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # The function's name is <FunctionName>-<first group of the stack id's UUID>: a fixed "mrap-edge" would make
    # the cleanup report a function that never existed as "already deleted".
    _deploy_seed(aws, package, template)
    (stack,) = aws("cloudformation", "us-east-1").describe_stacks(StackName="mrap-edge")["Stacks"]
    expected = "mrap-edge-" + stack["StackId"].rsplit("/", 1)[-1].split("-", 1)[0]
    aws.stub("cloudfront").add_response("list_origin_access_controls", {"OriginAccessControlList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
    capsys.readouterr()
    assert teardown_cli.main(["--yes"], clients=aws, sleep=lambda _: None) == 0
    assert f"next: `scripts/teardown cleanup --function-name {expected}`" in capsys.readouterr().out


def test_cleanup_without_a_stack_or_a_name_says_what_to_pass(aws: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    assert teardown_cli.main(["cleanup"], clients=aws, sleep=lambda _: None) == 1
    assert "pass --function-name (scripts/teardown printed it)" in capsys.readouterr().err
