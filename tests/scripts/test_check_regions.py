"""scripts/check-regions against small local HTTP servers, with the real curl."""
from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

import pytest

from infra.local.stack import LocalStack, StackOptions
from tests.infra.aws.status.helpers import SigningKey, signed_url_settings, signing_key

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check-regions"
PROBE = {"bucket": "mrap-edge-demo-eu-west-2", "region": "eu-west-2"}

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="check-regions needs curl")

Responder = Callable[[str], Tuple[int, Dict[str, str], bytes]]


def _probe_answer(path: str) -> Tuple[int, Dict[str, str], bytes]:
    if path != "/mrap-edge-probe.json":
        return 404, {}, b"<Error><Code>NoSuchKey</Code></Error>"
    # Pretty-printed on purpose: the script must not depend on the JSON being on one line.
    body = json.dumps(PROBE, indent=2).encode()
    return 200, {"x-cache": "Miss from cloudfront", "X-Amz-Cf-Pop": "LHR50-C1"}, body


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], str]]:
    servers = []

    def start(responder: Responder) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                status, headers, body = responder(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _run(*args: str, env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    base.update(env or {})
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=base, timeout=120,
                          cwd=cwd)


def test_table_names_the_region_bucket_cache_and_pop(serve: Callable[[Responder], str]) -> None:
    url = serve(_probe_answer)
    result = _run("--count", "3", "--region", "eu-west-2", url)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("eu-west-2 ")]
    assert len(rows) == 3
    for row in rows:
        assert "mrap-edge-demo-eu-west-2 (eu-west-2)" in row
        assert " 200 " in row and "Miss from cloudfront" in row and "LHR50-C1" in row
    assert "median / worst over 3 answered request(s) from eu-west-2" in result.stdout
    for name in ("connect", "first byte", "total"):
        lines = result.stdout.splitlines()
        assert any(line.strip().startswith(name) and line.rstrip().endswith(" ms") for line in lines)
    assert "PASS: 3 of 3" in result.stdout


def test_region_comes_from_aws_region_then_the_cli(serve: Callable[[Responder], str], tmp_path: Path) -> None:
    url = serve(_probe_answer)
    assert "us-east-2 " in _run("--count", "1", url, env={"AWS_REGION": "us-east-2"}).stdout
    fake_cli = tmp_path / "aws"
    fake_cli.write_text("#!/usr/bin/env bash\n[[ \"$1 $2 $3\" == 'configure get region' ]] && echo ap-south-1\n")
    fake_cli.chmod(0o755)
    result = _run("--count", "1", url, env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert "ap-south-1 " in result.stdout
    assert "eu-west-1 " in _run("--count", "1", "--region", "eu-west-1", url, env={"AWS_REGION": "us-east-2"}).stdout


def test_non_200_answers_fail_with_a_message(serve: Callable[[Responder], str]) -> None:
    url = serve(lambda path: (500, {"x-cache": "Error from cloudfront"}, b"boom"))
    result = _run("--count", "2", "--region", "eu-west-2", url)
    assert result.returncode == 1
    assert "FAIL: 2 of 2 request(s)" in result.stderr and "did not answer 200" in result.stderr
    assert "Error from cloudfront" in result.stdout


def test_missing_probe_fails_with_a_hint(serve: Callable[[Responder], str]) -> None:
    url = serve(lambda path: (200, {"x-cache": "Hit from cloudfront"}, b'{"something": "else"}'))
    result = _run("--count", "1", "--region", "eu-west-2", url)
    assert result.returncode == 1
    assert "no probe found" in result.stderr and "upload-probes" in result.stderr


def test_wrong_path_is_a_404_failure(serve: Callable[[Responder], str]) -> None:
    url = serve(_probe_answer)
    result = _run("--count", "1", "--path", "/other.json", url)
    assert result.returncode == 1 and " 404 " in result.stdout


def test_connection_refused_fails_with_curls_reason() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _run("--count", "2", "--region", "eu-west-2", f"http://127.0.0.1:{port}/mrap-edge-probe.json")
    assert result.returncode == 1
    assert "could not reach" in result.stderr and "curl exit 7" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert _run("--count", "zero", "example.cloudfront.net").returncode == 2
    assert _run().returncode == 2


def test_printed_one_liner_is_self_contained_and_runs(serve: Callable[[Responder], str], tmp_path: Path) -> None:
    url = serve(_probe_answer)
    printed = _run("--print", "--regions", "eu-west-2,us-east-2", "--count", "2", url)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("#")] == ["# eu-west-2", "# us-east-2"]
    commands = [line for line in lines if not line.startswith("#")]
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    # GIVEN a fresh home like CloudShell's WHEN the line is pasted THEN it runs the check there
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run(["bash", "-c", commands[1]], capture_output=True, text=True, timeout=120,
                            env={"PATH": os.environ["PATH"], "HOME": str(home), "AWS_REGION": "us-east-2"})
    assert result.returncode == 0, result.stderr
    assert "PASS: 2 of 2 request(s) from us-east-2" in result.stdout


