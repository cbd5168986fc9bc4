"""edge_services: the function's log groups in every Region (moto Logs and EC2), the closing report of deploy (what it
reads through CloudFront and WAF, Stubber), and one-line refusals."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.cli import teardown as teardown_cli
from infra.aws import edge_services
from infra.aws.errors import ToolError

from .helpers import ACCOUNT, Clients

FUNCTION = "mrap-edge-8f2d51a0"
GROUP = "/aws/lambda/us-east-1.mrap-edge-8f2d51a0"


@pytest.fixture
def logs_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients: Dict[Any, Any] = {}
        yield lambda service, region: clients.setdefault((service, region), boto3.client(service, region_name=region))


def _retention(logs_world: Any, region: str) -> Any:
    groups = logs_world("logs", region).describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    return [g.get("retentionInDays") for g in groups]


def test_every_enabled_region_gets_the_group_with_its_retention_ahead_of_the_first_request(logs_world: Any) -> None:
    # An edge already ran the function in London: Lambda@Edge made the group there, without retention.
    logs_world("logs", "eu-west-2").create_log_group(logGroupName=GROUP)
    said: List[str] = []
    done = edge_services.set_log_retention(logs_world, FUNCTION, 30, said.append)
    regions = edge_services.enabled_regions(logs_world)
    assert len(regions) > 10 and set(done) == set(regions)
    assert done["eu-west-2"] == "updated" and done["us-east-2"] == "created"
    assert all(_retention(logs_world, region) == [30] for region in ("eu-west-2", "us-east-2", "ap-southeast-2"))
    # A second run changes nothing.
    again = edge_services.set_log_retention(logs_world, FUNCTION, 30, said.append)
    assert set(again.values()) == {"unchanged"} and said[-1].endswith(", unchanged")


def test_cleanup_deletes_the_groups_everywhere(logs_world: Any) -> None:
    edge_services.set_log_retention(logs_world, FUNCTION, 7, lambda _: None, regions=["eu-west-2", "us-east-2"])
    said: List[str] = []
    deleted = edge_services.delete_log_groups(logs_world, FUNCTION, said.append, regions=["eu-west-2", "us-east-2",
                                                                                   "ap-south-1"])
    assert deleted == ["eu-west-2", "us-east-2"]
    assert _retention(logs_world, "eu-west-2") == [] and _retention(logs_world, "us-east-2") == []
    assert said == [f"log group {GROUP}: deleted in 2 Region(s) (eu-west-2, us-east-2)"]


def test_a_refused_retention_is_one_line_with_the_permission() -> None:
    logs = boto3.client("logs", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(logs)
    stub.add_client_error("describe_log_groups", "AccessDeniedException",
                          "User is not authorized to perform: logs:DescribeLogGroups", 400)
    with stub, pytest.raises(ToolError) as raised:
        edge_services.set_log_retention(lambda service, region: logs, FUNCTION, 30, lambda _: None,
                                        regions=["eu-west-2"])
    assert str(raised.value).startswith(f"unable to set the retention of {GROUP} in eu-west-2: AccessDeniedException")
    assert "logs:PutRetentionPolicy" in str(raised.value)


def test_a_report_that_aws_refuses_is_a_warning_not_a_failed_deploy() -> None:
    cloudfront = boto3.client("cloudfront", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cloudfront)
    stub.add_client_error("get_distribution", "AccessDenied", "User is not authorized to perform: "
                          "cloudfront:GetDistribution", 403, expected_params={"Id": "E2QWRUHAPOMQZL"})
    said: List[str] = []
    with stub:
        facts = edge_services.report(lambda service, region: cloudfront, "123456789012",
                                     {"DistributionId": "E2QWRUHAPOMQZL"}, said.append)
    assert facts == {}
    assert said == ["warning: unable to read what the stack built for the report: AccessDenied (User is not "
                    "authorized to perform: cloudfront:GetDistribution)"]


def test_teardown_cleanup_removes_the_log_groups_once_the_function_is_gone(logs_world: Any,
                                                                         capsys: pytest.CaptureFixture) -> None:

    edge_services.set_log_retention(logs_world, FUNCTION, 30, lambda _: None)
    assert teardown_cli.main(["cleanup", "--function-name", FUNCTION], clients=logs_world, sleep=lambda _: None) == 0
    assert all(_retention(logs_world, region) == [] for region in edge_services.enabled_regions(logs_world))
    assert f"log group {GROUP}: deleted in" in capsys.readouterr().out


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
