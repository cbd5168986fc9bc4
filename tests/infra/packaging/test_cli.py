"""The packaging command (`scripts/package`): bad input refused in one line, the zip the API builds, a summary."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from infra.packaging import PackageResult
from infra.version import VERSION

from .helpers import ROOT


def cli(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/package", *args], cwd=ROOT, capture_output=True, text=True,
                          env=None if env is None else {**os.environ, **env})


@pytest.mark.parametrize("args, reason", [
    (["--runtime", "python3.8"], "unsupported runtime 'python3.8'"),
    (["--runtime", "python3.11"], "unsupported runtime 'python3.11': the stack takes python3.13, python3.12"),
    (["--arch", "arm64"], "unsupported architecture 'arm64'"),
    (["--method", "POST"], "allowed_methods: 'POST' is not one of GET, HEAD, OPTIONS"),
    (["--failover-header", "X-Amz-Failover"], "failover_header: CloudFront refuses origin custom headers"),
    (["--mrap-host-pattern", "*.mrap..example"], "mrap_host_patterns: not a host pattern"),
    (["--query-param", "X-Amz-Signature"], "query_allowlist: S3 reads 'X-Amz-Signature' as a signature parameter"),
    (["--config", "no-such-file.json"], "unable to read configuration no-such-file.json"),
], ids=["old runtime", "a runtime the template refuses", "arm64", "a method", "a failover header", "a host pattern",
        "a query parameter", "no file"])
def test_the_command_refuses_bad_input_in_one_line(args: List[str], reason: str) -> None:
    done = cli(*args)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("package: refused: ") and reason in done.stderr


def test_the_command_names_its_version_and_the_templates_runtimes() -> None:
    assert cli("--version").stdout == f"package {VERSION}\n"
    assert "python3.13, python3.12 (default python3.13)" in " ".join(cli("--help").stdout.split())


def test_the_command_refuses_to_build_without_pyc_files_when_told_to(tmp_path: Path) -> None:
    if sys.version_info[:2] == (3, 12):
        pytest.skip("the host itself is the target's version")
    done = cli("--runtime", "python3.12", "--require-pyc", "--out-dir", str(tmp_path / "dist"),
               env={"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path)})
    assert done.returncode == 1 and done.stdout == "" and done.stderr.count("\n") == 1
    assert done.stderr.startswith("package: refused: no CPython 3.12 found to compile the .pyc files")
    assert not (tmp_path / "dist").exists()


def test_the_command_builds_the_same_zip_as_the_api_and_prints_a_summary(
    package313: PackageResult, pip_cache: Path, tmp_path: Path
) -> None:
    package = package313  # the default runtime
    config = tmp_path / "edge.json"
    config.write_text(json.dumps({"failover_header": "X-Secondary-Origin", "log_level": "ERROR"}))
    done = cli("--config", str(config), "--query-param", "versionId", "--method", "get", "--method", "HEAD",
               "--method", "OPTIONS", "--out-dir", str(tmp_path / "dist"), "--pip-cache-dir", str(pip_cache))
    assert done.returncode == 0, done.stderr
    summary: Dict[str, str] = dict(line.split(":", 1) for line in done.stdout.splitlines()  # type: ignore[misc]
                                   if not line.startswith("wheel"))
    assert summary["runtime"].strip() == "python3.13 (x86_64)"
    assert summary["sha256"].strip() == package.sha256
    assert Path(summary["path"].strip()) == tmp_path / "dist" / package.path.name
    assert "cp313-abi3-manylinux2014_x86_64" in done.stdout
    assert "imports and signs in isolation" in done.stderr
