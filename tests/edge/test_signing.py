"""The awscrt adapter on its own: what it adds, how it fails, and the per-second signing configuration."""
from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import edge.signing as signing
from edge.errors import CredentialsError, SigningError
from edge.signing import EMPTY_SHA256, Credentials, Signer, credentials_from_environment
from tests.helpers import MRAP_HOST, ROLE
from infra.local.s3.verifier import Credentials as VerifierCredentials
from infra.local.s3.verifier import S3Verifier

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.datetime(2026, 11, 22, 10, 30, 15, 250000, tzinfo=datetime.timezone.utc)
HEADERS = [("host", MRAP_HOST), ("x-amz-cf-id", "x" * 56)]


def signer(token=ROLE.session_token, crt=None) -> Signer:
    return Signer(Credentials(ROLE.access_key_id, ROLE.secret_access_key, token), crt)


def added(s: Signer, amz_date: str, authorization: str) -> list:
    return [("X-Amz-Date", amz_date), *s.fixed_headers, ("Authorization", authorization)]


def verify(added, now=NOW, token=ROLE.session_token, target="/a.jpg", headers=HEADERS) -> None:
    S3Verifier(credentials=[VerifierCredentials(ROLE.access_key_id, ROLE.secret_access_key, token)],
               region="eu-west-2", expected_host=MRAP_HOST, max_skew=datetime.timedelta(minutes=15),
               clock=lambda: now).verify(method="GET", target=target, headers=list(headers) + added, body=b"")


@pytest.fixture(params=[signing._NativeCrt, signing._PublicCrt], ids=["native", "public"])
def crt(request):
    """Both ways of calling awscrt: its extension functions directly, and its public layer."""
    return request.param


def test_the_pinned_awscrt_is_called_directly_and_its_python_layer_not_imported() -> None:
    # The direct calls are what keep a signature close to the cost of its ECDSA operation and the import close to
    # awscrt's own; an awscrt upgrade that drops one would silently fall back to the slower layer, so say so here.
    import subprocess
    import sys
    assert signing._CRT is signing._NativeCrt
    script = ("import sys, edge.handler, json; "
              "edge.handler.lambda_handler(json.load(open('tests/fixtures/events/mrap-get.json')), None); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('awscrt', 'typing', 'dataclasses', 'pathlib', 'urllib', 'concurrent', 'inspect')))")
    env = {"AWS_ACCESS_KEY_ID": ROLE.access_key_id, "AWS_SECRET_ACCESS_KEY": ROLE.secret_access_key}
    done = subprocess.run([sys.executable, "-I", "-S", "-c", "import sys; sys.path[:0] = ['.'] + "
                           f"{[p for p in sys.path if 'site-packages' in p]!r}; " + script],
                          capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("token", [ROLE.session_token, None], ids=["session-token", "no-session-token"])
def test_sign_returns_exactly_the_headers_s3_needs(token, crt) -> None:
    s = signer(token, crt)
    amz_date, authorization = s.sign("GET", "/a.jpg", HEADERS, NOW.timestamp())
    assert amz_date == "20261122T103015Z"
    assert [name.lower() for name, _ in s.fixed_headers] == ["x-amz-region-set", "x-amz-content-sha256"] + (
        ["x-amz-security-token"] if token else [])
    fixed = dict((name.lower(), value) for name, value in s.fixed_headers)
    assert fixed["x-amz-region-set"] == "*" and fixed["x-amz-content-sha256"] == EMPTY_SHA256
    verify(added(s, amz_date, authorization), token=token)


def test_one_config_per_second_and_a_new_one_the_next_second() -> None:
    s = signer()
    first = s.sign("GET", "/a.jpg", HEADERS, NOW.timestamp())
    same_second = s.sign("GET", "/a.jpg", HEADERS, NOW.timestamp() + 0.7)
    next_second = s.sign("GET", "/a.jpg", HEADERS, NOW.timestamp() + 1)
    assert first[0] == same_second[0] == "20261122T103015Z"
    assert next_second[0] == "20261122T103016Z"
    verify(added(s, *same_second))
    verify(added(s, *next_second), now=NOW + datetime.timedelta(seconds=1))


def test_an_awscrt_failure_is_a_signing_error_and_the_next_request_signs(crt) -> None:
    s = signer(crt=crt)
    # X-Amz-Date is a header awscrt adds itself, so it refuses a request that already has one
    with pytest.raises(SigningError, match="AWS_AUTH_SIGNING_ILLEGAL_REQUEST_HEADER"):
        s.sign("GET", "/a.jpg", HEADERS + [("x-amz-date", "20261122T103015Z")], NOW.timestamp())
    verify(added(s, *s.sign("GET", "/a.jpg", HEADERS, NOW.timestamp())))


def test_a_signing_left_running_fails_closed_and_its_request_is_not_reused(monkeypatch) -> None:
    s = signer()
    held = s._crt
    monkeypatch.setattr(signing._awscrt, "sign_request_aws", lambda request, config, on_complete: None)
    with pytest.raises(SigningError, match="did not finish signing"):
        s.sign("GET", "/a.jpg", HEADERS, NOW.timestamp())
    assert s._crt is not held


def test_a_signature_over_a_header_that_would_not_be_returned_is_refused() -> None:
    # GIVEN credentials with a session token, which awscrt signs, but an adapter that would not return it
    s = signer()
    s.fixed_headers = tuple(header for header in s.fixed_headers if header[0] != "X-Amz-Security-Token")
    # THEN the count of signed headers does not match and nothing half-signed comes back
    with pytest.raises(SigningError):
        s.sign("GET", "/a.jpg", HEADERS, NOW.timestamp())


def test_credentials_come_from_the_reserved_variables() -> None:
    credentials = credentials_from_environment({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s",
                                                "AWS_SESSION_TOKEN": ""})
    assert credentials == Credentials("AKID", "s", None)
    shown = repr(Credentials("AKIDEXAMPLE", "s3cr3t-value", "session-token-value"))
    assert "s3cr3t-value" not in shown and "session-token-value" not in shown
    with pytest.raises(CredentialsError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"):
        credentials_from_environment({})


def test_a_header_given_twice_is_signed_once_with_both_values(crt) -> None:
    # awscrt names a header once in SignedHeaders however many values it has, and joins them as S3 does; the check
    # of what it signed must count names, not values (two values once made every such request a 502).
    s = signer(crt=crt)
    headers = HEADERS + [("content-type", "image/png"), ("content-type", "text/plain")]
    amz_date, authorization = s.sign("GET", "/a.jpg", headers, NOW.timestamp())
    assert "content-type;host;" in authorization
    verify(added(s, amz_date, authorization), headers=headers)
