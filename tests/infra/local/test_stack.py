"""End to end over real HTTP with real curl: curl -> CloudFront stand-in -> the real handler (in its own process)
-> MRAP stand-in (the independent verifier plays S3) -> the nearest Region's moto bucket.

The stack starts once for the module; each test starts from `reset()` (routing, faults, records, cache cleared).
Plus unit tests of the pieces the stand-ins are built from: settings from the template, event building, routing.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import List
from urllib.parse import quote

import pytest

from infra.aws.error_pages import ERROR_PAGE
from infra.local.cloudfront.distribution import Invoked
from infra.local.cloudfront.events import ViewerRequest, forwarded_query, new_request_id, origin_request_event
from infra.local.cloudfront.rules import response_ttl
from infra.local.cloudfront.settings import DEFAULT_SETTINGS, TEMPLATE_FILE, load_settings, settings_from_template
from infra.local.function.invoker import REPO_ROOT, AwsCredentials, FunctionInvoker
from infra.local.regions import Routing
from infra.local.s3.mrap import Received
from infra.local.samples import AWKWARD_KEYS, PROBE_KEY, sample_objects
from infra.local.stack import LocalStack
from tests.conftest import StartStack
from tests.curl import CurlResponse, curl

MRAP_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
SAMPLES = sample_objects()
RED = SAMPLES["images/red.png"]
FUNCTION_TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> LocalStack:
    # The project's settings with the cache off, so that every request reaches the origin unless a test turns it on.
    return start_stack(default_ttl=0, function_timeout_s=FUNCTION_TIMEOUT_S)


def get(local: LocalStack, path: str, *options: str, region: str = "eu-west-2") -> CurlResponse:
    return curl(local.url(region, path), *options)


def received(local: LocalStack) -> List[Received]:
    assert local.mrap is not None
    return list(local.mrap.received)


def invocations(local: LocalStack) -> List[Invoked]:
    assert local.cloudfront is not None
    return list(local.cloudfront.invocations)


def probe(response: CurlResponse) -> dict:
    assert response.status == 200, response.body[:300]
    return json.loads(response.body)


# --- the whole path -------------------------------------------------------------------------------------------------


def test_get_is_signed_verified_and_served_from_the_nearest_bucket(local: LocalStack) -> None:
    response = get(local, "/images/red.png")

    assert response.status == 200
    assert response.body == RED
    assert response.header("x-cache") == "Miss from cloudfront"
    assert response.header("x-amz-cf-pop") == "LHR50-C1"
    [request] = received(local)
    assert request.verified and request.algorithm == "AWS4-ECDSA-P256-SHA256"
    assert request.region == "eu-west-2"
    # CloudFront added X-Amz-Cf-Id after the function ran, and the signature covered it.
    assert request.header("x-amz-cf-id") == [response.header("x-amz-cf-id")]
    assert "x-amz-cf-id" in request.header("authorization")[0]


def test_head_is_signed_and_answers_headers_only(local: LocalStack) -> None:
    response = get(local, "/images/red.png", "-I")

    assert response.status == 200
    assert b"\x89PNG" not in response.body  # with -I curl writes the headers where the body would go
    assert response.header("content-length") == str(len(RED))
    [request] = received(local)
    assert (request.method, request.verified, request.status) == ("HEAD", True, 200)


def test_range_gives_206_with_the_right_bytes(local: LocalStack) -> None:
    response = get(local, "/images/red.png", "-H", "Range: bytes=10-99")

    assert response.status == 206
    assert response.body == RED[10:100]
    assert response.header("content-range") == f"bytes 10-99/{len(RED)}"
    assert received(local)[0].header("range") == ["bytes=10-99"]


def test_if_none_match_with_the_current_etag_gives_304(local: LocalStack) -> None:
    etag = get(local, "/images/red.png").header("etag")

    response = get(local, "/images/red.png", "-H", f"If-None-Match: {etag}")

    assert response.status == 304
    assert response.body == b""
    assert received(local)[-1].header("if-none-match") == [etag]


@pytest.mark.parametrize("key", AWKWARD_KEYS, ids=lambda key: key.split("/")[-1])
def test_keys_that_need_escaping_are_served(local: LocalStack, key: str) -> None:
    response = get(local, "/" + quote(key, safe="/"))

    assert response.status == 200, response.body[:500]
    assert response.body == SAMPLES[key]
    assert received(local)[-1].verified


@pytest.mark.parametrize(
    "viewer_path",
    ["/photos/(1):@!*',$~.png", "/photos/caf%c3%a9-%c3%bcn%c3%afc%c3%b6d%c3%a9-%e6%97%a5%e6%9c%ac.png"],
    ids=["sub-delims-raw", "lower-case-hex"],
)
def test_a_viewer_path_not_in_s3_form_is_signed_as_s3_reads_it(local: LocalStack, viewer_path: str) -> None:
    # Viewers may send sub-delimiters raw or hex in lower case; the function puts the path in S3's canonical form.
    response = get(local, viewer_path)

    assert response.status == 200, response.body[:500]
    assert received(local)[-1].verified


def test_a_key_with_dot_segments_is_not_normalised_on_the_way(local: LocalStack) -> None:
    local.buckets.put("eu-west-2", "dots/./x/../y.txt", b"dot segments are part of an S3 key")

    response = get(local, "/dots/./x/../y.txt")

    assert (response.status, response.body) == (200, b"dot segments are part of an S3 key")
    assert received(local)[-1].verified


def test_allow_listed_version_id_reaches_an_older_version(local: LocalStack) -> None:
    first = local.buckets.put("eu-west-2", "versioned.txt", b"version one")
    local.buckets.put("eu-west-2", "versioned.txt", b"version two")

    latest = get(local, "/versioned.txt")
    older = get(local, f"/versioned.txt?versionId={quote(first, safe='')}")

    assert (latest.status, latest.body) == (200, b"version two")
    assert (older.status, older.body) == (200, b"version one")
    assert older.header("x-amz-version-id") == first
    assert received(local)[-1].target == f"/versioned.txt?versionId={first}"


def test_a_query_parameter_outside_the_policy_is_dropped_before_the_function(local: LocalStack) -> None:
    response = get(local, "/index.txt?utm_source=newsletter&x-amz-meta-injected=1")

    assert response.status == 200
    assert received(local)[-1].target == "/index.txt"
    [invoked] = invocations(local)
    assert invoked.event["Records"][0]["cf"]["request"]["querystring"] == ""


@pytest.mark.parametrize("forwarded_by_policy", [False, True], ids=["policy-drops", "policy-forwards"])
def test_a_viewer_x_amz_header_never_reaches_the_mrap(local: LocalStack, forwarded_by_policy: bool) -> None:
    viewer_headers = ["x-amz-meta-evil", "x-amz-security-token", "authorization", "x-amz-date"]
    if forwarded_by_policy:
        # A policy forwarding them puts them in the event: then the function itself must drop or replace them.
        assert local.cloudfront is not None
        local.cloudfront.settings = replace(local.settings, forwarded_headers=local.settings.forwarded_headers
                                            + tuple(viewer_headers))

    response = get(local, "/index.txt", "-H", "x-amz-meta-evil: 1", "-H", "X-Amz-Security-Token: forged",
                   "-H", "Authorization: AWS4-HMAC-SHA256 Credential=AKIAFORGED/x",
                   "-H", "X-Amz-Date: 20000101T000000Z")

    assert response.status == 200
    [request] = received(local)
    assert request.verified
    assert request.header("x-amz-meta-evil") == []
    assert "forged" not in request.header("x-amz-security-token")[0]
    assert request.header("authorization")[0].startswith("AWS4-ECDSA-P256-SHA256 ")
    event_headers = invocations(local)[0].event["Records"][0]["cf"]["request"]["headers"]
    assert ("x-amz-meta-evil" in event_headers) is forwarded_by_policy


# --- routing --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_region", ["eu-west-2", "us-east-2"])
def test_a_client_in_each_region_is_served_by_its_nearest_bucket(local: LocalStack, client_region: str) -> None:
    body = probe(get(local, "/" + PROBE_KEY, region=client_region))

    assert body["region"] == client_region
    assert body["bucket"] == local.buckets.buckets[client_region].bucket
    [request] = received(local)
    assert (request.client_region, request.region, request.verified) == (client_region, client_region, True)


@pytest.mark.parametrize("how", ["marked-down", "dialled-to-passive"])
def test_a_region_out_of_service_is_served_by_the_other(local: LocalStack, how: str) -> None:
    assert local.mrap is not None
    if how == "marked-down":
        local.mrap.routing.mark_down("eu-west-2")
    else:
        local.mrap.routing.set_dial("eu-west-2", 0)

    body = probe(get(local, "/" + PROBE_KEY, region="eu-west-2"))

    assert body["region"] == "us-east-2"
    # The same signature (X-Amz-Region-Set: *) is valid in the Region the MRAP chose.
    assert received(local)[0].region == "us-east-2" and received(local)[0].verified


# --- failover -------------------------------------------------------------------------------------------------------


def _assert_failed_over_unsigned(local: LocalStack, response: CurlResponse) -> None:
    primary, secondary = invocations(local)
    assert (primary.origin_id, secondary.origin_id) == ("mrap", "failover")
    assert primary.request_id == secondary.request_id == response.header("x-amz-cf-id")
    assert "s3" in secondary.event["Records"][0]["cf"]["request"]["origin"]
    # The function left the failover request as CloudFront built it: no signature of its own.
    assert secondary.result == secondary.event["Records"][0]["cf"]["request"]
    assert "authorization" not in secondary.result["headers"]


def test_a_forced_503_from_the_mrap_fails_over_to_the_secondary_bucket(local: LocalStack) -> None:
    assert local.mrap is not None
    local.mrap.forced_status = 503

    response = get(local, "/" + PROBE_KEY, region="eu-west-2")

    assert probe(response)["region"] == local.options.failover_region
    [request] = received(local)
    assert (request.verified, request.status, request.error_code) == (True, 503, "SlowDown")
    _assert_failed_over_unsigned(local, response)


@pytest.mark.parametrize("code, fails_over", [(404, False), (403, True)])
def test_a_key_missing_from_the_chosen_bucket_fails_over_only_when_403_is_a_failover_code(
        local: LocalStack, code: int, fails_over: bool) -> None:
    # Not replicated: only the failover Region's bucket has it, and the MRAP routes a viewer near the other Region
    # to that Region, whose bucket answers 403 AccessDenied (the role has no s3:ListBucket), so 404 in the criteria
    # never fires.
    failover = local.options.failover_region
    other = next(region for region in local.options.regions if region != failover)
    local.buckets.put(failover, "only-in-the-failover-bucket.txt", b"from the failover bucket")
    assert local.cloudfront is not None
    local.cloudfront.settings = replace(local.settings, failover_codes=local.settings.failover_codes | {code})

    response = get(local, "/only-in-the-failover-bucket.txt", region=other)

    assert (received(local)[0].status, received(local)[0].error_code) == (403, "AccessDenied")
    if fails_over:
        assert (response.status, response.body) == (200, b"from the failover bucket")
        _assert_failed_over_unsigned(local, response)
    else:
        assert response.status == 403 and response.body == ERROR_PAGE
        assert [i.origin_id for i in invocations(local)] == ["mrap"]


def test_a_connection_error_to_the_mrap_fails_over(local: LocalStack) -> None:
    with socket.socket() as closed:  # a port nothing listens on once closed
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[:2]
    assert local.cloudfront is not None
    resolve = local.cloudfront.resolve
    local.cloudfront.resolve = lambda host, pop: dead if host == MRAP_HOST else resolve(host, pop)
    try:
        response = get(local, "/" + PROBE_KEY)
    finally:
        local.cloudfront.resolve = resolve

    assert probe(response)["region"] == local.options.failover_region
    assert local.cloudfront.served[-1].failover_reason == "connection-error"
    assert received(local) == []
    _assert_failed_over_unsigned(local, response)


def test_a_missing_object_is_s3s_403_access_denied_without_list_bucket(local: LocalStack) -> None:
    response = get(local, "/no-such-key.png")

    assert response.status == 403  # S3's AccessDenied: the role has no s3:ListBucket
    assert response.body == ERROR_PAGE  # the distribution's custom error response, not S3's XML
    assert [i.origin_id for i in invocations(local)] == ["mrap"]


# --- faults and refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "x_cache"),
    [("raise", 503, "LambdaExecutionError"), ("timeout", 503, "LambdaExecutionError"),
     ("exit", 503, "LambdaExecutionError"), ("garbage", 502, "LambdaValidationError")],
)
def test_a_function_fault_is_a_5xx_and_nothing_reaches_the_mrap(local: LocalStack, fault: str, status: int,
                                                                 x_cache: str) -> None:
    for invoker in local.invokers.values():
        invoker.fault = fault

    response = get(local, "/images/red.png")

    assert response.status == status
    assert response.header("x-cache") == f"{x_cache} from cloudfront"
    assert received(local) == []
    # The worker comes back (a cold start) once the fault is gone.
    local.invokers["eu-west-2"].fault = None
    assert get(local, "/images/red.png").status == 200


def test_a_response_the_function_generates_is_served_as_is(local: LocalStack) -> None:
    response = get(local, "/bad%zzescape.png")  # not a valid percent-escape: the function answers 400 itself

    assert response.status == 400
    assert response.header("x-cache") == "LambdaGeneratedResponse from cloudfront"
    assert received(local) == []


def test_a_tampered_signature_is_refused_with_s3s_xml(local: LocalStack) -> None:
    for invoker in local.invokers.values():
        invoker.fault = "corrupt-signature"

    response = get(local, "/images/red.png")

    assert response.status == 403
    assert response.body == ERROR_PAGE  # S3's XML echoes the canonical request: the custom error response hides it
    [request] = received(local)
    assert (request.verified, request.error_code) == (False, "SignatureDoesNotMatch")


def _replay(local: LocalStack, request: Received, extra: List[str], replace_header: str = "") -> CurlResponse:
    """Send a request the MRAP accepted straight to the MRAP stand-in again, changed as given."""
    assert local.mrap is not None
    host, port = local.mrap.addresses[request.client_region]
    options: List[str] = []
    for name, value in request.headers:
        if name.lower() == replace_header:
            value = value[:-1] + ("0" if value[-1] != "0" else "1")
        options += ["-H", f"{name}: {value}"]
    return curl(f"http://{host}:{port}{request.target}", *options, *extra)


def test_a_replayed_request_with_one_changed_header_is_refused(local: LocalStack) -> None:
    get(local, "/images/red.png")
    [accepted] = received(local)

    replayed = _replay(local, accepted, [])
    changed = _replay(local, accepted, [], replace_header="x-amz-cf-id")
    unsigned = _replay(local, accepted, ["-H", "x-amz-meta-extra: 1"])

    assert replayed.status == 200  # the unchanged request is still good: the refusals below are the changes
    assert changed.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in changed.body
    assert unsigned.status == 403 and b"<Code>AccessDenied</Code>" in unsigned.body
    assert b"<HeadersNotSigned>x-amz-meta-extra</HeadersNotSigned>" in unsigned.body


# --- CloudFront behaviour -------------------------------------------------------------------------------------------


def test_the_event_is_built_as_cloudfront_builds_it(local: LocalStack) -> None:
    get(local, "/images/red.png?utm=1", "-H", "Accept-Encoding: gzip, deflate, br", "-H", "Origin: https://example.com",
        "-H", "Cookie: session=1", "-H", "X-Forwarded-For: 198.51.100.7")

    request = invocations(local)[0].event["Records"][0]["cf"]
    headers = request["request"]["headers"]
    assert request["config"]["eventType"] == "origin-request"
    assert len(request["config"]["requestId"]) == 56
    assert all(name == name.lower() for name in headers)
    assert headers["host"] == [{"key": "Host", "value": MRAP_HOST}]
    assert headers["user-agent"] == [{"key": "User-Agent", "value": "Amazon CloudFront"}]
    assert headers["accept-encoding"] == [{"key": "Accept-Encoding", "value": "br,gzip"}]
    assert headers["x-forwarded-for"][0]["value"] == "198.51.100.7, 127.0.0.1"
    assert headers["origin"][0]["value"] == "https://example.com"
    assert "cookie" not in headers
    assert re.fullmatch(r"2\.0 [0-9a-f]{32}\.cloudfront\.net \(CloudFront\)", headers["via"][0]["value"])
    assert request["request"]["origin"]["custom"]["domainName"] == MRAP_HOST
    assert request["request"]["uri"] == "/images/red.png" and request["request"]["querystring"] == ""


def test_a_cached_response_does_not_reach_the_origin(local: LocalStack) -> None:
    assert local.cloudfront is not None
    local.cloudfront.cache_ttl = 300

    first = get(local, "/index.txt")
    second = get(local, "/index.txt")

    assert (first.header("x-cache"), second.header("x-cache")) == ("Miss from cloudfront", "Hit from cloudfront")
    assert second.body == first.body
    assert len(received(local)) == 1


def test_the_origin_cache_control_sets_how_long_a_response_is_cached(local: LocalStack) -> None:
    # GIVEN a default TTL of 300 s and three objects whose Cache-Control says otherwise
    assert local.cloudfront is not None and local.buckets is not None
    local.cloudfront.cache_ttl = 300
    local.buckets.put("eu-west-2", "short.txt", b"one second", cache_control="public, max-age=1")
    local.buckets.put("eu-west-2", "fresh.txt", b"always fresh", cache_control="no-cache")
    local.buckets.put("eu-west-2", "shared.txt", b"shared", cache_control="max-age=0, s-maxage=600")

    states = {key: [get(local, f"/{key}").header("x-cache") for _ in range(2)]
              for key in ("short.txt", "fresh.txt", "shared.txt")}

    # THEN max-age and s-maxage are honoured and no-cache is not cached (MinTTL is 0)
    hit, miss = "Hit from cloudfront", "Miss from cloudfront"
    assert states == {"short.txt": [miss, hit], "fresh.txt": [miss, miss], "shared.txt": [miss, hit]}
    # AND after max-age=1 has passed, the next request goes to the origin again
    time.sleep(1.1)
    assert get(local, "/short.txt").header("x-cache") == miss


@pytest.mark.parametrize("headers, ttl", [
    ([], 300),
    ([("Cache-Control", "max-age=60")], 60),
    ([("cache-control", "public, s-maxage=900, max-age=60")], 900),
    ([("Cache-Control", "max-age=99999999")], 86400),  # MaxTTL caps it
    ([("Cache-Control", "max-age=1")], 10),  # MinTTL raises it
    ([("Cache-Control", "no-store")], 10),  # with MinTTL above 0, even no-store is cached that long
    ([("Expires", "Sun, 22 Nov 2026 12:02:00 GMT")], 120),
    ([("Expires", "0")], 10),  # unreadable: expired, then MinTTL
    ([("Expires", "Sun, 22 Nov 2026 13:00:00 GMT"), ("Cache-Control", "max-age=30")], 30),
])
def test_cloudfronts_ttl_rule(headers, ttl) -> None:
    now = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.timezone.utc).timestamp()
    assert response_ttl(headers, default_ttl=300, min_ttl=10, max_ttl=86400, now=now) == ttl
    # With MinTTL 0, the directives that forbid caching mean 0
    if any(value == "no-store" for _, value in headers):
        assert response_ttl(headers, default_ttl=300, min_ttl=0, max_ttl=86400, now=now) == 0


def test_record_writes_every_event_as_a_fixture(local: LocalStack, tmp_path: Path) -> None:
    assert local.cloudfront is not None
    local.cloudfront.record_dir = tmp_path
    local.mrap.forced_status = 503  # type: ignore[union-attr]
    try:
        get(local, "/index.txt")
    finally:
        local.cloudfront.record_dir = None

    files = sorted(tmp_path.glob("*.json"))
    assert [f.name.split("-origin-request-")[1].split("-")[0] for f in files] == ["mrap", "failover"]
    assert json.loads(files[1].read_text())["Records"][0]["cf"]["request"]["origin"]["s3"]["customHeaders"] == {
        "origintypefailover": [{"key": "originTypeFailover", "value": "true"}]
    }


def test_a_method_the_behaviour_does_not_allow_is_403_without_invoking(local: LocalStack) -> None:
    response = get(local, "/index.txt", "-X", "POST", "-d", "x")

    assert response.status == 403
    assert invocations(local) == [] and received(local) == []


# --- pieces ---------------------------------------------------------------------------------------------------------


def test_settings_come_from_the_project_template() -> None:
    if not TEMPLATE_FILE.is_file():
        pytest.skip("no cloudformation.template in this checkout")
    template = json.loads(TEMPLATE_FILE.read_text())
    default_codes = template["Parameters"]["FailoverStatusCodes"]["Default"]

    settings = load_settings()

    assert settings.source == "cloudformation.template"
    assert settings.failover_codes == {int(code) for code in default_codes.split(",")}
    assert "versionId" in settings.forwarded_query
    assert settings.failover.custom_headers == (("originTypeFailover", "true"),)


def test_settings_from_a_small_inline_template() -> None:
    template = {
        "Parameters": {
            "Codes": {"Type": "CommaDelimitedList", "Default": "403, 404,503"},
            "Alias": {"Type": "String", "Default": "abcdefgh1234.mrap"},
        },
        "Resources": {
            "Distribution": {"Properties": {"DistributionConfig": {
                "Origins": [
                    {"Id": "mrap", "DomainName": {"Fn::Sub": "${Alias}.accesspoint.s3-global.amazonaws.com"},
                     "OriginPath": "/prefix", "CustomOriginConfig": {"OriginReadTimeout": 10}},
                    {"Id": "failover", "DomainName": {"Fn::GetAtt": ["Bucket", "RegionalDomainName"]},
                     "OriginCustomHeaders": [{"HeaderName": "originTypeFailover", "HeaderValue": "yes"}]},
                ],
                "OriginGroups": {"Items": [{"Id": "mrap-with-failover",
                                            "FailoverCriteria": {"StatusCodes": {"Items": {"Ref": "Codes"}}}}]},
                "DefaultCacheBehavior": {"AllowedMethods": ["GET", "HEAD", "OPTIONS"], "Compress": False},
            }}},
            "CachePolicy": {"Properties": {"CachePolicyConfig": {
                "DefaultTTL": 60,
                "ParametersInCacheKeyAndForwardedToOrigin": {
                    "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": ["Origin"]},
                    "QueryStringsConfig": {"QueryStringBehavior": "whitelist", "QueryStrings": ["versionId"]},
                }}}},
            "OriginRequestPolicy": {"Properties": {"OriginRequestPolicyConfig": {
                "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": ["Access-Control-Request-Method"]},
                "QueryStringsConfig": {"QueryStringBehavior": "none"},
            }}},
        },
    }

    settings = settings_from_template(template)

    assert settings.primary.domain_name == "abcdefgh1234.mrap.accesspoint.s3-global.amazonaws.com"
    assert (settings.primary.path, settings.primary.read_timeout) == ("/prefix", 10)
    assert settings.failover.domain_name == DEFAULT_SETTINGS.failover.domain_name  # GetAtt: unknown before deploy
    assert settings.failover.custom_headers == (("originTypeFailover", "yes"),)
    assert settings.failover_codes == {403, 404, 503}
    assert settings.forwarded_headers == ("origin", "access-control-request-method")
    assert settings.cache_key_headers == ("origin",)
    assert settings.forwarded_query == ("versionId",)
    assert settings.allowed_methods == ("GET", "HEAD", "OPTIONS")
    assert (settings.compress, settings.default_ttl) == (False, 60)
    assert any("GetAtt" in item for item in settings.unresolved)


def test_without_a_template_the_built_in_defaults_apply(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "absent.template") == DEFAULT_SETTINGS
    assert DEFAULT_SETTINGS.failover_codes == {500, 502, 503, 504}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("versionId=abc&utm=1", "versionId=abc"),
        ("utm=1&partNumber=2&versionid=x", "partNumber=2"),
        ("versionId=a%2Bb&versionId=c", "versionId=a%2Bb&versionId=c"),
        ("", ""),
    ],
)
def test_forwarded_query_keeps_only_allow_listed_pairs_verbatim(query: str, expected: str) -> None:
    assert forwarded_query(query, ("versionId", "partNumber")) == expected


@pytest.mark.parametrize(("offered", "normalised"), [("gzip, deflate, br", "br,gzip"), ("gzip", "gzip"),
                                                      ("deflate", "identity"), (None, "identity")])
def test_accept_encoding_is_normalised_when_compression_is_on(offered: str, normalised: str) -> None:
    headers = (("Accept-Encoding", offered),) if offered else ()
    event = origin_request_event(ViewerRequest("GET", "/", headers, "192.0.2.1"), DEFAULT_SETTINGS.primary,
                                 DEFAULT_SETTINGS, new_request_id(), "2.0 x.cloudfront.net (CloudFront)")

    assert event["Records"][0]["cf"]["request"]["headers"]["accept-encoding"][0]["value"] == normalised


def test_routing_prefers_the_nearest_region_that_is_up_and_dialled_in() -> None:
    routing = Routing(dials=(("eu-west-2", 100), ("us-east-2", 100)))

    assert routing.choose("eu-west-2") == "eu-west-2"
    assert routing.choose("us-east-1") == "us-east-2"
    assert replace(routing, down=frozenset({"eu-west-2"})).choose("eu-west-2") == "us-east-2"
    assert Routing(dials=(("eu-west-2", 0), ("us-east-2", 100))).choose("eu-west-2") == "us-east-2"
    assert replace(routing, down=frozenset({"eu-west-2", "us-east-2"})).choose("eu-west-2") is None


def test_a_zip_runs_isolated_from_site_packages(tmp_path: Path) -> None:
    # A stand-in package: its handler reports what it can import; botocore is in the venv but not in the zip.
    package = tmp_path / "function.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("edge/__init__.py", "")
        archive.writestr("edge/handler.py", (
            "import importlib.util, os\n"
            "def lambda_handler(event, context):\n"
            "    return {'status': '200', 'body': repr((importlib.util.find_spec('botocore') is None,\n"
            "            os.environ['AWS_ACCESS_KEY_ID'], context.function_name))}\n"
        ))
    invoker = FunctionInvoker(AwsCredentials("AKIDZIPTEST", "secret"), zip_path=package, timeout_s=10)
    try:
        invocation = invoker.invoke({"Records": []})
    finally:
        invoker.stop()

    assert invocation.outcome == "ok" and invocation.cold_start_ms is not None
    assert invocation.result["body"] == repr((True, "AKIDZIPTEST", "us-east-1.mrap-edge"))


# --- make demo ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ctrl_c_reaches", ["the-demo", "its-process-group"])
def test_the_demo_serves_both_regions_until_interrupted_and_stops_cleanly(ctrl_c_reaches: str) -> None:
    # A terminal's Ctrl-C signals the whole foreground process group: the demo and every process it started.
    demo = subprocess.Popen([sys.executable, "-m", "infra.local.demo", "--count", "1"], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert demo.stdout is not None
    lines: List[str] = []
    for line in demo.stdout:  # until it says it is up (or it exits)
        lines.append(line)
        if "serving until Ctrl-C" in line:
            break
    if ctrl_c_reaches == "the-demo":
        demo.send_signal(signal.SIGINT)
    else:
        os.killpg(demo.pid, signal.SIGINT)
    rest, _ = demo.communicate(timeout=60)
    output = "".join(lines) + rest

    assert demo.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert re.search(r"eu-west-2: signature verified [1-9]", output), output
    assert re.search(r"us-east-2: signature verified [1-9]", output), output
    assert "\nPASS\n" in output and output.rstrip().endswith("stopped")
