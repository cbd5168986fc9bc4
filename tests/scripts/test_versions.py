"""Every tool names the product's version: each executable under scripts/ (and `python -m scripts.bench`) answers
`--version` with `<prog> <VERSION>` on stdout and exits 0, without AWS credentials or a network."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from infra.version import VERSION

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (ROOT / "scripts").iterdir() if p.is_file() and os.access(p, os.X_OK))
# Nothing of the caller's AWS set-up: answering --version must not need it.
ENV = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}


def test_the_scripts_are_the_known_tools() -> None:
    # A new executable is picked up by the test below without editing it; this pins that the list is not empty.
    assert {"package", "deploy", "status", "check-regions"} <= {p.name for p in SCRIPTS}


def answer(command: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=ENV, timeout=120)


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_each_script_answers_version_with_the_products_version(script: Path) -> None:
    done = answer([str(script), "--version"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(rf"(scripts/)?{re.escape(script.name)} {re.escape(VERSION)}\n", done.stdout), done.stdout


def test_the_benchmark_answers_version_with_the_products_version() -> None:
    done = answer([sys.executable, "-m", "scripts.bench", "--version"])
    assert (done.returncode, done.stdout) == (0, f"bench {VERSION}\n")
