"""record-fixtures: the function's name from the stack, and AWS's refusals as one line (no traceback)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.aws import fixtures


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
