"""Shared test helpers: load event fixtures, run the handler with given credentials, and check what CloudFront
would put on the wire the way S3 would (with the independent verifier, never with awscrt)."""
from __future__ import annotations

import copy
import datetime
import io
import json
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

import edge.handler as handler_module
from edge.config import Config
from edge.errors import ConfigError
from edge.handler import Runtime
from edge.log import JsonLogger
from infra.local.cloudfront.rules import WireRequest, validate_returned_request, wire_request
from infra.local.s3.verifier import Credentials, S3Verifier, VerifiedRequest

EVENTS = Path(__file__).parent / "fixtures" / "events"
MRAP_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
# The headers every signature covers, before x-amz-security-token and content-type.
BASE_SIGNED = {"host", "x-amz-cf-id", "x-amz-content-sha256", "x-amz-date", "x-amz-region-set"}
ROLE = Credentials(
    access_key_id="ASIAQNZGKIQY56JQ7WML",
    secret_access_key="29NkV8TqyLDTbFyLvZ5Sa1Dn0bmhN3ggWbeeXCd4",
    session_token="IQoJb3JpZ2luX2VjEEXAMPLEc2Vzc2lvbi10b2tlbg==",
)


def load_event(name: str) -> Dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def request_of(event: Dict[str, Any]) -> Dict[str, Any]:
    return event["Records"][0]["cf"]["request"]


class Edge:
    """The handler as CloudFront runs it in a fresh container: the role's credentials in the environment, a new
    runtime (the given configuration, nothing remembered, no signer yet) and its logs captured."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, credentials: Credentials = ROLE, level: str = "WARNING",
                 config: Optional[Config] = None, config_error: Optional[ConfigError] = None):
        self.credentials = credentials
        self.logs = io.StringIO()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key)
        if credentials.session_token:
            monkeypatch.setenv("AWS_SESSION_TOKEN", credentials.session_token)
        else:
            monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        self.runtime = Runtime(config or Config(), config_error, JsonLogger(level, self.logs))
        monkeypatch.setattr(handler_module, "RUNTIME", self.runtime)

    def __call__(self, event: Dict[str, Any]) -> Dict[str, Any]:
        original = copy.deepcopy(event)
        result = handler_module.lambda_handler(event, None)
        assert event == original, "the handler must not mutate the event it was given"
        return result

    def log_lines(self) -> list:
        return [json.loads(line) for line in self.logs.getvalue().splitlines()]


def s3_for(credentials: Credentials = ROLE, region: str = "eu-west-2",
           now: Optional[datetime.datetime] = None) -> S3Verifier:
    return S3Verifier(
        credentials=[credentials],
        region=region,
        expected_host=MRAP_HOST,
        max_skew=datetime.timedelta(minutes=15),
        clock=(lambda: now) if now else (lambda: datetime.datetime.now(datetime.timezone.utc)),
    )


def on_the_wire(event: Dict[str, Any], returned: Dict[str, Any]) -> WireRequest:
    """CloudFront's checks on the returned request (they must pass), then the request it sends to the origin."""
    problems = validate_returned_request(request_of(event), returned)
    assert problems == [], problems
    return wire_request(event, returned)


def verify_as_s3(event: Dict[str, Any], returned: Dict[str, Any], verifier: Optional[S3Verifier] = None,
                 ) -> VerifiedRequest:
    wire = on_the_wire(event, returned)
    return (verifier or s3_for()).verify(method=wire.method, target=wire.target, headers=list(wire.headers), body=b"")
