"""The stack: safe redeploy (teardown then deploy, a rolled-back create), a change of an MRAP's Regions refused
before any change, and AWS's refusals as one line. moto runs CloudFormation and Lambda where it can; it does not
refuse a second function under a taken name, so that path is a botocore Stubber with CloudFormation's real shapes."""
from __future__ import annotations

import datetime
import io
import json
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from infra.aws import rules, stack
from infra.aws.deploy import REPO_ROOT, DeployOptions, stack_parameters
from infra.aws.errors import ToolError
from infra.aws.regions import parse_buckets

from .account import Account
from .helpers import BUCKETS

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "123456789012"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients: Dict[Any, Any] = {}
        yield lambda service, region: clients.setdefault((service, region), boto3.client(service, region_name=region))


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """The account model (tests/infra/aws/account.py): CloudFormation's request rules and stacks that take time."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield Account()


def _function_template() -> str:
    """The project's Function resource (name expression, deletion policy) on a minimal stack moto can create."""
    project = json.loads((ROOT / "cloudformation.template").read_text(encoding="utf-8"))
    function = project["Resources"]["Function"]
    return json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"FunctionName": {"Type": "String"}, "CodeBucket": {"Type": "String"}},
        "Resources": {
            "FunctionRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
                "Version": "2012-10-17", "Statement": []}}},
            "Function": {
                "Type": "AWS::Lambda::Function",
                "DeletionPolicy": function["DeletionPolicy"],
                "Properties": {
                    "FunctionName": function["Properties"]["FunctionName"],
                    "Runtime": "python3.13", "Handler": "edge.handler.lambda_handler",
                    "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                    "Code": {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": "mrap-edge/code.zip"},
                },
            },
        },
        "Outputs": {"FunctionName": {"Value": {"Ref": "Function"}}},
    })


def test_teardown_then_deploy_creates_a_function_of_its_own_beside_the_retained_one(aws: Any) -> None:
    # GIVEN a deployed stack whose function CloudFront has replicated (so teardown must retain it)
    s3 = aws("s3", "us-east-1")
    s3.create_bucket(Bucket="code")
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("edge/handler.py", "def lambda_handler(event, context):\n    return event\n")
    s3.put_object(Bucket="code", Key="mrap-edge/code.zip", Body=package.getvalue())
    body, parameters = _function_template(), {"FunctionName": "mrap-edge", "CodeBucket": "code"}
    said: List[str] = []
    functions = aws("lambda", "us-east-1")
    stack.deploy_stack(aws, "mrap-edge", body, parameters, said.append, sleep=lambda _: None)
    (first,) = [f["FunctionName"] for f in functions.list_functions()["Functions"]]
    # WHEN it is torn down and deployed again at once
    stack.delete_stack(aws, "mrap-edge", said.append, sleep=lambda _: None)
    stack.deploy_stack(aws, "mrap-edge", body, parameters, said.append, sleep=lambda _: None)
    # THEN the new stack has a function of its own, and the retained one (replicated for hours) is left alone
    names = {f["FunctionName"] for f in functions.list_functions()["Functions"]}
    assert len(names) == 2 and first in names
    assert all(name.startswith("mrap-edge-") and len(name) == len("mrap-edge-") + 8 for name in names)


def _stubbed_create(events: List[Dict[str, Any]], final: str) -> Any:
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    stack_id = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/mrap-edge/8f2d51a0-9a3b-11f0-8de9-0242ac120002"
    missing = "Stack with id mrap-edge does not exist"
    stub.add_client_error("describe_stacks", "ValidationError", missing, 400,
                          expected_params={"StackName": "mrap-edge"})
    stub.add_response("create_change_set", {"Id": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/c/1",
                                            "StackId": stack_id}, {
        "StackName": "mrap-edge", "ChangeSetName": ANY, "ChangeSetType": "CREATE", "TemplateBody": ANY,
        "Parameters": ANY, "Capabilities": ANY, "Tags": ANY})
    stub.add_response("describe_change_set", {"ChangeSetName": "c", "StackName": "mrap-edge",
                                              "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE",
                                              "Changes": []},
                      {"StackName": "mrap-edge", "ChangeSetName": ANY})
    stub.add_client_error("describe_stack_events", "ValidationError", missing, 400)  # no events before the create
    stub.add_response("execute_change_set", {}, {"StackName": "mrap-edge", "ChangeSetName": ANY})
    stub.add_response("describe_stacks", {"Stacks": [{
        "StackName": "mrap-edge", "StackId": stack_id, "StackStatus": final,
        "CreationTime": datetime.datetime(2026, 12, 1)}]}, {"StackName": "mrap-edge"})
    stub.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": "mrap-edge"})
    stub.activate()
    return cfn, stub


