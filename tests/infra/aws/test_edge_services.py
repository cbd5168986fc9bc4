"""The function's log groups in every Region (moto Logs and EC2), and one-line refusals (Stubber)."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.aws import edge_services
from infra.aws.errors import ToolError

FUNCTION = "mrap-edge-8f2d51a0"
GROUP = "/aws/lambda/us-east-1.mrap-edge-8f2d51a0"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients: Dict[Any, Any] = {}
        yield lambda service, region: clients.setdefault((service, region), boto3.client(service, region_name=region))


def _retention(aws: Any, region: str) -> Any:
    groups = aws("logs", region).describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    return [g.get("retentionInDays") for g in groups]


def test_every_enabled_region_gets_the_group_with_its_retention_ahead_of_the_first_request(aws: Any) -> None:
    # An edge already ran the function in London: Lambda@Edge made the group there, without retention.
    aws("logs", "eu-west-2").create_log_group(logGroupName=GROUP)
    said: List[str] = []
    done = edge_services.set_log_retention(aws, FUNCTION, 30, said.append)
    regions = edge_services.enabled_regions(aws)
    assert len(regions) > 10 and set(done) == set(regions)
    assert done["eu-west-2"] == "updated" and done["us-east-2"] == "created"
    assert all(_retention(aws, region) == [30] for region in ("eu-west-2", "us-east-2", "ap-southeast-2"))
    # A second run changes nothing.
    again = edge_services.set_log_retention(aws, FUNCTION, 30, said.append)
    assert set(again.values()) == {"unchanged"} and said[-1].endswith(", unchanged")


def test_cleanup_deletes_the_groups_everywhere(aws: Any) -> None:
    edge_services.set_log_retention(aws, FUNCTION, 7, lambda _: None, regions=["eu-west-2", "us-east-2"])
    said: List[str] = []
    deleted = edge_services.delete_log_groups(aws, FUNCTION, said.append, regions=["eu-west-2", "us-east-2",
                                                                                   "ap-south-1"])
    assert deleted == ["eu-west-2", "us-east-2"]
    assert _retention(aws, "eu-west-2") == [] and _retention(aws, "us-east-2") == []
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


def test_teardown_cleanup_removes_the_log_groups_once_the_function_is_gone(aws: Any,
                                                                         capsys: pytest.CaptureFixture) -> None:
    from infra.aws import teardown

    edge_services.set_log_retention(aws, FUNCTION, 30, lambda _: None)
    assert teardown.main(["cleanup", "--function-name", FUNCTION], clients=aws, sleep=lambda _: None) == 0
    assert all(_retention(aws, region) == [] for region in edge_services.enabled_regions(aws))
    assert f"log group {GROUP}: deleted in" in capsys.readouterr().out
