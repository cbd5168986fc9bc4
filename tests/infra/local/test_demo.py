"""`make demo ARGS=--signed-urls`: the signed curl commands it prints do what their comments say when run with the
real curl against the running demo, its own probes pass, and the throwaway key is gone when it stops."""
from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

from infra.local.invoker import REPO_ROOT


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
