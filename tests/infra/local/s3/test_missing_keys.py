"""Missing keys that answer 404: the template's MissingKeys=404 grants the function role s3:ListBucket through the
MRAP, and the stand-ins follow the grant (404 NoSuchKey with it, 403 AccessDenied without), with the template's
error caching time; listing itself never reaches S3 through the function, and in native mode (where nothing stops
`GET /`) the template refuses MissingKeys=404."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Dict

import pytest

from infra.local.cloudformation import rule_failures
from infra.local.cloudfront.settings import TEMPLATE_FILE, settings_from_template
from infra.aws.buckets import cloudfront_read_statement
from infra.local.iam import Policy, Principal
from infra.local.s3.access import CLOUDFRONT, Access, StackIdentities
from infra.local.stack import LocalStack, StackOptions
from tests.conftest import StartStack
from tests.curl import curl

LONDON = "eu-west-2"
REGIONS = ("eu-west-2", "us-east-2")
IDENTITIES = StackIdentities(mrap_alias="mfzwi23gnjvgw.mrap", bucket_names=("london-bucket", "ohio-bucket"))
ROLE = Principal("AWS", IDENTITIES.role_arn)
SOURCE = {"aws:SourceArn": IDENTITIES.distribution_arn}
ANSWER_404 = {"MissingKeys": "404"}


def template() -> Dict[str, Any]:
    return json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))


# --- the grant, as the IAM evaluator reads it ---------------------------------------------------------------------

def test_the_role_may_list_through_the_mrap_only_with_missing_keys_404() -> None:
    granted = Access(template(), IDENTITIES, REGIONS, parameters=ANSWER_404)
    default = Access(template(), IDENTITIES, REGIONS)

    assert granted.may_list_through_mrap(ROLE, "london-bucket")
    assert not default.may_list_through_mrap(ROLE, "london-bucket")
    # Listing is granted, not reading more: objects stay GetObject/GetObjectVersion only.
    assert not granted.through_mrap(ROLE, "GET", "/images/red.png?acl")


def test_cloudfront_never_lists_through_the_mrap_in_native_mode() -> None:
    native = Access(template(), IDENTITIES, REGIONS, parameters={"NativeMode": "true"})
    assert native.through_mrap(CLOUDFRONT, "GET", "/images/red.png", "london-bucket", SOURCE)
    assert not native.may_list_through_mrap(CLOUDFRONT, "london-bucket", SOURCE)


def test_the_template_refuses_missing_keys_404_with_native_mode() -> None:
    regions = {"BucketRegions": "eu-west-2,us-east-2"}
    assert rule_failures(template(), {**regions, **ANSWER_404}) == []
    assert rule_failures(template(), {**regions, "NativeMode": "true"}) == []
    [failure] = rule_failures(template(), {**regions, **ANSWER_404, "NativeMode": "true"})
    assert "MissingKeys=404 needs NativeMode=false" in failure
    with pytest.raises(ValueError, match="MissingKeys=404 needs NativeMode=false"):
        LocalStack(StackOptions(parameters={**ANSWER_404, "NativeMode": "true"}))


# --- what a viewer sees ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def answers_404(start_stack: StartStack) -> LocalStack:
    return start_stack(parameters=ANSWER_404, client_regions=(LONDON,), function_timeout_s=5.0)


@pytest.fixture(scope="module")
def answers_403(start_stack: StartStack) -> LocalStack:
    return start_stack(client_regions=(LONDON,), function_timeout_s=5.0)


def test_a_missing_key_is_404_no_such_key_with_the_grant(answers_404: LocalStack) -> None:
    answers_404.reset()

    response = curl(answers_404.url(LONDON, "/images/absent.png"))

    assert answers_404.mrap is not None
    received = answers_404.mrap.received[-1]
    assert (received.status, received.error_code) == (404, "NoSuchKey")
    assert response.status == 404  # the template's custom error page for 404, with 404


def test_a_missing_key_is_403_access_denied_without_the_grant(answers_403: LocalStack) -> None:
    answers_403.reset()

    response = curl(answers_403.url(LONDON, "/images/absent.png"))

    assert answers_403.mrap is not None
    received = answers_403.mrap.received[-1]
    assert (received.status, received.error_code, response.status) == (403, "AccessDenied", 403)


def test_a_404_is_cached_for_the_templates_error_caching_time(answers_404: LocalStack) -> None:
    answers_404.reset()
    assert answers_404.mrap is not None and answers_404.cloudfront is not None
    [ttl] = [r.min_ttl for r in answers_404.settings.error_responses if r.code == 404]
    assert ttl == 5

    first = curl(answers_404.url(LONDON, "/images/later.png"))
    answers_404.buckets.put(LONDON, "images/later.png", b"now here")  # written after the 404 was cached
    second = curl(answers_404.url(LONDON, "/images/later.png"))

    assert (first.status, second.status) == (404, 404)
    assert second.header("x-cache") == "Error from cloudfront"
    assert len(answers_404.mrap.received) == 1  # the second answer came from the edge's cache


def test_the_bucket_root_never_reaches_s3_through_the_function(answers_404: LocalStack) -> None:
    answers_404.reset()

    response = curl(answers_404.url(LONDON, "/"))

    assert response.status == 404 and response.header("x-cache") == "LambdaGeneratedResponse from cloudfront"
    assert answers_404.mrap is not None and list(answers_404.mrap.received) == []


# --- native mode: why MissingKeys=404 is refused there ----------------------------------------------------------------

def _native_template_granting_cloudfront_list() -> Dict[str, Any]:
    """What MissingKeys=404 would have to mean in native mode: CloudFront may list through the MRAP."""
    changed = template()
    changed["Rules"].pop("MissingKeys404NeedsTheFunction")
    statement = changed["Resources"]["MrapPolicy"]["Properties"]["Policy"]["Statement"][0]["Fn::If"][2]
    statement["Action"] = [*statement["Action"], "s3:ListBucket"]
    statement["Resource"] = [statement["Resource"],
                             {"Fn::Sub": "arn:aws:s3::${AWS::AccountId}:accesspoint/${Mrap.Alias}"}]
    return changed


def _buckets_granting_cloudfront_list(stack: LocalStack) -> None:
    """Every bucket's policy also lets this distribution list (a service principal needs the routed bucket's
    grant too)."""
    assert stack.access is not None
    for name in stack.access.bucket_policies:
        stack.access.bucket_policies[name] = Policy.parse(f"bucket policy of {name}", {"Statement": [
            cloudfront_read_statement(name, IDENTITIES.distribution_arn),
            {"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:ListBucket",
             "Resource": f"arn:aws:s3:::{name}", "Condition": {"StringEquals": SOURCE}}]})


def test_in_native_mode_the_bucket_root_reaches_the_mrap_as_a_listing(start_stack: StartStack) -> None:
    native = {"NativeMode": "true"}
    settings = replace(settings_from_template(template(), parameters=native), default_ttl=0)
    refused = start_stack(settings=settings, parameters=native, client_regions=(LONDON,))
    listed = start_stack(settings=settings, parameters=native, client_regions=(LONDON,),
                         policy_template=_native_template_granting_cloudfront_list())
    _buckets_granting_cloudfront_list(listed)

    assert curl(refused.url(LONDON, "/")).status == 403  # the template as it is: no s3:ListBucket for CloudFront
    answer = curl(listed.url(LONDON, "/"))

    assert listed.mrap is not None and listed.mrap.received[-1].target == "/"
    assert answer.status == 200 and b"<ListBucketResult" in answer.body and b"images/red.png" in answer.body
