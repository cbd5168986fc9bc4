"""scripts/record-fixtures: reads the function's logs in every Region (moto CloudWatch Logs) and redacts secrets; the
function's name from the stack; AWS's refusals as one line (no traceback)."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import boto3
import pytest
from botocore.stub import Stubber

from infra.aws import fixtures
from infra.aws.clients import ToolError

from .helpers import DIST_ID, Clients

ROOT = Path(__file__).resolve().parents[3]


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


def _logs_refusing(code: str, message: str) -> Any:
    logs = boto3.client("logs", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(logs)
    stub.add_client_error("filter_log_events", code, message, 400)
    stub.activate()
    return logs


def test_a_refused_read_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    logs = _logs_refusing("AccessDeniedException", "User is not authorized to perform: logs:FilterLogEvents")
    code = fixtures.main(["--function-name", "mrap-edge-8f2d51a0", "--regions", "eu-west-2", "--out", str(tmp_path)],
                         clients=lambda service, region: logs)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.splitlines() == [
        "record-fixtures: unable to read /aws/lambda/us-east-1.mrap-edge-8f2d51a0 in eu-west-2: AccessDeniedException "
        "(User is not authorized to perform: logs:FilterLogEvents); the identity needs logs:FilterLogEvents; pass "
        "--regions to read fewer Regions"]


def test_the_function_name_comes_from_the_stack(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    # A rolled-back create has no outputs, but its retained function's name follows from the stack id.
    stub.add_response("describe_stacks", {"Stacks": [{
        "StackName": "mrap-edge", "StackStatus": "ROLLBACK_COMPLETE", "CreationTime": "2026-12-01T00:00:00Z",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/mrap-edge/8f2d51a0-9a3b-11f0-8de9-0242ac120002",
        "Parameters": [{"ParameterKey": "FunctionName", "ParameterValue": "mrap-edge"},
                       {"ParameterKey": "NativeMode", "ParameterValue": "false"}]}]}, {"StackName": "mrap-edge"})
    stub.activate()
    logs = _logs_refusing("ResourceNotFoundException", "The specified log group does not exist.")
    code = fixtures.main(["--regions", "eu-west-2", "--out", str(tmp_path)],
                         clients=lambda service, region: {"cloudformation": cfn, "logs": logs}[service])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == ("record-fixtures: unable to find debug events in /aws/lambda/us-east-1.mrap-edge-8f2d51a0: "
                           "deploy with log_level DEBUG and send requests first")
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("argv", [[], ["--function-name", "mrap-edge-0f1e2d3c", "--regions", "eu-west-2"]],
                         ids=["name from the stack", "name given"])
def test_without_credentials_the_script_says_so_in_one_line(argv: List[str], tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "record-fixtures"), "--out", str(tmp_path), *argv],
                          capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("record-fixtures: unable to find AWS credentials: run where they are set up (CloudShell, "
                           "or after aws configure / aws sso login)\n")
