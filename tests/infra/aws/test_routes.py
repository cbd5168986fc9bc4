"""The MRAP routes: what is sent to S3's control API (the account model's routes, with their propagation time), what
is refused before anything is sent, and the fall-back to the next control Region when one cannot be reached (botocore
Stubber: an unreachable endpoint and AWS's refusals)."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from infra.aws import routes, rules
from infra.aws.errors import ToolError

from .account import Account, ModelMrap
from .helpers import ACCOUNT as MODEL_ACCOUNT

ACCOUNT = "111122223333"
MRAP = routes.mrap_arn(ACCOUNT, "mfzwi23gnjvgw.mrap")


class StubbedControl:
    """One stubbed s3control client per control Region; a Region listed in `down` cannot be reached."""

    def __init__(self, down: Tuple[str, ...] = ()) -> None:
        self.down = down
        self.calls: List[str] = []
        self.clients: Dict[str, Any] = {}
        self.stubs: Dict[str, Stubber] = {}
        for region in routes.CONTROL_REGIONS:
            client = boto3.client("s3control", region_name=region, aws_access_key_id="AKIAEXAMPLE",
                                  aws_secret_access_key="secret")
            self.clients[region] = client
            self.stubs[region] = Stubber(client)
            self.stubs[region].activate()

    def __call__(self, service: str, region: str) -> Any:
        assert service == "s3control"
        self.calls.append(region)
        if region in self.down:
            raise EndpointConnectionError(endpoint_url=f"https://{ACCOUNT}.s3-control.{region}.amazonaws.com")
        return self.clients[region]


def _routes_answer(london: int, ohio: int) -> Dict[str, Any]:
    return {"Mrap": MRAP, "Routes": [
        {"Bucket": "images-london", "Region": "eu-west-2", "TrafficDialPercentage": london},
        {"Bucket": "images-ohio", "Region": "us-east-2", "TrafficDialPercentage": ohio},
    ]}


def _expect_get(stub: Stubber, london: int, ohio: int) -> None:
    stub.add_response("get_multi_region_access_point_routes", _routes_answer(london, ohio),
                      {"AccountId": ACCOUNT, "Mrap": MRAP})


def _model_mrap(aws: Account, london: int = 100, ohio: int = 100) -> str:
    arn = routes.mrap_arn(MODEL_ACCOUNT, "mrap-edge.mrap")
    aws.mraps[arn] = ModelMrap("mrap-edge", arn, [("images-london", "eu-west-2"), ("images-ohio", "us-east-2")],
                               aws.clock.now, {"eu-west-2": [(aws.clock.now, london)],
                                               "us-east-2": [(aws.clock.now, ohio)]})
    return arn


def test_making_a_region_passive_submits_only_that_route_and_says_in_effect_after_the_propagation_time(
        aws: Account) -> None:
    mrap = _model_mrap(aws)
    said: List[str] = []
    submitted_at = aws.clock.now
    after = routes.change_routes(aws, MODEL_ACCOUNT, mrap, {"us-east-2": routes.PASSIVE}, said.append,
                                 sleep=aws.clock.sleep)
    assert [(r.region, r.state) for r in after] == [("eu-west-2", "active"), ("us-east-2", "passive")]
    assert "routes: us-east-2 (images-ohio) active -> passive" in said and said[-1] == "routes: in effect"
    assert aws.writes("s3control") == ["s3control.SubmitMultiRegionAccessPointRoutes"]
    assert aws.clock.now - submitted_at >= rules.ROUTE_PROPAGATION


def test_dry_run_reads_and_prints_but_submits_nothing(aws: Account) -> None:
    mrap = _model_mrap(aws)
    said: List[str] = []
    routes.change_routes(aws, MODEL_ACCOUNT, mrap, {"us-east-2": 0}, said.append, dry_run=True)
    assert said[-1] == "routes: dry run, nothing submitted" and aws.writes("s3control") == []


def test_no_change_submits_nothing(aws: Account) -> None:
    mrap = _model_mrap(aws, ohio=0)
    said: List[str] = []
    routes.change_routes(aws, MODEL_ACCOUNT, mrap, {"us-east-2": 0}, said.append)
    assert said == ["routes: no change"] and aws.writes("s3control") == []


@pytest.mark.parametrize("wanted, message", [
    ({"eu-west-2": 0}, "refusing to make every Region passive"),
    ({"ap-south-1": 100}, "the MRAP has no bucket in ap-south-1"),
    ({"us-east-2": 50.5 * 3}, "must be 0 (passive) to 100 (active)"),
], ids=["every region passive", "a region the mrap lacks", "a dial out of range"])
def test_impossible_changes_are_refused_before_anything_is_submitted(aws: Account, wanted: Dict[str, Any],
                                                                    message: str) -> None:
    mrap = _model_mrap(aws, ohio=0)
    with pytest.raises(ToolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        routes.change_routes(aws, MODEL_ACCOUNT, mrap, wanted, lambda _: None)
    assert aws.writes("s3control") == []


def test_an_unreachable_control_region_falls_back_to_the_next() -> None:
    control = StubbedControl(down=("us-east-1",))
    _expect_get(control.stubs["us-west-2"], 100, 100)
    assert [r.active for r in routes.get_routes(control, ACCOUNT, MRAP)] == [True, True]
    assert control.calls == ["us-east-1", "us-west-2"]


def test_every_control_region_down_is_one_line() -> None:
    control = StubbedControl(down=routes.CONTROL_REGIONS)
    with pytest.raises(ToolError, match="unable to reach the MRAP routes API in any of us-east-1"):
        routes.get_routes(control, ACCOUNT, MRAP)


def test_access_denied_names_the_permission() -> None:
    control = StubbedControl()
    control.stubs["us-east-1"].add_client_error(
        "get_multi_region_access_point_routes", service_error_code="AccessDenied", service_message="Access Denied",
        http_status_code=403)
    with pytest.raises(ToolError) as refused:
        routes.get_routes(control, ACCOUNT, MRAP)
    assert str(refused.value) == (
        f"unable to read the routes of {MRAP}: AccessDenied (Access Denied); "
        "the caller needs s3:GetMultiRegionAccessPointRoutes on the MRAP")


def test_a_change_not_in_effect_in_time_says_how_to_check() -> None:
    control = StubbedControl()
    for _ in range(3):
        _expect_get(control.stubs["us-east-1"], 100, 100)
    expected = "still not in effect after 20 s for us-east-2; check again with scripts/routes"
    with pytest.raises(ToolError, match=expected):
        routes.wait_for_routes(control, ACCOUNT, MRAP, {"us-east-2": 0}, lambda _: None, sleep=lambda _: None,
                               timeout=20.0)
