"""`make soak`: load through the whole local path with faults injected mid-run; it passes only when every answer
is the object's bytes or a refusal an injected fault explains."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from infra.local.function.invoker import REPO_ROOT
from infra.local.soak import _schedule, classify

CRASH_PAGE = (b"<H1>503 ERROR</H1>\nThe Lambda function associated with the CloudFront distribution is invalid or "
              b"doesn't have the required permissions (crash).")


def _count(output: str, name: str) -> int:
    match = re.search(rf"^  {name} +(\d+) ", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


def test_a_short_soak_with_every_fault_loses_nothing_and_serves_nothing_wrong() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "infra.local.soak", "--requests", "300", "--concurrency", "8",
         "--faults", "region-down,mrap-503,crash", "--crash-every", "10"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )

    output = completed.stdout
    assert completed.returncode == 0, output + completed.stderr
    assert (_count(output, "lost"), _count(output, "wrong body")) == (0, 0)
    served, failed_over, refused = (_count(output, name) for name in ("served", "failed over", "refused"))
    assert served + failed_over + refused == 300
    assert failed_over > 0 and refused > 0  # the faults were on mid-run and had their effect
    for name in ("region-down", "mrap-503", "crash"):
        assert f"{name} on" in output and f"{name} off" in output
    assert re.search(r"throughput +\d+\.\d requests/s .*p50 \d+ ms, p99 \d+ ms", output)
    assert output.rstrip().endswith("PASS")


@pytest.mark.parametrize(("status", "body", "faults", "kind"), [
    (200, b"the object", (), "ok"),
    (200, b"the object, but not quite", (), "wrong"),
    (503, CRASH_PAGE, ("crash",), "refused"),
    (503, CRASH_PAGE, ("hang",), "lost"),  # a crash while only hangs were injected is not explained
    (503, CRASH_PAGE.replace(b"(crash)", b"(timeout)"), ("crash",), "lost"),  # nor is a timeout for a crash
    (503, b"<Error><Code>SlowDown</Code></Error>", ("mrap-503",), "lost"),  # failover should have served it
    (404, b"<Error><Code>NoSuchKey</Code></Error>", (), "lost"),
])
def test_each_answer_is_classified(status: int, body: bytes, faults: tuple, kind: str) -> None:
    assert classify(status, body, b"the object", faults) == kind


def test_each_fault_has_its_own_slice_of_the_run() -> None:
    schedule = _schedule(["region-down", "mrap-503", "crash"], 700)

    assert [(f.name, f.start, f.end) for f in schedule] == [
        ("region-down", 100, 200), ("mrap-503", 300, 400), ("crash", 500, 600)]


def test_an_unknown_fault_is_one_line_and_a_non_zero_exit() -> None:
    completed = subprocess.run([sys.executable, "-m", "infra.local.soak", "--faults", "meteor"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=60)

    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "make soak ARGS=...: error: argument --faults: unknown fault 'meteor' (known: region-down, mrap-503, "
        "crash, hang)"]
