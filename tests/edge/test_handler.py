"""The handler, judged by what S3 would do with the request CloudFront sends after it (independent verifier)."""
from __future__ import annotations

import copy
import datetime
import json
from typing import Dict
from urllib.parse import unquote_to_bytes

import pytest

from edge.signing import EMPTY_SHA256
from tests.helpers import EVENTS, MRAP_HOST, ROLE, Edge, load_event, on_the_wire, request_of, s3_for, verify_as_s3
from infra.local.s3verifier import Credentials, S3Refusal

BASE_SIGNED = {"host", "x-amz-cf-id", "x-amz-content-sha256", "x-amz-date", "x-amz-region-set"}

# What S3 must see on the wire for each awkward key, written out by hand from S3's rules (not computed).
CANONICAL_URIS: Dict[str, str] = {
    "mrap-get": "/images/cat.jpg",
    "mrap-key-space": "/photos/summer%20holiday/beach%20day.jpg",
    "mrap-key-unicode": "/fotos/%C3%BCber/caf%C3%A9/%E5%86%99%E7%9C%9F.png",
    "mrap-key-plus": "/c%2B%2B/a%2Bb.png",
    "mrap-key-punctuation": "/odd/%281%29%3A%40%21%2A%27%2C%24~.jpg",
    "mrap-key-encoded-slash": "/a/b/c.jpg",
    "mrap-key-lowercase-escape": "/a/b%C3%A9/~user.jpg",
    "mrap-key-dot-segments": "/a/./b/../c.jpg",
    "mrap-key-double-slash": "//a//b.jpg",
    "mrap-key-over-encoded": "/ABC.jpg",
}


@pytest.mark.parametrize("name", sorted(CANONICAL_URIS))
def test_awkward_keys_are_signed_for_the_key_s3_will_read(edge: Edge, name: str) -> None:
    event = load_event(name)
    returned = edge(event)
    assert returned["uri"] == CANONICAL_URIS[name]
    result = verify_as_s3(event, returned)
    assert set(result.signed_headers) == BASE_SIGNED | {"x-amz-security-token"}
    # The key S3 reads is the one the viewer asked for, a raw "+" being a literal plus.
    viewer_key = unquote_to_bytes(request_of(event)["uri"].replace("+", "%2B"))
    assert unquote_to_bytes(returned["uri"]) == viewer_key


def test_origin_path_is_prepended_on_the_wire_and_signed(edge: Edge) -> None:
    event = load_event("mrap-origin-path")
    returned = edge(event)
    assert returned["uri"] == "/2026/cat.jpg"
    wire = on_the_wire(event, returned)
    assert wire.target == "/assets/2026/cat.jpg"
    verify_as_s3(event, returned)


def test_origin_path_not_in_canonical_form_fails_closed_on_every_request(edge: Edge) -> None:
    for _ in range(2):  # a refused origin is not remembered as decided: each request is refused and logged
        returned = edge(load_event("mrap-origin-path-not-canonical"))
        assert returned["status"] == "500"
        assert "authorization" not in returned.get("headers", {})
    assert [line["error"] for line in edge.log_lines()] == ["ConfigError", "ConfigError"]
    assert "origin path" in edge.log_lines()[0]["message"]


def test_an_origin_is_decided_once_and_a_changed_origin_again(monkeypatch, edge: Edge) -> None:
    import edge.failover as failover
    decided = []
    real = failover.origin_decision
    monkeypatch.setattr(failover, "origin_decision", lambda origin, config: decided.append(origin) or real(
        origin, config))
    event = load_event("mrap-get")
    for _ in range(3):
        verify_as_s3(event, edge(event))
    assert len(decided) == 1
    # The same host with the failover marker added is another origin, and is passed through
    marked = load_event("mrap-get")
    request_of(marked)["origin"]["custom"]["customHeaders"] = {
        "origintypefailover": [{"key": "originTypeFailover", "value": "1"}]}
    assert edge(marked) == request_of(marked)
    assert len(decided) == 2


