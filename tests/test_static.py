"""The function's code as shipped: typed, linted for the oldest runtime it supports, and free of the AWS SDK; the
rest of the project linted too."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True)


def test_edge_passes_mypy_strict() -> None:
    done = run(str(BIN / "mypy"), "--strict", "edge")
    assert done.returncode == 0, done.stdout + done.stderr


def test_edge_passes_ruff_for_python_3_9() -> None:
    done = run(str(BIN / "ruff"), "check", "--target-version", "py39", "edge")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rest_of_the_project_passes_ruff() -> None:
    done = run(str(BIN / "ruff"), "check", "tests", "infra", "scripts")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_hot_path_imports_no_aws_sdk() -> None:
    script = (
        "import sys, edge.handler; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 's3transfer')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = run(sys.executable, "-c", script)
    assert done.returncode == 0, done.stdout + done.stderr
