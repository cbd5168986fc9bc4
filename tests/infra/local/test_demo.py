"""`make demo`: bad input is one line and a non-zero exit; when requests fail, the function's own log says why; with
`--signed-urls` the signed curl commands it prints do what their comments say when run with the real curl against
the running demo, its own probes pass, and the throwaway key is gone when it stops."""
from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from infra.local.function.invoker import REPO_ROOT
from tests.infra.local.helpers import handler_zip


def _demo(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.local.demo", "--check", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _bad_input(tmp_path: Path) -> List[List[str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    return [
        ["--region", "xx-nowhere-1"],
        ["--failover-region", "eu-west-1"],
        ["--template", str(tmp_path / "absent.template")],
        ["--record", str(a_file / "events")],
        ["--zip", str(tmp_path / "absent.zip")],
    ]


@pytest.mark.parametrize("case", range(5), ids=["region", "failover-region", "template", "record", "zip"])
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path, case: int) -> None:
    args = _bad_input(tmp_path)[case]

    completed = _demo(*args, timeout=60)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output
    assert len(output.strip().splitlines()) == 1, output
    assert output.startswith("make demo ARGS=...: error: argument " + args[0]), output
    assert "starting" not in output  # nothing was started


def test_when_requests_fail_the_demo_prints_the_functions_own_log(tmp_path: Path) -> None:
    # A package whose configuration is broken: it logs why when it starts, then answers every request with 500.
    package = handler_zip(tmp_path, (
        "import json\n"
        "print(json.dumps({'level': 'ERROR', 'message': 'edge/mrap-edge.json: unknown key: colour'}))\n"
        "def lambda_handler(event, context):\n"
        "    print(json.dumps({'level': 'ERROR', 'message': 'not signed: bad configuration'}))\n"
        "    return {'status': '500', 'body': 'the edge function cannot sign requests'}\n"
    ))

    completed = _demo("--count", "1", "--zip", str(package))

    output = completed.stdout
    assert completed.returncode == 1 and output.rstrip().splitlines()[-3] == "FAIL", output
    assert re.search(r"the function.s log for the [0-9]+ requests that failed:", output), output
    assert 'LHR50-C1 environment 1: {"level": "ERROR", "message": "edge/mrap-edge.json: unknown key: colour"}' \
        in output
    assert 'CMH68-P1 environment 1: {"level": "ERROR", "message": "not signed: bad configuration"}' in output


def _signed_commands(lines: List[str]) -> List[Tuple[str, str]]:
    """(comment, command) pairs of the signed-URL section."""
    start = next(i for i, line in enumerate(lines) if line.startswith("signed URLs are required"))
    pairs = []
    for comment, command in zip(lines[start + 1:], lines[start + 2:]):
        if comment.strip().startswith("# ") and command.strip().startswith("curl "):
            pairs.append((comment.strip()[2:], command.strip()))
    return pairs


def test_the_signed_url_demo_prints_commands_that_work_and_removes_its_key() -> None:
    demo = subprocess.Popen([sys.executable, "-m", "infra.local.demo", "--signed-urls", "--count", "1"],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert demo.stdout is not None
    lines: List[str] = []
    for line in demo.stdout:
        lines.append(line.rstrip("\n"))
        if "serving until Ctrl-C" in line:
            break
    try:
        pairs = _signed_commands(lines)
        outcomes = []
        for comment, command in pairs:
            done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30)
            outcomes.append((comment, done.stdout))
    finally:
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    output = "\n".join(lines) + rest

    assert demo.returncode == 0, output
    assert "\nPASS\n" in output
    assert [comment.split(":")[0] for comment, _ in outcomes] == ["refused", "accepted", "accepted", "refused",
                                                                   "accepted"]
    for comment, answer in outcomes:
        if comment.startswith("accepted"):
            assert answer.startswith("HTTP/1.1 200"), (comment, answer)
        else:
            code = re.search(r"403 (\w+)", comment).group(1)  # type: ignore[union-attr]
            assert f"<Code>{code}</Code>" in answer, (comment, answer)
    key = Path(re.search(r"throwaway key (\S+)\)", output).group(1))  # type: ignore[union-attr]
    assert not key.exists() and not key.parent.exists()


def test_the_native_demo_passes_with_cloudfront_signing_and_no_function() -> None:
    completed = _demo("--native", "--count", "1")

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0 and output.rstrip().splitlines()[-3] == "PASS", output
    assert "CloudFront's SigV4A origin access control (native mode)" in output
    assert "no function: native mode" in output and "invocations, median" not in output  # none counted


def test_missing_keys_404_with_native_mode_is_one_line_and_a_non_zero_exit() -> None:
    completed = _demo("--native", "--missing-keys", "404", timeout=60)

    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert completed.stderr.count("\n") == 1 and "MissingKeys=404 needs NativeMode=false" in completed.stderr
    assert "starting" not in completed.stdout  # nothing was started