@pytest.mark.parametrize("name", sorted(path.stem for path in EVENTS.glob("*.json")))
def test_the_fast_and_the_field_by_field_reading_agree(name: str) -> None:
    from edge.errors import InvalidEvent
    from edge.event import _read_field_by_field, parse_origin_request
    event = load_event(name)
    try:
        expected = _read_field_by_field(event)
    except InvalidEvent:
        with pytest.raises(InvalidEvent):
            parse_origin_request(event)
        return
    assert parse_origin_request(event) == expected


def test_allow_listed_query_parameters_are_kept_signed_and_the_rest_dropped(edge: Edge) -> None:
    event = load_event("mrap-query-allowlisted")
    returned = edge(event)
    assert returned["querystring"] == "partNumber=2&versionId=3HL4kqtJlcpXroDTDmJ%2Bnrn"
    assert on_the_wire(event, returned).target == "/images/cat.jpg?partNumber=2&versionId=3HL4kqtJlcpXroDTDmJ%2Bnrn"
    verify_as_s3(event, returned)


def test_response_overrides_never_reach_s3_by_default(edge: Edge) -> None:
    event = load_event("mrap-query-response-override")
    returned = edge(event)
    assert returned["querystring"] == "versionId=v1"
    verify_as_s3(event, returned)


@pytest.mark.parametrize("name", ["mrap-key-malformed-escape", "mrap-query-malformed-escape"])
def test_malformed_percent_escapes_get_a_400(edge: Edge, name: str) -> None:
    returned = edge(load_event(name))
    assert returned["status"] == "400"
    assert "malformed percent-escape" in returned["body"]
    assert returned["headers"]["cache-control"][0]["value"] == "no-store"
    assert [line["status"] for line in edge.log_lines()] == [400]


@pytest.mark.parametrize("field, value", [("uri", "/images/\ud800.jpg"), ("querystring", "versionId=\udfff")])
def test_text_that_is_not_unicode_gets_a_400(edge: Edge, field: str, value: str) -> None:
    # JSON can carry a lone surrogate ("\ud800"); it has no UTF-8 form, so there is no key to sign for.
    event = load_event("mrap-get")
    request_of(event)[field] = value
    returned = edge(event)
    assert returned["status"] == "400" and "not valid Unicode" in returned["body"]
    assert [line["status"] for line in edge.log_lines()] == [400]


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


def test_an_origin_custom_authorization_header_would_replace_the_signature_so_it_is_refused(edge: Edge) -> None:
    returned = edge(load_event("mrap-custom-authorization"))
    assert returned["status"] == "500"


def test_mrap_host_is_matched_case_insensitively(edge: Edge) -> None:
    event = load_event("mrap-upper-case-host")
    returned = edge(event)
    assert returned["headers"]["authorization"][0]["value"].startswith("AWS4-ECDSA-P256-SHA256")


def test_x_amz_cf_id_is_signed_but_not_returned(edge: Edge) -> None:
    event = load_event("mrap-get")
    returned = edge(event)
    assert "x-amz-cf-id" not in returned["headers"]
    wire = on_the_wire(event, returned)
    assert wire.header("x-amz-cf-id") == [event["Records"][0]["cf"]["config"]["requestId"]]
    assert "x-amz-cf-id" in verify_as_s3(event, returned).signed_headers


def test_head_is_signed_as_head(edge: Edge) -> None:
    event = load_event("mrap-head")
    result = verify_as_s3(event, edge(event))
    assert result.canonical_request.startswith("HEAD\n")


@pytest.mark.parametrize("name", ["mrap-post", "mrap-put", "mrap-delete"])
def test_other_methods_get_a_405_with_allow(edge: Edge, name: str) -> None:
    returned = edge(load_event(name))
    assert returned["status"] == "405"
    assert returned["headers"]["allow"] == [{"key": "Allow", "value": "GET, HEAD"}]
    assert "authorization" not in returned["headers"]


@pytest.mark.parametrize("token", [ROLE.session_token, None], ids=["session-token", "no-session-token"])
def test_session_token_is_signed_only_when_the_credentials_carry_one(monkeypatch, token) -> None:
    credentials = Credentials(access_key_id=ROLE.access_key_id, secret_access_key=ROLE.secret_access_key,
                              session_token=token)
    edge = Edge(monkeypatch, credentials)
    event = load_event("mrap-get")
    returned = edge(event)
    result = verify_as_s3(event, returned, s3_for(credentials))
    assert ("x-amz-security-token" in result.signed_headers) == bool(token)
    assert ("x-amz-security-token" in returned["headers"]) == bool(token)


