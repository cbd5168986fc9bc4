"""Native mode in the stand-in: CloudFront's SigV4A origin access control signs for the MRAP with credentials of its
own and no function runs; the MRAP stand-in's verifier and IAM evaluator judge it against the MRAP policy's
statement for CloudFront; a distribution with an origin trigger on a sigv4a origin is refused before anything
starts, as CloudFront refuses it."""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Dict

import pytest

from infra.local.cloudfront.origin_access import native_refusal, signs_natively
from infra.local.cloudfront.settings import TEMPLATE_FILE, settings_from_template
from infra.local.stack import LocalStack, StackOptions
from tests.conftest import StartStack
from tests.curl import curl

NATIVE = {"NativeMode": "true"}
LONDON, OHIO = "eu-west-2", "us-east-2"
ROOT = Path(__file__).resolve().parents[4]


def template() -> Dict[str, Any]:
    return json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))


def with_origin_trigger(event_type: str) -> Dict[str, Any]:
    """The template with a Lambda@Edge trigger on the default behaviour whatever the mode."""
    changed = template()
    behaviour = changed["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    behaviour["LambdaFunctionAssociations"] = [{"EventType": event_type, "LambdaFunctionARN": "arn:x",
                                                 "IncludeBody": False}]
    return changed


def native_stack(start_stack: StartStack, **options: Any) -> LocalStack:
    settings = settings_from_template(template(), parameters=NATIVE)
    return start_stack(settings=settings, parameters=NATIVE, function_timeout_s=5.0, **options)


@pytest.fixture(scope="module")
def native(start_stack: StartStack) -> LocalStack:
    return native_stack(start_stack)


# --- what the template says ---------------------------------------------------------------------------------------

def test_the_templates_native_mode_signs_at_the_mrap_with_sigv4a_and_runs_no_function() -> None:
    settings = settings_from_template(template(), parameters=NATIVE)
    assert signs_natively(settings) and settings.function_events == ()
    assert settings.primary.kind == "s3"  # S3OriginConfig with the origin access control
    assert native_refusal(settings) is None
    function = settings_from_template(template())
    assert not signs_natively(function) and function.function_events == ("origin-request",)
    assert function.primary.kind == "custom" and native_refusal(function) is None


@pytest.mark.parametrize("event_type", ["origin-request", "origin-response"])
def test_an_origin_trigger_on_a_sigv4a_origin_is_refused_before_anything_starts(event_type: str) -> None:
    changed = with_origin_trigger(event_type)
    settings = settings_from_template(changed, parameters=NATIVE)

    refusal = native_refusal(settings)

    assert refusal is not None and event_type in refusal and "SigV4a origin access control" in refusal
    assert "\n" not in refusal and refusal.startswith("unable to start the distribution: ")
    with pytest.raises(ValueError, match="SigV4a origin access control") as raised:
        LocalStack(StackOptions(settings=settings, parameters=NATIVE, policy_template=changed))
    assert str(raised.value) == refusal
    # A viewer trigger is not an origin trigger: CloudFront accepts it.
    assert native_refusal(settings_from_template(with_origin_trigger("viewer-request"), parameters=NATIVE)) is None


# --- the path, signed by CloudFront ---------------------------------------------------------------------------------

def test_cloudfront_signs_with_sigv4a_and_its_own_credentials_and_no_function_runs(native: LocalStack) -> None:
    native.reset()
    assert native.invokers == {}  # no function is deployed in native mode
    for client in (LONDON, OHIO):
        response = curl(native.url(client, "/images/red.png"))
        assert response.status == 200
        assert native.mrap is not None
        received = native.mrap.received[-1]
        assert received.region == client and received.verified and received.algorithm == "AWS4-ECDSA-P256-SHA256"
        assert received.header("x-amz-region-set") == ["*"]
        credential = received.header("authorization")[0].split("Credential=", 1)[1].split("/", 1)[0]
        assert credential == native.oac_credentials.access_key_id != native.credentials.access_key_id
    assert native.cloudfront is not None and list(native.cloudfront.invocations) == []


def test_every_viewer_spelling_of_a_key_reaches_the_mrap_in_s3s_canonical_form(native: LocalStack) -> None:
    native.reset()
    for target in ("/photos/summer%20holiday%202024.png", "/photos/summer%20holiday%202024%2epng"):
        assert curl(native.url(LONDON, target)).status == 200, target
    assert native.mrap is not None
    assert {r.target for r in native.mrap.received} == {"/photos/summer%20holiday%202024.png"}


def test_native_mode_fails_over_to_the_bucket_signed_by_its_own_origin_access_control(native: LocalStack) -> None:
    native.reset()
    assert native.mrap is not None and native.failover_endpoint is not None and native.cloudfront is not None
    native.mrap.forced_status = 503

    response = curl(native.url(OHIO, "/images/red.png"))

    assert response.status == 200
    assert native.cloudfront.served[-1].origins == ["mrap", "failover"]
    assert native.failover_endpoint.received[-1].status == 200
    assert list(native.cloudfront.invocations) == []


def _without_cloudfront_in_the_mrap_policy(changed: Dict[str, Any]) -> Dict[str, Any]:
    statement = changed["Resources"]["MrapPolicy"]["Properties"]["Policy"]["Statement"][0]["Fn::If"][2]
    statement["Condition"]["StringEquals"]["AWS:SourceArn"] = "arn:aws:cloudfront::123456789012:distribution/EOTHER"
    return changed


def test_the_mrap_policys_statement_for_this_distribution_is_what_lets_cloudfront_read(
        start_stack: StartStack) -> None:
    stack = native_stack(start_stack, policy_template=_without_cloudfront_in_the_mrap_policy(template()),
                         client_regions=(LONDON,))

    response = curl(stack.url(LONDON, "/images/red.png"))

    assert stack.mrap is not None
    received = stack.mrap.received[-1]
    assert (response.status, received.verified, received.error_code) == (403, True, "AccessDenied")


def test_the_function_modes_policies_do_not_let_cloudfront_read_through_the_mrap(start_stack: StartStack) -> None:
    # CloudFront signing (native settings) against the function mode's policies (the role's statement only).
    settings = settings_from_template(template(), parameters=NATIVE)
    stack = start_stack(settings=settings, client_regions=(LONDON,), function_timeout_s=5.0)

    assert curl(stack.url(LONDON, "/images/red.png")).status == 403
    assert stack.mrap is not None and stack.mrap.received[-1].error_code == "AccessDenied"


def test_cloudfronts_signer_is_not_the_functions() -> None:
    # The stand-in plays CloudFront: its signature must not come from the code it is standing beside.
    for module in ("infra/local/cloudfront/origin_access.py", "infra/local/wire.py"):
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name == "edge" or name.startswith("edge.") for name in imported), module
