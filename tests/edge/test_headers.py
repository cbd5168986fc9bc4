"""Every header rule (edge/headers.py), judged by what S3 would do with the request CloudFront sends after the
function: viewer credentials dropped, what is signed, what is forwarded unsigned, what is added."""
from __future__ import annotations

import json

from edge.signing import EMPTY_SHA256
from tests.helpers import BASE_SIGNED, MRAP_HOST, ROLE, Edge, load_event, on_the_wire, request_of, verify_as_s3


def test_viewer_headers_are_forwarded_unsigned_and_read_only_ones_untouched(edge: Edge) -> None:
    event = load_event("mrap-viewer-conditional")
    returned = edge(event)
    result = verify_as_s3(event, returned)
    assert set(result.signed_headers) == BASE_SIGNED | {"x-amz-security-token"}
    wire = on_the_wire(event, returned)
    for name, value in [("Range", "bytes=0-1023"), ("If-None-Match", '"abc"'), ("If-Match", '"def"'),
                        ("Origin", "https://app.example.com"), ("Accept-Encoding", "br,gzip"),
                        ("Via", request_of(event)["headers"]["via"][0]["value"])]:
        assert wire.header(name) == [value]


def test_viewer_authorization_and_amz_headers_never_reach_s3(edge: Edge) -> None:
    event = load_event("mrap-viewer-injected")
    returned = edge(event)
    verify_as_s3(event, returned)
    wire = on_the_wire(event, returned)
    assert wire.header("authorization")[0].startswith("AWS4-ECDSA-P256-SHA256 ")
    assert wire.header("x-amz-content-sha256") == [EMPTY_SHA256]
    assert wire.header("x-amz-security-token") == [ROLE.session_token]
    assert not [name for name, _ in wire.headers if name.lower().startswith(("x-amz-meta", "x-amz-server-side"))]
    assert "viewer-token" not in json.dumps(returned)


def test_a_forwarded_viewer_host_is_replaced_by_the_origin_host(edge: Edge) -> None:
    event = load_event("mrap-viewer-host")
    returned = edge(event)
    assert on_the_wire(event, returned).header("host") == [MRAP_HOST]
    verify_as_s3(event, returned)


def test_content_type_is_signed_when_present(edge: Edge) -> None:
    event = load_event("mrap-content-type")
    result = verify_as_s3(event, edge(event))
    assert "content-type" in result.signed_headers


def test_origin_custom_headers_added_by_cloudfront_do_not_break_the_signature(edge: Edge) -> None:
    event = load_event("mrap-custom-header")
    returned = edge(event)
    assert on_the_wire(event, returned).header("x-origin-verify") == ["s3cr3t"]
    verify_as_s3(event, returned)


def test_x_amz_cf_id_is_signed_but_not_returned(edge: Edge) -> None:
    event = load_event("mrap-get")
    returned = edge(event)
    assert "x-amz-cf-id" not in returned["headers"]
    wire = on_the_wire(event, returned)
    assert wire.header("x-amz-cf-id") == [event["Records"][0]["cf"]["config"]["requestId"]]
    assert "x-amz-cf-id" in verify_as_s3(event, returned).signed_headers


def test_viewer_credentials_are_dropped_whatever_the_case_of_their_keys(edge: Edge) -> None:
    # CloudFront lower-cases header keys; an event that does not must still never carry a viewer credential through.
    event = load_event("mrap-get")
    request_of(event)["headers"].update({"X-Amz-Meta-Odd": [{"key": "X-Amz-Meta-Odd", "value": "1"}],
                                         "Authorization": [{"key": "Authorization", "value": "Basic x"}]})
    returned = edge(event)
    assert [name for name in returned["headers"] if name.lower().startswith("x-amz-meta")] == []
    assert [entry["value"] for entry in returned["headers"]["authorization"]][0].startswith("AWS4-ECDSA-P256-SHA256")
    assert "Authorization" not in returned["headers"]



def test_two_content_type_values_are_signed_as_s3_joins_them(edge: Edge) -> None:
    # awscrt names content-type once in SignedHeaders however many values it is given, so a count of the values
    # once turned this request into a 502; S3 joins the two header lines with ",", which is what is signed.
    event = load_event("mrap-content-type-twice")
    returned = edge(event)
    assert "authorization" in returned["headers"], returned
    result = verify_as_s3(event, returned)
    assert "content-type" in result.signed_headers
    assert "\ncontent-type:image/png,text/plain\n" in result.canonical_request
    assert on_the_wire(event, returned).header("content-type") == ["image/png", " text/plain"]


def test_a_viewer_header_an_origin_custom_header_replaces_is_dropped(edge: Edge) -> None:
    event = load_event("mrap-viewer-header-replaced")
    returned = edge(event)
    assert "x-origin-verify" not in returned["headers"]
    assert on_the_wire(event, returned).header("x-origin-verify") == ["s3cr3t"]
    verify_as_s3(event, returned)


def test_an_origin_custom_content_type_is_the_one_signed(edge: Edge) -> None:
    event = load_event("mrap-content-type")
    request_of(event)["origin"]["custom"]["customHeaders"] = {
        "content-type": [{"key": "Content-Type", "value": "image/webp"}]}
    returned = edge(event)
    assert "content-type" not in returned["headers"]
    assert "\ncontent-type:image/webp\n" in verify_as_s3(event, returned).canonical_request


def test_read_only_headers_are_never_dropped_even_when_a_custom_header_shares_the_name(edge: Edge) -> None:
    # CloudFront does not let a custom header take a read-only name; should an event say otherwise, removing the
    # header would be refused (502), so it stays.
    from edge.headers import READ_ONLY, forwarded_headers
    from edge.event import parse_origin_request
    event = load_event("mrap-viewer-conditional")
    request_of(event)["origin"]["custom"]["customHeaders"] = {
        "if-none-match": [{"key": "If-None-Match", "value": "x"}], "range": [{"key": "Range", "value": "x"}]}
    forwarded = forwarded_headers(parse_origin_request(event))
    assert "if-none-match" in forwarded and "if-none-match" in READ_ONLY
    assert "range" not in forwarded