def _event(number: int, logical: str, kind: str, status: str, reason: str = "", physical: str = "") -> Dict[str, Any]:
    event = {"StackId": "arn:aws:cloudformation:us-east-1:1:stack/mrap-edge/1", "EventId": f"e{number}",
             "StackName": "mrap-edge", "LogicalResourceId": logical, "ResourceType": kind,
             "ResourceStatus": status, "Timestamp": datetime.datetime(2026, 12, 1, 0, 0, number)}
    if reason:
        event["ResourceStatusReason"] = reason
    if physical:
        event["PhysicalResourceId"] = physical
    return event


def test_a_function_name_taken_by_a_retained_function_is_explained_in_one_line() -> None:
    # What CloudFormation reports when a create meets a function of that name (Lambda's 409 ResourceConflictException):
    # the case of a stack from before per-stack names, or a --function-name given twice.
    conflict = ('Resource handler returned message: "Function already exist: mrap-edge-8f2d51a0 (Service: Lambda, '
                'Status Code: 409, Request ID: 4e2a0f4c-0000-4000-8000-000000000000)" (RequestToken: 1, '
                'HandlerErrorCode: AlreadyExists)')
    events = [
        _event(1, "FunctionRole", "AWS::IAM::Role", "CREATE_COMPLETE"),
        _event(2, "Function", "AWS::Lambda::Function", "CREATE_FAILED", conflict, "mrap-edge-8f2d51a0"),
        _event(3, "mrap-edge", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
    ]
    cfn, stub = _stubbed_create(events, "ROLLBACK_COMPLETE")
    said: List[str] = []
    with pytest.raises(ToolError) as raised:
        stack.deploy_stack(lambda service, region: cfn, "mrap-edge", '{"Parameters": {}}', {}, said.append,
                           sleep=lambda _: None)
    message = str(raised.value)
    assert "\n" not in message
    assert "ended in ROLLBACK_COMPLETE" in message
    assert "mrap-edge-8f2d51a0 is taken by a function kept from an earlier stack" in message
    assert "scripts/teardown cleanup" in message and "--function-name" in message
    assert any("CREATE_FAILED" in line and "Function already exist" in line for line in said)
    stub.assert_no_pending_responses()


def test_other_failures_point_at_the_events() -> None:
    events = [_event(1, "Mrap", "AWS::S3::MultiRegionAccessPoint", "CREATE_FAILED", "Bucket does not exist")]
    cfn, _ = _stubbed_create(events, "ROLLBACK_COMPLETE")
    with pytest.raises(ToolError, match=r"ended in ROLLBACK_COMPLETE \(see the events above\)$"):
        stack.deploy_stack(lambda service, region: cfn, "mrap-edge", '{"Parameters": {}}', {}, lambda _: None,
                           sleep=lambda _: None)


def test_an_aws_refusal_is_one_line_with_the_code_and_what_to_do() -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    stub.add_client_error("describe_stacks", "AccessDenied", "User: arn:aws:iam::1:user/u is not authorized to "
                          "perform: cloudformation:DescribeStacks", 403)
    with stub, pytest.raises(ToolError) as raised:
        stack.deploy_stack(lambda service, region: cfn, "mrap-edge", '{"Parameters": {}}', {}, lambda _: None)
    assert str(raised.value) == (
        "unable to read stack mrap-edge in us-east-1: AccessDenied (User: arn:aws:iam::1:user/u is not authorized to "
        "perform: cloudformation:DescribeStacks); the deploying identity needs cloudformation:DescribeStacks")


# --- the MRAP's Regions are fixed at creation ----------------------------------------------------------------

def _deployed(aws: Any, buckets: str, regions: str, mrap: str = "mrap-edge") -> None:
    template = json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Parameters": {
        name: {"Type": "String"} for name in ("MrapName", "BucketNames", "BucketRegions")},
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}}})
    aws("cloudformation", "us-east-1").create_stack(StackName="mrap-edge", TemplateBody=template, Parameters=[
        {"ParameterKey": "MrapName", "ParameterValue": mrap},
        {"ParameterKey": "BucketNames", "ParameterValue": buckets},
        {"ParameterKey": "BucketRegions", "ParameterValue": regions}])


