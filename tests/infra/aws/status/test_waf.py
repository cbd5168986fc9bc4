"""The WAF check against GetWebACL / GetIPSet answers shaped like WAFv2's (botocore Stubber)."""
from __future__ import annotations

from typing import Any, List, Optional

import pytest

from infra.aws.status import waf
from infra.aws.status.checklist import FAIL, PASS, SKIP
from tests.infra.aws.status.helpers import WAF_ACL_PARAMS as ACL_PARAMS
from tests.infra.aws.status.helpers import WAF_SET_PARAMS as SET_PARAMS
from tests.infra.aws.status.helpers import WEB_ACL_ARN, AwsWorld
from tests.infra.aws.status.helpers import waf_ip_set as ip_set
from tests.infra.aws.status.helpers import waf_web_acl as web_acl

def run(address: str, addresses: Optional[List[str]] = None) -> Any:
    addresses = addresses or ["198.51.100.0/24", "203.0.113.0/25"]
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
