"""The function's code as shipped: typed, linted for the oldest runtime it supports, and free of the AWS SDK; the
rest of the project linted too."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True)


# Typed strictly: the function, the independent verifier that judges what it signs, the AWS tooling and its command
# line, and the link signer apps install.
STRICTLY_TYPED = ("edge", "infra/local/s3/verifier", "infra/aws", "infra/cli", "signedlinks")


@pytest.mark.parametrize("package", STRICTLY_TYPED)
def test_passes_mypy_strict(package: str) -> None:
    done = run(str(BIN / "mypy"), "--strict", package)
    assert done.returncode == 0, done.stdout + done.stderr


def test_packaging_and_the_bench_pass_mypy_strict_child_programs_included() -> None:
    done = run(str(BIN / "mypy"), "--strict", "infra/packaging", "infra/bench", "infra/template_facts.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_edge_passes_ruff_for_python_3_9() -> None:
    done = run(str(BIN / "ruff"), "check", "--target-version", "py39", "edge")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rest_of_the_project_passes_ruff() -> None:
    done = run(str(BIN / "ruff"), "check", "tests", "infra", "scripts", "signedlinks", "examples")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_hot_path_imports_no_aws_sdk() -> None:
    script = (
        "import sys, edge.handler; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 's3transfer')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = run(sys.executable, "-c", script)
    assert done.returncode == 0, done.stdout + done.stderr


def _imported_modules(path: Path) -> set:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _product_files() -> list:
    files = [p for top in ("edge", "infra", "scripts", "signedlinks") for p in (ROOT / top).rglob("*.py")]
    # The scripts without a .py suffix are Python too (the shell ones are skipped: they do not parse).
    for script in (ROOT / "scripts").iterdir():
        if script.suffix == "" and script.read_text(encoding="utf-8").startswith("#!/usr/bin/env python"):
            files.append(script)
    return files


def test_no_product_code_imports_from_tests() -> None:
    offenders = sorted(
        str(path.relative_to(ROOT)) for path in _product_files()
        if any(name == "tests" or name.startswith("tests.") for name in _imported_modules(path))
    )
    assert offenders == []


def test_the_independent_verifier_shares_nothing_with_the_signer() -> None:
    # It plays S3: it must not reach S3's answer through the code it is checking.
    script = (
        "import sys, infra.local.s3.verifier; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('edge', 'awscrt', '_awscrt', 'botocore')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = run(sys.executable, "-c", script)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_signed_url_verifier_shares_nothing_with_the_link_signer() -> None:
    # It plays CloudFront: accepting the signer's links must not go through the signer's own code.
    script = (
        "import sys, infra.local.cloudfront.signed_requests; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('signedlinks', 'botocore')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = run(sys.executable, "-c", script)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_link_signer_can_be_vendored_alone() -> None:
    # An application copies signer.py or imports the package: nothing from the rest of the project.
    allowed = {"botocore", "cryptography"} | set(sys.stdlib_module_names)
    for path in (ROOT / "signedlinks").glob("*.py"):
        outside = sorted(name for name in _imported_modules(path) if name.split(".")[0] not in allowed)
        assert outside == [], path.name
    signer_imports = {name.split(".")[0] for name in _imported_modules(ROOT / "signedlinks" / "signer.py")}
    assert signer_imports - set(sys.stdlib_module_names) == {"botocore", "cryptography"}


