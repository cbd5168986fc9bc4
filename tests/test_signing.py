"""The awscrt adapter on its own: what it adds, how it fails, and the per-second signing configuration."""
from __future__ import annotations

import datetime

import pytest

from edge.errors import CredentialsError, SigningError
from edge.signing import EMPTY_SHA256, Credentials, Signer, credentials_from_environment
from tests.conftest import MRAP_HOST, ROLE
from tests.s3verifier import Credentials as VerifierCredentials
from tests.s3verifier import S3Verifier

NOW = datetime.datetime(2026, 11, 22, 10, 30, 15, 250000, tzinfo=datetime.timezone.utc)
HEADERS = [("host", MRAP_HOST), ("x-amz-cf-id", "x" * 56)]


def signer(token=ROLE.session_token) -> Signer:
    return Signer(Credentials(ROLE.access_key_id, ROLE.secret_access_key, token))


def verify(added, now=NOW, token=ROLE.session_token, target="/a.jpg", headers=HEADERS) -> None:
    S3Verifier(credentials=[VerifierCredentials(ROLE.access_key_id, ROLE.secret_access_key, token)],
               region="eu-west-2", expected_host=MRAP_HOST, max_skew=datetime.timedelta(minutes=15),
               clock=lambda: now).verify(method="GET", target=target, headers=list(headers) + added, body=b"")


@pytest.mark.parametrize("token", [ROLE.session_token, None], ids=["session-token", "no-session-token"])
def test_sign_returns_exactly_the_headers_s3_needs(token) -> None:
    added = signer(token).sign("GET", "/a.jpg", HEADERS, NOW)
    names = [name.lower() for name, _ in added]
    assert names == ["x-amz-date", "x-amz-region-set", "x-amz-content-sha256"] + (
        ["x-amz-security-token"] if token else []) + ["authorization"]
    values = dict((name.lower(), value) for name, value in added)
    assert values["x-amz-date"] == "20261122T103015Z"
    assert values["x-amz-region-set"] == "*" and values["x-amz-content-sha256"] == EMPTY_SHA256
    verify(added, token=token)


def test_one_config_per_second_and_a_new_one_the_next_second() -> None:
    s = signer()
    first = dict(s.sign("GET", "/a.jpg", HEADERS, NOW))
    same_second = dict(s.sign("GET", "/a.jpg", HEADERS, NOW + datetime.timedelta(milliseconds=700)))
    next_second = dict(s.sign("GET", "/a.jpg", HEADERS, NOW + datetime.timedelta(seconds=1)))
    assert first["X-Amz-Date"] == same_second["X-Amz-Date"] == "20261122T103015Z"
    assert next_second["X-Amz-Date"] == "20261122T103016Z"
    verify(list(next_second.items()), now=NOW + datetime.timedelta(seconds=1))


def test_a_signature_over_a_header_that_would_not_be_returned_is_refused() -> None:
    # GIVEN credentials with a session token, which awscrt signs, but an adapter that would not return it
    s = signer()
    s._fixed_headers = [header for header in s._fixed_headers if header[0] != "X-Amz-Security-Token"]
    # THEN the count of signed headers does not match and nothing half-signed comes back
    with pytest.raises(SigningError):
        s.sign("GET", "/a.jpg", HEADERS, NOW)


def test_credentials_come_from_the_reserved_variables() -> None:
    credentials = credentials_from_environment({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s",
                                                "AWS_SESSION_TOKEN": ""})
    assert credentials == Credentials("AKID", "s", None)
    shown = repr(Credentials("AKIDEXAMPLE", "s3cr3t-value", "session-token-value"))
    assert "s3cr3t-value" not in shown and "session-token-value" not in shown
    with pytest.raises(CredentialsError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"):
        credentials_from_environment({})
