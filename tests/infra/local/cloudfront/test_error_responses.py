"""The distribution's custom error responses on the local path: S3's error bodies (a refused signature echoes the
canonical request, with the function's access key id and session token) never reach the viewer."""
from __future__ import annotations

from dataclasses import replace

import pytest

from infra.aws.error_pages import ERROR_PAGE
from infra.local.stack import LocalStack
from tests.conftest import StartStack
from tests.curl import curl


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> LocalStack:
    return start_stack(default_ttl=0, function_timeout_s=2.0)  # the project's template, cache off


def test_a_refused_signature_reaches_the_viewer_without_the_token_or_the_key_id(local: LocalStack) -> None:
    for invoker in local.invokers.values():
        invoker.fault = "corrupt-signature"

    response = curl(local.url("eu-west-2", "/images/red.png"))

    # S3 refused it with its XML (which echoes the canonical request) ...
    assert local.mrap is not None
    [refused] = local.mrap.received
    assert (refused.verified, refused.error_code) == (False, "SignatureDoesNotMatch")
    signed = dict((name.lower(), value) for name, value in refused.headers)
    token, key_id = signed["x-amz-security-token"], local.credentials.access_key_id
    assert token == local.credentials.session_token
    # ... and the viewer gets the status with the generic page, nothing of S3's answer.
    assert response.status == 403
    assert response.body == ERROR_PAGE
    for secret in (token, key_id, "CanonicalRequest", "StringToSign", "SignatureDoesNotMatch"):
        assert secret.encode() not in response.body
    assert all(token not in value and key_id not in value for _, value in response.headers)
    assert response.header("x-cache") == "Error from cloudfront"


def test_without_the_custom_error_responses_s3s_body_would_leak(local: LocalStack) -> None:
    # The same refusal with the template's CustomErrorResponses taken away: what CloudFront would pass through.
    assert local.cloudfront is not None
    local.cloudfront.settings = replace(local.settings, error_responses=())
    for invoker in local.invokers.values():
        invoker.fault = "corrupt-signature"

    response = curl(local.url("eu-west-2", "/images/red.png"))

    assert response.status == 403
    assert local.credentials.session_token.encode() in response.body
    assert b"<CanonicalRequest>" in response.body


def test_a_missing_key_is_its_status_with_the_page(local: LocalStack) -> None:
    response = curl(local.url("us-east-2", "/no-such-key.png"))

    assert response.status in (403, 404)  # 403 without s3:ListBucket, as on AWS
    assert response.body == ERROR_PAGE
    assert response.header("content-type") == "text/html; charset=utf-8"


def test_when_the_page_is_missing_the_viewer_gets_what_its_origin_said(local: LocalStack) -> None:
    assert local.cloudfront is not None
    moved = replace(local.settings.error_responses[1], page_path="/_mrap-edge/errors/gone.html")
    assert moved.code == 403
    local.cloudfront.settings = replace(local.settings, error_responses=(moved,))
    for invoker in local.invokers.values():
        invoker.fault = "corrupt-signature"

    response = curl(local.url("eu-west-2", "/images/red.png"))

    # The error page's origin has no s3:ListBucket either: S3 answers a missing page 403 AccessDenied.
    assert response.status == 403 and b"AccessDenied" in response.body
    assert local.credentials.session_token.encode() not in response.body