def test_print_without_regions_or_stack_says_what_it_needs(serve: Callable[[Responder], str]) -> None:
    result = _run("--print", serve(_probe_answer), env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "--regions" in result.stderr


def test_version_is_the_products() -> None:
    from infra.version import VERSION

    assert _run("--version").stdout == f"check-regions {VERSION}\n"


# --- a behaviour that requires signed URLs: the local CloudFront stand-in checks them as CloudFront does ----------


@pytest.fixture(scope="module")
def signed() -> Iterator[Tuple[LocalStack, SigningKey]]:
    with tempfile.TemporaryDirectory() as directory:
        key = signing_key(Path(directory))
        running = LocalStack(StackOptions(settings=signed_url_settings(key), function_timeout_s=2.0)).start()
        try:
            yield running, key
        finally:
            running.stop()


PROBE_PATH = "/mrap-edge-probe.json"
# scripts/sign-url runs on the python3 first on PATH: the one with the project's requirements.
WITH_PYTHON = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def test_unsigned_requests_are_cloudfronts_refusal_and_say_how_to_sign(signed: Tuple[LocalStack, SigningKey]) -> None:
    local, _ = signed
    result = _run("--count", "2", "--region", "eu-west-2", local.url("eu-west-2", PROBE_PATH))
    assert result.returncode == 1 and " 403 " in result.stdout
    assert result.stderr == (f"FAIL: CloudFront refused 2 of 2 request(s) to {local.url('eu-west-2', PROBE_PATH)}: "
                             "MissingKey: the behaviour requires signed URLs and this request "
                             "carried none: pass --key-pair-id ID --private-key PEM, or --path to an object under a "
                             "behaviour without signing\n")


def test_with_a_key_each_request_is_signed_and_the_signature_never_printed(
        signed: Tuple[LocalStack, SigningKey]) -> None:
    local, key = signed
    result = _run("--count", "2", "--region", "us-east-2", "--key-pair-id", key.key_pair_id, "--private-key",
                  str(key.private_key), local.url("us-east-2", PROBE_PATH), env=WITH_PYTHON)
    assert result.returncode == 0, result.stderr
    assert "PASS: 2 of 2 request(s) from us-east-2 answered 200 with a probe" in result.stdout
    assert "Signature" not in result.stdout + result.stderr and "mrap-edge-demo-" in result.stdout


def test_another_private_key_is_cloudfronts_access_denied(signed: Tuple[LocalStack, SigningKey],
                                                          tmp_path: Path) -> None:
    local, key = signed
    other = signing_key(tmp_path)
    result = _run("--count", "1", "--key-pair-id", key.key_pair_id, "--private-key", str(other.private_key),
                  local.url("eu-west-2", PROBE_PATH), env=WITH_PYTHON)
    assert result.returncode == 1
    probe = local.url("eu-west-2", PROBE_PATH)
    assert result.stderr.startswith(f"FAIL: CloudFront refused 1 of 1 request(s) to {probe} (signed): AccessDenied: "
                                    "CloudFront refused the signed URL")


def test_the_printed_line_carries_a_signed_url_and_runs_where_there_is_no_key(
        signed: Tuple[LocalStack, SigningKey], tmp_path: Path) -> None:
    local, key = signed
    printed = _run("--print", "--regions", "us-east-2", "--count", "1", "--key-pair-id", key.key_pair_id,
                   "--private-key", str(key.private_key), local.url("us-east-2", PROBE_PATH), env=WITH_PYTHON)
    assert printed.returncode == 0, printed.stderr
    comments = [line for line in printed.stdout.splitlines() if line.startswith("#")]
    assert comments[0].startswith(f"# the URL in these lines is signed with key pair id {key.key_pair_id} and valid "
                                  "for 3600 s")
    command = [line for line in printed.stdout.splitlines() if not line.startswith("#")][0]
    assert "Key-Pair-Id=" in command and "PRIVATE KEY" not in command
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120,
                            env={"PATH": os.environ["PATH"], "HOME": str(home), "AWS_REGION": "us-east-2"})
    assert result.returncode == 0, result.stderr
    assert "PASS: 1 of 1 request(s) from us-east-2" in result.stdout
    copy = subprocess.run(["bash", str(home / "check-regions"), "--version"], capture_output=True, text=True)
    assert copy.stdout == _run("--version").stdout  # the copy knows its version without the checkout


def test_print_for_a_stack_that_requires_signed_urls_asks_for_the_key(tmp_path: Path) -> None:
    fake_cli = tmp_path / "aws"
    fake_cli.write_text("#!/usr/bin/env bash\n[[ \"$*\" == *SignedUrlKeyPairId1* ]] && echo K2JCJMDEHXQW5F\n"
                        "true\n")
    fake_cli.chmod(0o755)
    result = _run("--print", "--regions", "eu-west-2", "d111111abcdef8.cloudfront.net",
                  env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("check-regions: stack mrap-edge requires signed URLs (output SignedUrlKeyPairId1: "
                             "K2JCJMDEHXQW5F): pass --key-pair-id K2JCJMDEHXQW5F --private-key PEM, or --path to an "
                             "object under a behaviour without signing\n")


def test_s3s_own_access_denied_is_not_taken_for_a_signed_url_refusal(serve: Callable[[Responder], str]) -> None:
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied'
            b"</Message><RequestId>8J2DR5HQMXB3QS1K</RequestId><HostId>Qx9bW0cH3kQ=</HostId></Error>")
    result = _run("--count", "1", serve(lambda path: (403, {"x-cache": "Error from cloudfront"}, body)))
    assert result.returncode == 1
    assert "did not answer 200" in result.stderr and "CloudFront refused" not in result.stderr


def test_signing_options_go_together_and_a_bad_key_is_one_line(tmp_path: Path) -> None:
    assert _run("--key-pair-id", "K2JCJMDEHXQW5F", "example.cloudfront.net").returncode == 2
    (tmp_path / "not-a-key.pem").write_text("hello\n")
    result = _run("--key-pair-id", "K2JCJMDEHXQW5F", "--private-key", str(tmp_path / "not-a-key.pem"),
                  "example.cloudfront.net", env=WITH_PYTHON)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "check-regions: unable to sign the URL: not an unencrypted PEM private key\n"