def test_new_buckets_for_the_same_mrap_are_refused_with_the_working_path(aws: Any) -> None:
    _deployed(aws, "london-images,ohio-images", "eu-west-2,us-east-2")
    wanted = {"MrapName": "mrap-edge", "BucketNames": "london-images,tokyo-images",
              "BucketRegions": "eu-west-2,ap-northeast-1"}
    with pytest.raises(ToolError) as raised:
        stack.check_mrap_change(aws, "mrap-edge", wanted, lambda _: None)
    message = str(raised.value)
    assert message.startswith("unable to change the buckets of MRAP mrap-edge (london-images@eu-west-2,"
                              "ohio-images@us-east-2 -> london-images@eu-west-2,tokyo-images@ap-northeast-1)")
    assert "new --mrap-name" in message and "switches the distribution's origin" in message


def test_new_buckets_with_a_new_mrap_name_replace_the_mrap_and_say_so(aws: Any) -> None:
    _deployed(aws, "london-images,ohio-images", "eu-west-2,us-east-2")
    said: List[str] = []
    stack.check_mrap_change(aws, "mrap-edge", {"MrapName": "mrap-edge-2", "BucketNames": "london-images,tokyo-images",
                                               "BucketRegions": "eu-west-2,ap-northeast-1"}, said.append)
    assert said and "will be replaced by mrap-edge-2" in said[0] and "then deletes mrap-edge" in said[0]


def test_the_same_buckets_or_no_stack_pass_silently(aws: Any) -> None:
    said: List[str] = []
    same = {"MrapName": "mrap-edge", "BucketNames": "london-images,ohio-images", "BucketRegions": "eu-west-2,us-east-2"}
    stack.check_mrap_change(aws, "mrap-edge", same, said.append)  # no stack yet
    _deployed(aws, "london-images,ohio-images", "eu-west-2,us-east-2")
    stack.check_mrap_change(aws, "mrap-edge", same, said.append)
    assert said == []


def test_a_rolled_back_first_create_takes_any_buckets() -> None:
    # ROLLBACK_COMPLETE: the MRAP was never made (or was deleted by the rollback), so nothing is fixed yet.
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    stub.add_response("describe_stacks", {"Stacks": [{
        "StackName": "mrap-edge", "StackStatus": "ROLLBACK_COMPLETE", "CreationTime": datetime.datetime(2026, 12, 1),
        "Parameters": [{"ParameterKey": "MrapName", "ParameterValue": "mrap-edge"},
                       {"ParameterKey": "BucketNames", "ParameterValue": "london-images,ohio-images"},
                       {"ParameterKey": "BucketRegions", "ParameterValue": "eu-west-2,us-east-2"}]}]},
        {"StackName": "mrap-edge"})
    with stub:
        stack.check_mrap_change(lambda service, region: cfn, "mrap-edge", {
            "MrapName": "mrap-edge", "BucketNames": "london-images,tokyo-images",
            "BucketRegions": "eu-west-2,ap-northeast-1"}, lambda _: None)
    stub.assert_no_pending_responses()


def test_the_deployed_function_name_is_the_one_moto_cloudformation_created(aws: Any) -> None:
    s3 = aws("s3", "us-east-1")
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="mrap-edge/code.zip", Body=b"PK\x05\x06" + b"\x00" * 18)
    cfn = aws("cloudformation", "us-east-1")
    cfn.create_stack(StackName="mrap-edge", TemplateBody=_function_template(), Parameters=[
        {"ParameterKey": "FunctionName", "ParameterValue": "mrap-edge"},
        {"ParameterKey": "CodeBucket", "ParameterValue": "code"}])
    (function,) = aws("lambda", "us-east-1").list_functions()["Functions"]
    assert stack.deployed_function_name(aws, "mrap-edge") == function["FunctionName"]
    assert stack.deployed_function_name(aws, "no-such-stack") is None


