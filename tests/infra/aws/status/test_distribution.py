"""The distribution checks against GetDistribution / GetOriginRequestPolicy / GetCachePolicy answers shaped like
CloudFront's (botocore Stubber; moto does not model policies and origin groups well enough): the healthy stack
passes, and each way the deploy review found a distribution broken gives its ✗ with a fix."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import pytest

from edge.config import Config
from infra.aws.status import distribution
from infra.aws.status.checklist import FAIL, PASS, SKIP, Check
from tests.infra.aws.status.helpers import (
    CACHE_POLICY_ID, FUNCTION, REQUEST_POLICY_ID, AwsWorld, check, facts, healthy_cache_policy, healthy_distribution,
    healthy_request_policy,
)

Change = Callable[[Dict[str, Any]], None]


def run(change: Optional[Change] = None, request_policy: Optional[Dict[str, Any]] = None,
        cache_policy: Optional[Dict[str, Any]] = None, config: Optional[Config] = None, native: bool = False,
        ) -> List[Check]:
    world = AwsWorld()
    answer = healthy_distribution()["Distribution"]
    if change:
        change(answer)
    stub = world.stub("cloudfront")
    stub.add_response("get_origin_request_policy", request_policy or healthy_request_policy(),
                      {"Id": REQUEST_POLICY_ID})
    stub.add_response("get_cache_policy", cache_policy or healthy_cache_policy(), {"Id": CACHE_POLICY_ID})
    stack = facts(NativeMode="true") if native else facts()
    checks = distribution.distribution_checks(world, stack, answer, config or Config(),
                                              "edge/mrap-edge.json in version 7")
    stub.assert_no_pending_responses()
    return checks


def behaviour(answer: Dict[str, Any]) -> Dict[str, Any]:
    return answer["DistributionConfig"]["DefaultCacheBehavior"]


def origin(answer: Dict[str, Any], index: int) -> Dict[str, Any]:
    return answer["DistributionConfig"]["Origins"]["Items"][index]


def test_the_healthy_distribution_passes_every_check() -> None:
    checks = run()
    assert [(c.name, c.state) for c in checks if c.state != PASS] == []
    assert len(checks) == 8
    assert "E2QWRUHAPOMQZL Deployed, enabled" in check(checks, "deployed").evidence
    assert check(checks, "origin-request trigger").evidence.endswith(f":function:{FUNCTION}:7")


def _set(path: List[Any], value: Any) -> Change:
    def change(answer: Dict[str, Any]) -> None:
        target = answer
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


def _drop_header(answer: Dict[str, Any]) -> None:
    origin(answer, 1)["CustomHeaders"] = {"Quantity": 0}


@pytest.mark.parametrize("change, name, evidence", [
    (_set(["Status"], "InProgress"), "deployed", "InProgress"),
    (_set(["DistributionConfig", "Enabled"], False), "deployed", "disabled"),
    (_set(["DistributionConfig", "DefaultCacheBehavior", "TargetOriginId"], "mrap"), "default behaviour",
     "targets mrap"),
    (_set(["DistributionConfig", "Origins", "Items", 0, "DomainName"], "images-london.s3.eu-west-2.amazonaws.com"),
     "primary origin", "not mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"),
    (lambda a: origin(a, 0).pop("CustomOriginConfig"), "primary origin", "not a custom origin"),
    (_set(["DistributionConfig", "Origins", "Items", 0, "OriginAccessControlId"], "E1F83G8C2ARO7P"),
     "primary origin", "origin access control signs it too"),
    (_drop_header, "secondary origin", "no originTypeFailover custom header"),
    (_set(["DistributionConfig", "Origins", "Items", 1, "OriginAccessControlId"], ""), "secondary origin",
     "no origin access control"),
    (_set(["DistributionConfig", "Origins", "Items", 1, "DomainName"], "images-ohio.s3.us-east-2.amazonaws.com"),
     "secondary origin", "not images-london.s3.eu-west-2.amazonaws.com"),
    (_set(["DistributionConfig", "DefaultCacheBehavior", "LambdaFunctionAssociations", "Items", 0,
           "LambdaFunctionARN"], "arn:aws:lambda:us-east-1:123456789012:function:mrap-edge:$LATEST"),
     "origin-request trigger", "not a numbered version"),
    (_set(["DistributionConfig", "DefaultCacheBehavior", "LambdaFunctionAssociations", "Items", 0,
           "LambdaFunctionARN"], "arn:aws:lambda:us-east-1:123456789012:function:other-signer:3"),
     "origin-request trigger", f"another function than the stack's {FUNCTION}"),
    (_set(["DistributionConfig", "DefaultCacheBehavior", "LambdaFunctionAssociations", "Items", 0,
           "LambdaFunctionARN"], "arn:aws:lambda:us-east-1:123456789012:function:mrap-edge:7"),
     "origin-request trigger", f"another function than the stack's {FUNCTION}"),
    (_set(["DistributionConfig", "DefaultCacheBehavior", "LambdaFunctionAssociations", "Items", 0,
           "LambdaFunctionARN"], f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}:6"),
     "origin-request trigger", "but the stack's version is"),
    (_set(["DistributionConfig", "DefaultCacheBehavior", "LambdaFunctionAssociations"], {"Quantity": 0}),
     "origin-request trigger", "no origin-request association"),
    (_set(["DistributionConfig", "CustomErrorResponses"], {"Quantity": 0}), "custom error responses",
     "no error page for 403"),
], ids=["in progress", "disabled", "behaviour skips the group", "primary is a bucket", "primary is an s3 origin",
        "primary signed twice", "secondary without marker", "secondary without oac", "secondary wrong bucket",
        "latest", "another function", "the parameter's name", "stale version", "no association", "no error pages"])
def test_each_broken_distribution_setting_is_a_failed_check_with_a_fix(change: Change, name: str,
                                                                       evidence: str) -> None:
    checks = run(change)
    found = check(checks, name)
    assert found.state == FAIL and evidence in found.evidence, found
    assert found.fix
    if name != "default behaviour":  # without the group, its primary and secondary are missing too
        assert [c.name for c in checks if c.state == FAIL] == [found.name]


@pytest.mark.parametrize("headers, evidence", [
    (("allViewer", []), "headers allViewer"),
    (("whitelist", ["Origin", "Host"]), "'host'"),
    (("allExcept", ["Authorization"]), "headers allExcept"),
    (("allViewerAndWhitelistCloudFront", ["CloudFront-Viewer-Country"]), "allViewerAndWhitelistCloudFront"),
], ids=["all viewer headers", "host whitelisted", "all but authorization", "all and cloudfront headers"])
def test_an_origin_request_policy_forwarding_the_viewer_host_fails(headers: Any, evidence: str) -> None:
    found = check(run(request_policy=healthy_request_policy(headers=headers)), "origin request policy")
    assert found.state == FAIL and evidence in found.evidence and "forwards the viewer's Host" in found.evidence
    assert "every signature fails" in found.fix


def test_all_but_host_is_fine() -> None:
    found = check(run(request_policy=healthy_request_policy(headers=("allExcept", ["Host"]))), "origin request")
    assert found.state == PASS


@pytest.mark.parametrize("cache, request_queries, config, evidence", [
    (("whitelist", ["partNumber"]), ("whitelist", ["versionId", "partNumber"]), Config(),
     "cache key: missing ['versionId']"),
    (("all", []), ("none", []), Config(), "cache key query strings: all"),
    (("whitelist", ["versionId", "partNumber"]), ("all", []), Config(),
     "origin request policy forwards query strings: all"),
    (("whitelist", ["versionId", "partNumber"]), ("whitelist", ["versionId", "partNumber", "utm_source"]),
     Config(), "forwarded: not in the allow-list ['utm_source']"),
    (("whitelist", ["versionId", "partNumber"]), ("whitelist", ["versionId", "partNumber"]),
     Config(query_allowlist=("versionId", "partNumber", "response-content-type")),
     "cache key: missing ['response-content-type']"),
], ids=["versionId not in the cache key", "every query cached", "every query forwarded", "an extra forwarded",
        "the package allows more"])
def test_query_strings_must_be_exactly_the_packaged_allow_list(cache: Any, request_queries: Any, config: Config,
                                                               evidence: str) -> None:
    found = check(run(cache_policy=healthy_cache_policy(cache),
                      request_policy=healthy_request_policy(queries=request_queries), config=config), "query strings")
    assert found.state == FAIL and evidence in found.evidence, found.evidence
    assert "(edge/mrap-edge.json in version 7)" in found.evidence


def test_native_mode_skips_the_trigger_and_wants_the_oac_on_the_mrap() -> None:
    checks = run(native=True)
    assert check(checks, "origin-request trigger").state == FAIL  # the association is still there
    checks = run(native=True, change=lambda a: (
        behaviour(a).__setitem__("LambdaFunctionAssociations", {"Quantity": 0}),
        origin(a, 0).__setitem__("OriginAccessControlId", "E2NATIVESIGV4A")))
    assert check(checks, "origin-request trigger").state == SKIP
    assert check(checks, "primary origin").state == PASS


def test_a_refused_policy_read_names_the_permission() -> None:
    world = AwsWorld()
    stub = world.stub("cloudfront")
    stub.add_client_error("get_origin_request_policy", service_error_code="AccessDenied",
                          service_message="User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
                                          "cloudfront:GetOriginRequestPolicy", http_status_code=403)
    stub.add_response("get_cache_policy", healthy_cache_policy(), {"Id": CACHE_POLICY_ID})
    checks = distribution.distribution_checks(world, facts(), healthy_distribution()["Distribution"], Config(), "x")
    found = check(checks, "origin request policy")
    assert found.state == FAIL
    assert found.evidence.startswith("unable to check: AccessDenied (User: arn:aws:iam::123456789012:user/ops")
    assert found.fix == "the caller needs cloudfront:GetOriginRequestPolicy"
