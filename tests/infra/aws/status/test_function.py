"""The function checks: GetFunction (Stubber, with the code URL pointing at a real HTTP server on 127.0.0.1 that
serves a real zip), and the edge Regions' metrics and logs (moto: EC2 DescribeRegions, CloudWatch, CloudWatch Logs).
"""
from __future__ import annotations

import datetime
import json
from typing import Any, Dict, Iterator, List, Optional

import pytest

from infra.aws.status import function
from infra.aws.status.checklist import FAIL, PASS, Check
from tests.infra.aws.status.helpers import (
    FUNCTION, HEALTHY_CONFIG, VERSION_ARN, AwsWorld, HttpServer, aws_world, check, facts, healthy_function, package_zip,
    serve_bytes,
)

GROUP = f"/aws/lambda/us-east-1.{FUNCTION}"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsWorld]:
    with aws_world(monkeypatch) as made:
        yield made


def read(world: AwsWorld, code: bytes, served: Optional[bytes] = None, **changes: Any) -> List[Check]:
    with serve_bytes(code if served is None else served) as server:
        stub = world.stub("lambda")
        stub.add_response("get_function", healthy_function(server.url + "/code.zip?X-Amz-Signature=abc", code,
                                                           **changes), {"FunctionName": VERSION_ARN})
        packaged, checks = function.read_function(world, facts())
        assert server.requests == ["/code.zip?X-Amz-Signature=abc"]
    world.assert_all_called()
    return checks


def test_the_healthy_version_and_its_packaged_configuration_pass(world: AwsWorld) -> None:
    checks = read(world, package_zip(HEALTHY_CONFIG))
    assert [c.state for c in checks] == [PASS, PASS]
    assert "python3.13, 512 MB, 5 s, x86_64, Active" in check(checks, "version 7 settings").evidence
    evidence = check(checks, "packaged configuration").evidence
    assert evidence.startswith("edge/mrap-edge.json in version 7: query_allowlist ['versionId', 'partNumber']")


def test_the_distribution_is_compared_with_the_packaged_allow_list(world: AwsWorld) -> None:
    code = package_zip(dict(HEALTHY_CONFIG, query_allowlist=["versionId"]))
    with serve_bytes(code) as server:
        world.stub("lambda").add_response("get_function", healthy_function(server.url + "/z", code),
                                          {"FunctionName": VERSION_ARN})
        packaged, _ = function.read_function(world, facts())
    assert packaged is not None and packaged.config is not None
    assert packaged.config.query_allowlist == ("versionId",)
    assert packaged.configuration["Role"].endswith(":role/mrap-edge-FunctionRole-1A2B3C4D5E6F")


def test_a_zip_without_a_configuration_file_runs_on_the_defaults(world: AwsWorld) -> None:
    found = check(read(world, package_zip(None)), "packaged configuration")
    assert found.state == PASS and found.evidence.startswith("defaults: the zip has no configuration file")


@pytest.mark.parametrize("code, served, evidence", [
    (package_zip(dict(HEALTHY_CONFIG, cache_seconds=5)), None, "unknown key 'cache_seconds'"),
    (package_zip(HEALTHY_CONFIG, handler=False), None, "no edge/handler.py: not an mrap-edge package"),
    (package_zip(HEALTHY_CONFIG), package_zip(None), "is not the version's"),
    (b"PK\x03\x04 not really a zip", None, "unable to read the zip"),
    (package_zip(dict(HEALTHY_CONFIG, mrap_host_patterns=["*.mrap.example.com"])), None,
     "do not match mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"),
], ids=["invalid configuration", "not our package", "another zip came back", "corrupt zip", "host not signed"])
def test_a_bad_package_is_a_failed_check(world: AwsWorld, code: bytes, served: Optional[bytes],
                                         evidence: str) -> None:
    found = check(read(world, code, served), "packaged configuration")
    assert found.state == FAIL and evidence in found.evidence, found.evidence
    assert found.fix


def test_an_unreachable_code_url_is_one_line(world: AwsWorld) -> None:
    code = package_zip(HEALTHY_CONFIG)
    with HttpServer(lambda path: (403, {}, b"<Error><Code>AccessDenied</Code></Error>")) as server:
        world.stub("lambda").add_response("get_function", healthy_function(server.url + "/expired", code),
                                          {"FunctionName": VERSION_ARN})
        _, checks = function.read_function(world, facts())
    found = check(checks, "packaged configuration")
    assert found.state == FAIL and "unable to download the version's zip: HTTP Error 403" in found.evidence


@pytest.mark.parametrize("changes, evidence", [
    ({"Runtime": "python3.9"}, "runtime python3.9 is not one the stack allows"),
    ({"Timeout": 60}, "timeout 60 s over Lambda@Edge's 30 s"),
    ({"Architectures": ["arm64"]}, "x86_64 only"),
    ({"State": "Failed", "StateReason": "The role defined for the function cannot be assumed by Lambda."},
     "state Failed: The role defined"),
], ids=["old runtime", "timeout", "arm64", "failed state"])
def test_version_settings_outside_lambda_at_edge_limits_fail(world: AwsWorld, changes: Dict[str, Any],
                                                             evidence: str) -> None:
    found = check(read(world, package_zip(HEALTHY_CONFIG), **changes), "version 7 settings")
    assert found.state == FAIL and evidence in found.evidence


