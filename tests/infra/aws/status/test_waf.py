"""The WAF check against GetWebACL / GetIPSet answers shaped like WAFv2's (botocore Stubber)."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest

from infra.aws.status import waf
from infra.aws.status.checklist import FAIL, PASS, SKIP
from tests.infra.aws.status.helpers import IP_SET_ARN, WEB_ACL_ARN, AwsWorld

ACL_PARAMS = {"Name": "mrap-edge-internal-only", "Scope": "CLOUDFRONT", "Id": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}
SET_PARAMS = {"Name": "mrap-edge-allowed-viewers", "Scope": "CLOUDFRONT", "Id": "a1b2c3d4-5678-90ab-cdef-EXAMPLE22222"}
VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "allow-company-ranges"}


def web_acl(default: str = "Block") -> Dict[str, Any]:
    return {"LockToken": "1a2b3c4d-0000-4000-8000-000000000001", "WebACL": {
        "Name": "mrap-edge-internal-only", "Id": ACL_PARAMS["Id"], "ARN": WEB_ACL_ARN,
        "DefaultAction": {default: {}}, "Description": "Blocks every viewer outside the company ranges.",
        "Rules": [{"Name": "allow-company-ranges", "Priority": 0, "Action": {"Allow": {}},
                   "Statement": {"IPSetReferenceStatement": {"ARN": IP_SET_ARN}}, "VisibilityConfig": VISIBILITY}],
        "VisibilityConfig": dict(VISIBILITY, MetricName="mrap-edge-internal-only"), "Capacity": 1}}


def ip_set(addresses: List[str]) -> Dict[str, Any]:
    return {"LockToken": "1a2b3c4d-0000-4000-8000-000000000002", "IPSet": {
        "Name": "mrap-edge-allowed-viewers", "Id": SET_PARAMS["Id"], "ARN": IP_SET_ARN,
        "Description": "Company ranges allowed to use the distribution.", "IPAddressVersion": "IPV4",
        "Addresses": addresses}}


def run(address: str, addresses: List[str] = ["198.51.100.0/24", "203.0.113.0/25"]) -> Any:
    world = AwsWorld()
    stub = world.stub("wafv2")
    stub.add_response("get_web_acl", web_acl(), ACL_PARAMS)
    stub.add_response("get_ip_set", ip_set(addresses), SET_PARAMS)
    (found,) = waf.waf_checks(world, WEB_ACL_ARN, lambda: address)
    stub.assert_no_pending_responses()
    return found


def test_an_address_inside_the_allow_list_passes() -> None:
    found = run("203.0.113.77")
    assert found.state == PASS and found.evidence == "203.0.113.77 is inside 203.0.113.0/25 (web ACL " \
                                                     "mrap-edge-internal-only)"


def test_an_address_outside_the_allow_list_fails_and_says_what_happens() -> None:
    found = run("192.0.2.10")
    assert found.state == FAIL
    assert found.evidence == ("192.0.2.10 is outside the allow-list 198.51.100.0/24, 203.0.113.0/25 of web ACL "
                              "mrap-edge-internal-only: requests from here get 403 Request blocked")
    assert "--allowed-cidrs" in found.fix


def test_an_unknown_address_fails_with_how_to_give_it() -> None:
    def unreachable() -> str:
        raise OSError("[Errno 101] Network is unreachable")

    world = AwsWorld()
    stub = world.stub("wafv2")
    stub.add_response("get_web_acl", web_acl(), ACL_PARAMS)
    stub.add_response("get_ip_set", ip_set(["198.51.100.0/24"]), SET_PARAMS)
    (found,) = waf.waf_checks(world, WEB_ACL_ARN, unreachable)
    assert found.state == FAIL and found.fix == "pass --my-ip ADDRESS"


def test_no_web_acl_and_other_acls_are_not_evaluated() -> None:
    assert waf.waf_checks(AwsWorld(), "", lambda: "192.0.2.1")[0].state == SKIP
    world = AwsWorld()
    world.stub("wafv2").add_response("get_web_acl", web_acl(default="Allow"), ACL_PARAMS)
    assert waf.waf_checks(world, WEB_ACL_ARN, lambda: "192.0.2.1")[0].state == SKIP


@pytest.mark.parametrize("operation", ["get_web_acl", "get_ip_set"])
def test_a_refused_read_names_the_permission(operation: str) -> None:
    world = AwsWorld()
    stub = world.stub("wafv2")
    if operation == "get_ip_set":
        stub.add_response("get_web_acl", web_acl(), ACL_PARAMS)
    stub.add_client_error(operation, service_error_code="WAFAccessDeniedException", http_status_code=400,
                          service_message="You don't have the permissions that are required to perform this "
                                          "operation.")
    (found,) = waf.waf_checks(world, WEB_ACL_ARN, lambda: "192.0.2.1")
    permission = "wafv2:GetWebACL" if operation == "get_web_acl" else "wafv2:GetIPSet"
    assert found.state == FAIL and permission in found.fix
    assert found.evidence.startswith("unable to check: WAFAccessDeniedException")
