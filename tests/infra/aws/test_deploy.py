"""The deploy tooling: moto for S3, IAM, Lambda, CloudFormation and CloudWatch Logs; botocore Stubber for the MRAP
control plane, CloudFront and WAF, which moto does not model well enough."""
from __future__ import annotations

import datetime
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from infra.aws import deploy as deploy_module
from infra.aws import fixtures, probes, teardown
from infra.aws.buckets import PROBE_KEY, replication_configuration
from infra.aws.clients import ToolError
from infra.aws.regions import Bucket, parse_buckets

ACCOUNT = "123456789012"
BUCKETS = "mrap-edge-demo-eu-west-2@eu-west-2,mrap-edge-demo-us-east-2@us-east-2"
MRAP_ARN = f"arn:aws:s3::{ACCOUNT}:accesspoint/mfzwi23gnjvgw.mrap"
DIST_ID = "E2QWRUHAPOMQZL"
# A stand-in stack for moto, which cannot create MRAPs or distributions: same parameters, outputs of the same shape.
TEST_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {name: {"Type": "String", "Default": ""} for name in (
        "MrapName", "BucketNames", "BucketRegions", "FunctionName", "CodeBucket", "CodeKey", "Runtime", "MemorySize",
        "Timeout", "FailoverStatusCodes", "PriceClass", "AllowedIpv4Cidrs", "NativeMode", "OriginPath")},
    "Resources": {
        "Marker": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${MrapName}-marker"}}},
    },
    "Outputs": {
        "DistributionId": {"Value": DIST_ID},
        "MrapArn": {"Value": MRAP_ARN},
        "BucketNames": {"Value": {"Ref": "BucketNames"}},
        "BucketRegions": {"Value": {"Ref": "BucketRegions"}},
        "CodeKey": {"Value": {"Ref": "CodeKey"}},
    },
}


class Clients:
    """moto-backed clients, except the services given stubbed clients; records every stubbed call."""

    def __init__(self) -> None:
        self.real: Dict[Tuple[str, str], Any] = {}
        self.stubs: Dict[str, Stubber] = {}
        self.stubbed: Dict[str, Any] = {}

    def stub(self, service: str, region: str) -> Stubber:
        """The service's Stubber, created on first use; responses queue up in call order."""
        if service in self.stubs:
            return self.stubs[service]
        client = boto3.client(service, region_name=region)
        stubber = Stubber(client)
        stubber.activate()
        self.stubbed[service] = client
        self.stubs[service] = stubber
        return stubber

    def __call__(self, service: str, region: str) -> Any:
        if service in self.stubbed:
            return self.stubbed[service]
        if service in ("cloudfront", "s3control", "wafv2"):
            raise AssertionError(f"unexpected call to {service}: stub it")
        key = (service, region)
        if key not in self.real:
            self.real[key] = boto3.client(service, region_name=region)
            if service == "cloudformation":
                self.real[key].meta.events.register("after-call.cloudformation.ExecuteChangeSet", _moto_refresh)
        return self.real[key]


def _moto_refresh(**_: Any) -> None:
    """moto 5.2 applies a change set's resources but keeps the stack's old outputs and parameters; refresh them as
    CloudFormation does, so the tooling reads what a real stack would show."""
    from moto.cloudformation.models import cloudformation_backends

    for backend in cloudformation_backends[ACCOUNT].values():
        for change_set in backend.change_sets.values():
            if change_set.execution_status == "EXECUTE_COMPLETE":
                stack = change_set.stack
                stack.template = change_set.template
                stack._parse_template()
                stack.parameters = change_set.parameters
                stack.resource_map.input_parameters = change_set.parameters
                stack.output_map = stack._create_output_map()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield Clients()


@pytest.fixture
def package(tmp_path: Path) -> Path:
    path = tmp_path / "mrap-edge.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("edge/__init__.py", "")
        archive.writestr("edge/handler.py", "")
    return path


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "test.template"
    path.write_text(json.dumps(TEST_TEMPLATE), encoding="utf-8")
    return path


def _expect_report(clients: Clients) -> None:
    clients.stub("cloudfront", "us-east-1").add_response("get_distribution", _distribution_response(),
                                                         {"Id": DIST_ID})
    s3control = clients.stub("s3control", "us-west-2")
    s3control.add_response("get_multi_region_access_point_routes", {"Mrap": MRAP_ARN, "Routes": [
        {"Bucket": "mrap-edge-demo-eu-west-2", "Region": "eu-west-2", "TrafficDialPercentage": 100},
        {"Bucket": "mrap-edge-demo-us-east-2", "Region": "us-east-2", "TrafficDialPercentage": 100}]},
        {"AccountId": ACCOUNT, "Mrap": MRAP_ARN})


