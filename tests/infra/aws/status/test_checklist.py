"""The checklist's one translation of AWS's refusals: a refused call names the permission it needs; a resource that
no longer exists is said to be missing, since no permission would make it readable (errors shaped by botocore's
Stubber from each service's model)."""
from __future__ import annotations

from typing import Any, Dict

import pytest
from botocore.exceptions import ClientError

from infra.aws.status.checklist import FAIL, refused
from tests.infra.aws.status.helpers import DIST_ID, VERSION_ARN, AwsWorld


def _error(world: AwsWorld, service: str, operation: str, params: Dict[str, Any], code: str, message: str,
           status: int) -> ClientError:
    world.stub(service).add_client_error(operation, service_error_code=code, service_message=message,
                                         http_status_code=status, expected_params=params)
    with pytest.raises(ClientError) as raised:
        getattr(world(service, "us-east-1"), operation)(**params)
    return raised.value


@pytest.mark.parametrize("service, operation, params, code, message, name", [
    ("cloudfront", "get_distribution", {"Id": DIST_ID}, "NoSuchDistribution",
     "The specified distribution does not exist.", f"distribution {DIST_ID}"),
    ("lambda", "get_function", {"FunctionName": VERSION_ARN}, "ResourceNotFoundException",
     f"Function not found: {VERSION_ARN}", f"function {VERSION_ARN}"),
    ("cloudfront", "get_cache_policy", {"Id": "4cc15a8a"}, "NoSuchCachePolicy",
     "The cache policy does not exist.", "query strings cached and forwarded are the function's allow-list"),
], ids=["distribution", "function", "cache policy"])
def test_a_missing_resource_is_said_missing_not_a_permission(service: str, operation: str, params: Dict[str, Any],
                                                             code: str, message: str, name: str) -> None:
    error = _error(AwsWorld(), service, operation, params, code, message, 404)
    found = refused("distribution", name, error, "cloudfront:GetDistribution")
    assert found.state == FAIL and found.evidence == f"does not exist: {code} ({message})"
    assert "needs" not in found.fix and found.fix.startswith("it was deleted outside the stack, or never created")


def test_a_refusal_still_names_the_permission() -> None:
    error = _error(AwsWorld(), "cloudfront", "get_distribution", {"Id": DIST_ID}, "AccessDenied",
                   "User is not authorized to perform: cloudfront:GetDistribution", 403)
    found = refused("distribution", f"distribution {DIST_ID}", error, "cloudfront:GetDistribution")
    assert found.evidence.startswith("unable to check: AccessDenied (User is not authorized")
    assert found.fix == "the caller needs cloudfront:GetDistribution"