def test_a_redeploy_keeps_the_parameters_it_does_not_set(aws: Any) -> None:
    # GIVEN a stack whose key slot was filled outside deploy (scripts/cloudfront-keys writes update-stack files)
    body = json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"CodeKey": {"Type": "String"}, "SignedUrlPublicKey1": {"Type": "String", "Default": ""}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Key": {"Value": {"Ref": "SignedUrlPublicKey1"}}},
    })
    cfn = aws("cloudformation", "us-east-1")
    cfn.create_stack(StackName="mrap-edge", TemplateBody=body, Parameters=[
        {"ParameterKey": "CodeKey", "ParameterValue": "old.zip"},
        {"ParameterKey": "SignedUrlPublicKey1", "ParameterValue": "PEM"}])
    # WHEN deploy updates the code key only
    stack.deploy_stack(aws, "mrap-edge", body, {"CodeKey": "new.zip"}, lambda _: None, sleep=lambda _: None)
    # THEN the key slot keeps its value instead of going back to the template's empty default
    (deployed,) = cfn.describe_stacks(StackName="mrap-edge")["Stacks"]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in deployed["Parameters"]}
    assert values == {"CodeKey": "new.zip", "SignedUrlPublicKey1": "PEM"}


def test_the_body_deploy_sends_for_the_real_template_is_within_cloudformations_limit(account: Account) -> None:
    # GIVEN the repository's template, which is larger than CloudFormation takes in a request as it is written
    real = REPO_ROOT / "cloudformation.template"
    assert len(real.read_bytes()) > rules.MAX_TEMPLATE_BODY_BYTES
    parameters = stack_parameters(DeployOptions(buckets=parse_buckets(BUCKETS)), "code-bucket", "mrap-edge/k.zip")
    # WHEN deploy prepares its change set THEN the body it sends is the minified template, within the limit, and
    # CloudFormation (the account model) accepts it
    body = stack.template_body(real)
    assert len(body.encode()) <= rules.MAX_TEMPLATE_BODY_BYTES and json.loads(body) == json.loads(real.read_text())
    change_set = stack.prepare_change_set(account, "mrap-edge", body, parameters, lambda _: None)
    assert change_set.name and change_set.change_type == "CREATE"
    assert stack.check_template_size(body) == []
    # AND the file as written would have been refused, with CloudFormation's own error, in one line
    with pytest.raises(ToolError) as refused:
        stack.prepare_change_set(account, "other", real.read_text(), parameters, lambda _: None)
    assert "Member must have length less than or equal to 51200" in str(refused.value)
    assert "\n" not in str(refused.value) and str(refused.value).endswith("nothing was changed")


def test_preflight_refuses_a_template_too_large_even_minified(tmp_path: Path) -> None:
    big = {"Parameters": {}, "Resources": {f"Topic{i}": {"Type": "AWS::SNS::Topic", "Properties": {
        "TopicName": "x" * 200}} for i in range(300)}}
    path = tmp_path / "big.template"
    path.write_text(json.dumps(big), encoding="utf-8")
    (problem,) = stack.check_template_size(stack.template_body(path))
    assert problem.startswith("template: ") and "over CloudFormation's 51,200 for a template body" in problem


def test_the_stack_wait_says_it_waits_and_gives_up_after_its_timeout(account: Account, template: Path) -> None:
    body = stack.template_body(template)
    change_set = stack.prepare_change_set(account, "mrap-edge", body, {"MrapName": "mrap-edge"}, lambda _: None)
    said: List[str] = []
    with pytest.raises(ToolError, match="unable to see stack mrap-edge finish within 5 min: it is CREATE_IN_PROGRESS "
                                        "and continues in CloudFormation"):
        stack.execute_change_set(account, change_set, said.append, account.clock.sleep, timeout=300)
    assert any(line.startswith("  stack mrap-edge: CREATE_IN_PROGRESS, 1 min so far") for line in said), said