def _distribution_response() -> Dict[str, Any]:
    origin = {"Id": "mrap", "DomainName": "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com",
              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}
    return {"Distribution": {
        "Id": DIST_ID, "ARN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DIST_ID}", "Status": "InProgress",
        "LastModifiedTime": datetime.datetime(2026, 1, 1), "InProgressInvalidationBatches": 0,
        "DomainName": "d111111abcdef8.cloudfront.net",
        "DistributionConfig": {"CallerReference": "mrap-edge", "Origins": {"Quantity": 1, "Items": [origin]},
                               "DefaultCacheBehavior": {"TargetOriginId": "mrap-with-failover",
                                                        "ViewerProtocolPolicy": "redirect-to-https"},
                               "Comment": "mrap-edge", "Enabled": True}}, "ETag": "E2QWRUHEXAMPLE"}


def _run_deploy(clients: Clients, package: Path, template: Path, *extra: str) -> Tuple[int, List[str]]:
    said: List[str] = []
    args = ["--buckets", BUCKETS, "--zip", str(package), "--template", str(template), *extra]
    options = deploy_module.build_parser().parse_args(args)
    try:
        deploy_module.deploy(clients, deploy_module.DeployOptions(
            buckets=parse_buckets(options.buckets), zip_path=options.zip, template=options.template,
            create_buckets=options.create_buckets, rtc=options.rtc, native=options.native), say=said.append,
            sleep=lambda _: None)
    except ToolError as error:
        return 1, said + [str(error)]
    return 0, said


def _bucket_policy_or_none(aws: Clients, name: str, region: str = "us-east-2") -> Optional[Dict[str, Any]]:
    try:
        return json.loads(aws("s3", region).get_bucket_policy(Bucket=name)["Policy"])
    except ClientError:
        return None


def test_deploy_creates_everything_then_a_second_run_changes_nothing(aws: Clients, package: Path,
                                                                     template: Path) -> None:
    # GIVEN an empty account WHEN deploying with bucket creation and RTC
    _expect_report(aws)
    code, said = _run_deploy(aws, package, template, "--create-buckets", "--rtc")
    assert code == 0, said
    # THEN the package is in us-east-1 under its hash
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    s3 = aws("s3", "us-east-1")
    s3.head_object(Bucket=f"mrap-edge-deployables-{ACCOUNT}", Key=f"mrap-edge/{digest}.zip")
    # AND each Regional bucket is versioned, encrypted, private and replicates to the other, probe excluded
    for bucket in parse_buckets(BUCKETS):
        regional = aws("s3", bucket.region)
        assert regional.get_bucket_versioning(Bucket=bucket.name)["Status"] == "Enabled"
        assert regional.get_bucket_encryption(Bucket=bucket.name)["ServerSideEncryptionConfiguration"]["Rules"]
        assert all(regional.get_public_access_block(Bucket=bucket.name)["PublicAccessBlockConfiguration"].values())
        rules = regional.get_bucket_replication(Bucket=bucket.name)["ReplicationConfiguration"]["Rules"]
        assert {r["Status"] for r in rules} == {"Enabled", "Disabled"}
    # AND the stack was created with the code key, and the failover bucket admits the distribution
    (stack,) = aws("cloudformation", "us-east-1").describe_stacks(StackName="mrap-edge")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["CodeKey"] == f"mrap-edge/{digest}.zip"
    policy = json.loads(aws("s3", "eu-west-2").get_bucket_policy(Bucket="mrap-edge-demo-eu-west-2")["Policy"])
    assert policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"].endswith(f"distribution/{DIST_ID}")
    assert policy["Statement"][0]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert _bucket_policy_or_none(aws, "mrap-edge-demo-us-east-2") is None  # the function signs for the other one
    # AND the page the custom error responses serve is in the failover bucket
    aws("s3", "eu-west-2").head_object(Bucket="mrap-edge-demo-eu-west-2", Key="_mrap-edge/errors/error.html")
    assert any("MRAP route eu-west-2" in line and "active" in line for line in said)
    assert any(line.startswith("  DistributionId") for line in said)

    # WHEN deploying again with nothing changed THEN nothing is uploaded, no change set is made, "no changes"
    change_sets_before = aws("cloudformation", "us-east-1").list_change_sets(StackName="mrap-edge")["Summaries"]
    _expect_report(aws)
    code, said = _run_deploy(aws, package, template, "--create-buckets", "--rtc")
    assert code == 0, said
    assert "stack mrap-edge: no changes" in said
    assert any("already uploaded" in line for line in said)
    assert any("unchanged" in line for line in said)
    assert not any("bucket policy" in line for line in said)
    assert aws("cloudformation", "us-east-1").list_change_sets(StackName="mrap-edge")["Summaries"] == change_sets_before


