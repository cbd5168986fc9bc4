"""The handler's wiring, judged by what S3 would do with the request CloudFront sends after it (independent
verifier): methods, credentials, fail-closed errors, logs, the per-container runtime, and each signed part tampered."""
from __future__ import annotations

import copy
import datetime

import pytest

from tests.helpers import EVENTS, ROLE, Edge, load_event, on_the_wire, request_of, s3_for, verify_as_s3
from infra.local.s3.verifier import Credentials, S3Refusal

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

    monkeypatch.setattr(signing._awscrt, "sign_request_aws", failing)
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




def test_a_path_cloudfront_would_refuse_as_too_long_gets_a_414_with_the_request_id(edge: Edge) -> None:
    # CloudFront answers its own 502, with no reason, for an origin request of 8,192 characters or more; the
    # length that counts is the wire's: origin path + canonical path + "?" + canonical query.
    from edge.handler import MAX_TARGET_LENGTH
    event = load_event("mrap-origin-path")  # origin path "/assets"
    request_id = event["Records"][0]["cf"]["config"]["requestId"]
    fits = "/" + "a" * (MAX_TARGET_LENGTH - len("/assets") - 2)
    request_of(event)["uri"] = fits
    returned = edge(event)
    assert len(on_the_wire(event, returned).target) == MAX_TARGET_LENGTH - 1
    verify_as_s3(event, returned)
    # One more character, or a short viewer path that grows when encoded, is refused.
    for uri, query in [(fits + "a", ""), ("/" + "%20" * 2000 + " " * 730, ""), (fits[:-10], "versionId=" + "x")]:
        request_of(event)["uri"], request_of(event)["querystring"] = uri, query
        returned = edge(event)
        assert returned["status"] == "414", (uri[:20], query)
        assert returned["body"] == f"414 URI Too Long: unable to sign request: " \
            f"{len('/assets') + len(uri.replace(' ', '%20')) + (len(query) + 1 if query else 0)} characters " \
            f"of origin path, path and query, CloudFront's limit is fewer than 8192\nRequest ID: {request_id}\n"
        assert "authorization" not in returned["headers"]


def test_a_bad_packaged_configuration_does_not_grow_memory_request_after_request(monkeypatch) -> None:
    # The stored ConfigError was once raised again on every request: its traceback grew by a frame per request, and
    # with each frame the request it had handled (+167 MB over 50,000 requests; a 128 MB function died after ~17k).
    import gc
    import tracemalloc

    from edge.config import load_config
    from edge.errors import ConfigError
    try:
        load_config(EVENTS / "mrap-get.json")  # a JSON object, but not a configuration: a real ConfigError
    except ConfigError as error:
        broken = error
    import edge.handler as handler_module
    from edge.config import Config
    from edge.handler import Runtime, lambda_handler
    from edge.log import JsonLogger

    class Sink:  # counts the log lines and keeps none of them
        count = 0

        def write(self, text: str) -> None:
            self.count += 1

    sink = Sink()
    monkeypatch.setattr(handler_module, "RUNTIME", Runtime(Config(), broken, JsonLogger("WARNING", sink)))
    event = load_event("mrap-get")
    for _ in range(200):  # warm up
        lambda_handler(event, None)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20_000):
            returned = lambda_handler(event, None)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert returned["status"] == "500"
    assert grown < 64 * 1024, f"{grown} bytes more after 20,000 requests"
    assert sink.count == 20_200  # one line per request, each saying why
    assert broken.__traceback__ is None or _depth(broken.__traceback__) < 5


def _depth(traceback) -> int:
    depth = 0
    while traceback is not None:
        depth, traceback = depth + 1, traceback.tb_next
    return depth


def test_the_runtime_is_built_once_per_container_and_the_signer_at_the_first_signature(edge: Edge) -> None:
    import edge.handler as handler_module
    runtime = handler_module.RUNTIME
    assert runtime is edge.runtime and runtime.cold_start
    edge(load_event("failover-custom-origin"))  # passed through: no credentials needed yet
    assert runtime._signer is None and not runtime.cold_start
    edge(load_event("mrap-get"))
    signer = runtime._signer
    edge(load_event("mrap-get"))
    assert runtime._signer is signer is not None