def test_get_function_refused_names_the_permission(world: AwsWorld) -> None:
    world.stub("lambda").add_client_error(
        "get_function", service_error_code="AccessDeniedException", http_status_code=403,
        service_message=f"User is not authorized to perform: lambda:GetFunction on resource: {VERSION_ARN}")
    packaged, checks = function.read_function(world, facts())
    assert packaged is None
    assert checks[0].state == FAIL and checks[0].fix == "the caller needs lambda:GetFunction"


# --- the edge Regions ---------------------------------------------------------------------------------------------


def _ran_in(world: AwsWorld, region: str, errors: float, lines: List[str], now: datetime.datetime) -> None:
    logs = world("logs", region)
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="2026/12/01/[7]0123456789abcdef")
    base = int((now - datetime.timedelta(minutes=20)).timestamp() * 1000)
    events = [{"timestamp": base + i * 1000, "message": line} for i, line in enumerate(lines)]
    if events:
        logs.put_log_events(logGroupName=GROUP, logStreamName="2026/12/01/[7]0123456789abcdef", logEvents=events)
    stamp = now - datetime.timedelta(minutes=10)
    dimensions = [{"Name": "FunctionName", "Value": f"us-east-1.{FUNCTION}"}]
    world("cloudwatch", region).put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Invocations", "Dimensions": dimensions, "Timestamp": stamp, "Value": 120.0},
        {"MetricName": "Errors", "Dimensions": dimensions, "Timestamp": stamp, "Value": errors},
        {"MetricName": "Throttles", "Dimensions": dimensions, "Timestamp": stamp, "Value": 0.0},
    ])


ERROR_LINE = json.dumps({"level": "ERROR", "message": "unable to read credentials: AWS_SESSION_TOKEN is empty",
                         "error": "CredentialsError", "status": 500,
                         "request_id": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="})


def test_errors_in_an_edge_region_fail_with_the_newest_error_lines(world: AwsWorld) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    _ran_in(world, "eu-west-2", 0.0, ['{"level":"INFO","message":"signed"}'], now)
    _ran_in(world, "us-east-2", 3.0, ['{"level":"INFO","message":"signed"}', ERROR_LINE,
                                      "2026-12-01T21:50:00Z 0f1e Task timed out after 5.00 seconds"], now)
    checks = function.edge_activity_checks(world, facts(), now=now)
    assert [c.name for c in checks] == ["errors and throttles in eu-west-2", "errors and throttles in us-east-2"]
    london, ohio = checks
    assert london.state == PASS and london.evidence == "last hour: 120 invocations, 0 errors, 0 throttles"
    assert ohio.state == FAIL
    assert ohio.evidence.startswith("last hour: 120 invocations, 3 errors, 0 throttles; newest error lines: "
                                    "2026-12-01T21:50:00Z 0f1e Task timed out after 5.00 seconds | {")
    assert "CredentialsError" in ohio.evidence and '"signed"' not in ohio.evidence


def test_no_region_ran_the_function_yet(world: AwsWorld) -> None:
    checks = function.edge_activity_checks(world, facts())
    assert len(checks) == 1 and checks[0].state == PASS
    assert checks[0].evidence.startswith(f"no Region has {GROUP} yet")


def test_describe_regions_refused_falls_back_to_the_bucket_regions(world: AwsWorld) -> None:
    world.stub("ec2").add_client_error("describe_regions", service_error_code="UnauthorizedOperation",
                                       service_message="You are not authorized to perform this operation.",
                                       http_status_code=403)
    now = datetime.datetime.now(datetime.timezone.utc)
    _ran_in(world, "us-east-2", 1.0, [ERROR_LINE], now)
    checks = function.edge_activity_checks(world, facts(), now=now)
    assert checks[0].state == FAIL and checks[0].fix == "the caller needs ec2:DescribeRegions"
    assert check(checks, "errors and throttles in us-east-2").state == FAIL


def test_the_function_is_the_stacks_suffixed_one_not_the_parameter() -> None:
    """The template names the function `<FunctionName>-<stack suffix>`: the parameter alone is another name."""
    assert facts().parameters["FunctionName"] == "mrap-edge"
    assert facts().function_name == FUNCTION != "mrap-edge"
    without_output = facts()
    del without_output.outputs["FunctionName"]
    assert without_output.function_name == FUNCTION  # from the version's ARN


def test_logs_under_the_parameters_name_are_not_the_functions(world: AwsWorld) -> None:
    """Another stack's (or an old deployment's) function called plainly `mrap-edge` does not stand for ours."""
    now = datetime.datetime.now(datetime.timezone.utc)
    world("logs", "us-east-2").create_log_group(logGroupName="/aws/lambda/us-east-1.mrap-edge")
    _ran_in(world, "eu-west-2", 2.0, [ERROR_LINE], now)
    checks = function.edge_activity_checks(world, facts(), now=now)
    assert [(c.name, c.state) for c in checks] == [("errors and throttles in eu-west-2", FAIL)]


def test_a_stack_that_names_no_function_says_so(world: AwsWorld) -> None:
    unnamed = facts()
    del unnamed.outputs["FunctionName"], unnamed.outputs["FunctionVersionArn"]
    packaged, checks = function.read_function(world, unnamed)
    assert packaged is None and [(c.state, c.evidence) for c in checks] == [
        (FAIL, "the stack has neither a FunctionName nor a FunctionVersionArn output: it names no function")]
    assert function.edge_activity_checks(world, unnamed) == checks