def test_deploy_updates_the_stack_when_the_code_changes(aws: Clients, package: Path, template: Path,
                                                       tmp_path: Path) -> None:
    _expect_report(aws)
    assert _run_deploy(aws, package, template, "--create-buckets")[0] == 0
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("edge/__init__.py", "# changed\n")
        archive.writestr("edge/handler.py", "")
    _expect_report(aws)
    code, said = _run_deploy(aws, newer, template)
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
    _expect_report(aws)
    code, said = _run_deploy(aws, package, template, "--create-buckets", "--native")
    assert code == 0, said
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in
                  aws("cloudformation", "us-east-1").describe_stacks(StackName="mrap-edge")["Stacks"][0]["Parameters"]}
    assert parameters["NativeMode"] == "true" and "MrapOriginAccessControlId" not in parameters
    # CloudFront reads every bucket through the MRAP in native mode: each one admits the distribution.
    for bucket in parse_buckets(BUCKETS):
        policy = _bucket_policy_or_none(aws, bucket.name, bucket.region)
        assert policy is not None and policy["Statement"][0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    aws.stubs["cloudfront"].assert_no_pending_responses()


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
    code, said = _run_deploy(aws, package, template)
    assert code == 1 and "--create-buckets" in said[-1]


def test_replication_keeps_the_probe_out_with_a_higher_priority_disabled_rule() -> None:
    buckets = parse_buckets("a-bucket@eu-west-2,b-bucket@us-east-2,c-bucket@ap-southeast-2")
    config = replication_configuration(buckets[0], buckets, "arn:aws:iam::1:role/r", rtc=True)
    by_destination: Dict[str, List[Dict[str, Any]]] = {}
    for rule in config["Rules"]:
        by_destination.setdefault(rule["Destination"]["Bucket"], []).append(rule)
    assert set(by_destination) == {"arn:aws:s3:::b-bucket", "arn:aws:s3:::c-bucket"}
    for rules in by_destination.values():
        everything = next(r for r in rules if r["Filter"]["Prefix"] == "")
        probe = next(r for r in rules if r["Filter"]["Prefix"] == PROBE_KEY)
        assert everything["Status"] == "Enabled" and probe["Status"] == "Disabled"
        assert probe["Priority"] > everything["Priority"]
        assert everything["Destination"]["ReplicationTime"]["Status"] == "Enabled"
    priorities = [r["Priority"] for r in config["Rules"]]
    assert len(priorities) == len(set(priorities))


def test_upload_probes_writes_one_uncached_probe_per_bucket(aws: Clients) -> None:
    buckets = parse_buckets(BUCKETS)
    for bucket in buckets:
        aws("s3", bucket.region).create_bucket(Bucket=bucket.name,
                                               CreateBucketConfiguration={"LocationConstraint": bucket.region})
    assert probes.main(["--buckets", BUCKETS], clients=aws) == 0
    for bucket in buckets:
        answer = aws("s3", bucket.region).get_object(Bucket=bucket.name, Key=PROBE_KEY)
        assert json.loads(answer["Body"].read()) == {"bucket": bucket.name, "region": bucket.region}
        assert answer["CacheControl"] == "no-store" and answer["ContentType"] == "application/json"


def test_upload_probes_refuses_a_probe_that_s3_would_replicate() -> None:
    s3 = boto3.client("s3", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(s3)
    stub.add_response("put_object", {"ETag": '"1"'}, {"Bucket": "a-bucket", "Key": PROBE_KEY, "Body": ANY,
                                                      "ContentType": "application/json", "CacheControl": "no-store"})
    stub.add_response("head_object", {"ReplicationStatus": "PENDING"}, {"Bucket": "a-bucket", "Key": PROBE_KEY})
    with stub, pytest.raises(ToolError, match="ReplicationStatus PENDING"):
        probes.upload_probes(lambda service, region: s3, [Bucket("a-bucket", "eu-west-2")], say=lambda _: None)


def test_teardown_deletes_the_stack_and_only_the_buckets_deploy_created(aws: Clients, package: Path,
                                                                        template: Path) -> None:
    _expect_report(aws)
    assert _run_deploy(aws, package, template, "--create-buckets")[0] == 0
    cloudfront = aws.stub("cloudfront", "us-east-1")  # native OAC lookup: none there
    cloudfront.add_response("list_origin_access_controls", {"OriginAccessControlList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
    said: List[str] = []
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, sleep=lambda _: None)
    stacks = aws("cloudformation", "us-east-1").list_stacks(StackStatusFilter=["CREATE_COMPLETE", "UPDATE_COMPLETE"])
    assert stacks["StackSummaries"] == []
    remaining = {b["Name"] for b in aws("s3", "us-east-1").list_buckets()["Buckets"]}
    assert "mrap-edge-demo-eu-west-2" not in remaining and "mrap-edge-demo-us-east-2" not in remaining
    assert any("deleted replication role" in line for line in said)


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


def _debug_line(request_id: str) -> str:
    event = {"Records": [{"cf": {
        "config": {"distributionDomainName": "d1.cloudfront.net", "distributionId": DIST_ID,
                   "eventType": "origin-request", "requestId": request_id},
        "request": {"clientIp": "203.0.113.178", "method": "GET", "uri": "/photos/a.jpg",
                    "querystring": "versionId=3&X-Amz-Signature=abc123",
                    "headers": {"authorization": [{"key": "Authorization", "value": "AWS4-ECDSA-P256-SHA256 secret"}],
                                "cookie": [{"key": "Cookie", "value": "session=s3cr3t"}],
                                "x-amz-security-token": [{"key": "X-Amz-Security-Token", "value": "token"}],
                                "range": [{"key": "Range", "value": "bytes=0-99"}]},
                    "origin": {"custom": {"domainName": "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com",
                                          "customHeaders": {}, "path": "", "port": 443, "protocol": "https"}}}}}]}
    return json.dumps({"level": "DEBUG", "message": "incoming event", "request_id": request_id, "event": event})


def test_record_fixtures_reads_every_region_and_redacts(aws: Clients, tmp_path: Path) -> None:
    group = fixtures.log_group_name("mrap-edge")
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    for region, request_id in (("eu-west-2", "AbCd-1234_efgh=="), ("us-east-2", "ZyXw9876vuts==")):
        logs = aws("logs", region)
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
            {"timestamp": int(now * 1000), "message": "START RequestId: 1 Version: 3"},
            {"timestamp": int(now * 1000) + 1, "message": _debug_line(request_id)}])
    # ap-south-1 has no log group: no edge there ran the function
    paths = fixtures.record_fixtures(aws, "mrap-edge", tmp_path, regions=["eu-west-2", "us-east-2", "ap-south-1"],
                                     say=lambda _: None, now=lambda: now + 60)
    assert sorted(p.name for p in paths) == ["recorded-AbCd-1234_efgh__.json", "recorded-ZyXw9876vuts__.json"]
    text = paths[0].read_text()
    for secret in ("secret", "s3cr3t", '"token"', "abc123"):
        assert secret not in text
    request = json.loads(text)["Records"][0]["cf"]["request"]
    assert request["headers"]["range"][0]["value"] == "bytes=0-99"
    assert request["querystring"] == "versionId=3&X-Amz-Signature=[REDACTED]"
    assert request["headers"]["authorization"][0] == {"key": "Authorization", "value": "[REDACTED]"}


def test_record_fixtures_says_when_nothing_was_logged(aws: Clients, tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="log_level DEBUG"):
        fixtures.record_fixtures(aws, "mrap-edge", tmp_path, regions=["eu-west-2"], say=lambda _: None)


def test_the_report_names_what_the_web_acl_admits(aws: Clients) -> None:
    from infra.aws.edge_services import report
    acl_id = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
    arn = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/mrap-edge-allow/{acl_id}"
    rule = {"Name": "company-ranges", "Priority": 0, "Action": {"Allow": {}},
            "Statement": {"IPSetReferenceStatement": {
                "ARN": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/ipset/mrap-edge-allowed/{acl_id}"}},
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                 "MetricName": "company-ranges"}}
    aws.stub("wafv2", "us-east-1").add_response("get_web_acl", {"WebACL": {
        "Name": "mrap-edge-allow", "Id": acl_id, "ARN": arn, "DefaultAction": {"Block": {}}, "Rules": [rule],
        "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                             "MetricName": "mrap-edge-allow"}}, "LockToken": "token"},
        {"Name": "mrap-edge-allow", "Scope": "CLOUDFRONT", "Id": acl_id})
    said: List[str] = []
    facts = report(aws, ACCOUNT, {"WebAclArn": arn}, said.append)
    assert facts == {"web_acl_default": "Block"}
    assert said == ["web ACL mrap-edge-allow: default Block, 1 rule(s)"]
    aws.stubs["wafv2"].assert_no_pending_responses()