@pytest.mark.parametrize("name, reason", [
    ("failover-s3-origin", "failover-origin"),
    ("failover-s3-origin-lower-case", "failover-origin"),
    ("failover-custom-origin", "failover-origin"),
    ("docs2020-origin-request-s3", "s3-origin"),
    ("docs-origin-request-custom", "other-host"),
    ("docs2020-origin-request-custom-path", "other-host"),
    ("other-domain-custom-origin", "other-host"),
    ("lookalike-domain", "other-host"),
])
def test_other_origins_are_returned_exactly_as_received(monkeypatch, name: str, reason: str) -> None:
    edge = Edge(monkeypatch, level="INFO")
    event = load_event(name)
    assert edge(event) == request_of(event)
    assert [line["decision"] for line in edge.log_lines()] == [reason]


def test_the_failover_header_name_is_configurable_and_matched_in_any_case(monkeypatch) -> None:
    import dataclasses
    import edge.handler as handler_module
    monkeypatch.setattr(handler_module, "CONFIG", dataclasses.replace(handler_module.CONFIG,
                                                                      failover_header="X-Failover-Origin"))
    edge = Edge(monkeypatch)
    event = load_event("failover-s3-origin")
    origin = request_of(event)["origin"]["s3"]
    origin["customHeaders"] = {"x-failover-origin": [{"key": "x-failover-origin", "value": "1"}]}
    assert edge(event) == request_of(event)
    # The default marker now means nothing: an MRAP origin carrying it is signed.
    mrap = load_event("failover-custom-origin")
    assert "authorization" in edge(mrap)["headers"]


@pytest.mark.parametrize("name", ["malformed-viewer-request", "malformed-no-records", "malformed-two-origins",
                                  "malformed-no-uri"])
def test_malformed_events_get_a_generated_500_and_one_log_line(edge: Edge, name: str) -> None:
    returned = edge(load_event(name))
    assert returned["status"] == "500"
    assert returned["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "no-store"}]
    (line,) = edge.log_lines()
    assert line["level"] == "ERROR" and line["error"] == "InvalidEvent"


def test_missing_credentials_fail_closed(monkeypatch, edge: Edge) -> None:
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    returned = edge(load_event("mrap-get"))
    assert returned["status"] == "500" and "authorization" not in returned["headers"]
    (line,) = edge.log_lines()
    assert line["error"] == "CredentialsError" and "AWS_SECRET_ACCESS_KEY" in line["message"]


def test_a_signing_failure_fails_closed_with_a_502(monkeypatch, edge: Edge) -> None:
    import edge.signing as signing

    def failing(request, config, on_complete):  # awscrt reporting a failure through its callback
        on_complete(0x1802)  # AWS_AUTH_SIGNING_NO_CREDENTIALS

    monkeypatch.setattr(signing, "_native_sign", failing)
    returned = edge(load_event("mrap-get"))
    assert returned["status"] == "502"
    assert "AWS_AUTH" not in returned["body"]  # the viewer gets no internals; the log has them
    (line,) = edge.log_lines()
    assert line["error"] == "SigningError" and "AWS_AUTH_SIGNING_NO_CREDENTIALS" in line["message"]


def test_an_unexpected_error_still_becomes_a_generated_500(monkeypatch, edge: Edge) -> None:
    import edge.handler as handler_module

    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(handler_module, "canonical_uri", broken)
    returned = edge(load_event("mrap-get"))
    assert returned["status"] == "500"
    assert [line["error"] for line in edge.log_lines()] == ["Unexpected"]


def test_default_level_logs_nothing_for_a_signed_request(edge: Edge) -> None:
    edge(load_event("mrap-get"))
    assert edge.log_lines() == []


def test_logs_never_hold_secrets(monkeypatch) -> None:
    edge = Edge(monkeypatch, level="DEBUG")
    for name in ["mrap-viewer-injected", "mrap-post", "malformed-two-origins", "mrap-get"]:
        edge(load_event(name))
    text = edge.logs.getvalue()
    assert ROLE.secret_access_key not in text and ROLE.session_token not in text
    assert "viewer-token" not in text and "Signature=" not in text
    debug = [line for line in edge.log_lines() if line["level"] == "DEBUG"]
    assert debug and all("event" in line for line in debug)
    recorded = debug[0]["event"]["Records"][0]["cf"]["request"]
    assert recorded["headers"]["authorization"][0]["value"] == "[REDACTED]"
    assert recorded["headers"]["x-amz-date"][0]["value"] == "20200101T000000Z"


@pytest.mark.parametrize("part", ["method", "path", "query", "host", "x-amz-cf-id", "x-amz-date",
                                  "x-amz-region-set", "x-amz-security-token", "x-amz-content-sha256",
                                  "signature"])
def test_tampering_with_any_signed_part_is_refused(edge: Edge, part: str) -> None:
    event = load_event("mrap-query-allowlisted")
    returned = edge(event)
    wire = on_the_wire(event, returned)
    method, target, headers = wire.method, wire.target, list(wire.headers)

    def replace(name: str, change) -> list:
        return [(k, change(v) if k.lower() == name else v) for k, v in headers]

    if part == "method":
        method = "HEAD"
    elif part == "path":
        target = target.replace("cat", "dog")
    elif part == "query":
        target = target.replace("partNumber=2", "partNumber=3")
    elif part == "signature":
        headers = replace("authorization", lambda v: v[:-2] + ("00" if not v.endswith("00") else "11"))
    elif part == "x-amz-date":
        headers = replace(part, lambda v: v[:-1] + ("1" if v[-1] != "1" else "2"))
    elif part == "x-amz-region-set":
        headers = replace(part, lambda v: "eu-west-2")
    elif part == "host":
        headers = replace(part, lambda v: v.upper())
    else:
        headers = replace(part, lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"))
    with pytest.raises(S3Refusal) as refused:
        s3_for().verify(method=method, target=target, headers=headers, body=b"")
    assert refused.value.status in (400, 403)


def test_an_unsigned_amz_header_added_after_signing_is_refused(edge: Edge) -> None:
    event = load_event("mrap-get")
    wire = on_the_wire(event, edge(event))
    with pytest.raises(S3Refusal) as refused:
        s3_for().verify(method=wire.method, target=wire.target,
                        headers=list(wire.headers) + [("x-amz-meta-late", "1")], body=b"")
    assert refused.value.code == "AccessDenied"


def test_a_signature_is_good_for_every_region_of_the_mrap(edge: Edge) -> None:
    event = load_event("mrap-get")
    returned = edge(event)
    for region in ("eu-west-2", "us-east-2", "ap-southeast-2"):
        assert verify_as_s3(event, returned, s3_for(region=region)).region_set == ("*",)


def test_a_signature_older_than_fifteen_minutes_is_refused(edge: Edge) -> None:
    event = load_event("mrap-get")
    returned = edge(event)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=16)
    with pytest.raises(S3Refusal) as refused:
        verify_as_s3(event, returned, s3_for(now=later))
    assert refused.value.code == "RequestTimeTooSkewed"


def test_signing_does_not_depend_on_request_order(edge: Edge) -> None:
    # The per-second signing config is shared between requests; each signature must still be its own.
    first_event, second_event = load_event("mrap-key-space"), load_event("mrap-origin-path")
    first, second = edge(first_event), edge(copy.deepcopy(second_event))
    verify_as_s3(first_event, first)
    verify_as_s3(second_event, second)


def test_viewer_credentials_are_dropped_whatever_the_case_of_their_keys(edge: Edge) -> None:
    # CloudFront lower-cases header keys; an event that does not must still never carry a viewer credential through.
    event = load_event("mrap-get")
    request_of(event)["headers"].update({"X-Amz-Meta-Odd": [{"key": "X-Amz-Meta-Odd", "value": "1"}],
                                         "Authorization": [{"key": "Authorization", "value": "Basic x"}]})
    returned = edge(event)
    assert [name for name in returned["headers"] if name.lower().startswith("x-amz-meta")] == []
    assert [entry["value"] for entry in returned["headers"]["authorization"]][0].startswith("AWS4-ECDSA-P256-SHA256")
    assert "Authorization" not in returned["headers"]
