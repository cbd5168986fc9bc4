"""What the packaging tests share: the baked configuration, pip for test wheels, and running code from a zip."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import pytest

from edge.config import Config
from infra.packaging import PackageResult, build_package, find_python, python_search_places

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "requirements.txt"
# Not the defaults, so that a zip carrying the default file (or none) cannot pass for this one.
BAKED = Config(failover_header="X-Secondary-Origin", query_allowlist=("versionId",),
               allowed_methods=("GET", "HEAD", "OPTIONS"), log_level="ERROR")
BASE_PYTHON = getattr(sys, "_base_executable", None) or sys.executable


def pip_download(dest: Path, cache: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13", "--dest", str(dest),
                    "--cache-dir", str(cache), *args], check=True, capture_output=True)


def extract(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(dest)
    return dest


def run_isolated(root: Path, code: str, stdin: str = "", env: Optional[Dict[str, str]] = None,
                 python: str = BASE_PYTHON, flags: Sequence[str] = ("-I", "-S")) -> Dict[str, Any]:
    """Run `code` in the base interpreter (or `python`) with -I -S and only `root` added to sys.path; it prints one
    JSON line."""
    prelude = "import sys, json; sys.path.insert(0, sys.argv[1]); "
    done = subprocess.run([python, *flags, "-c", prelude + code, str(root)], input=stdin,
                          capture_output=True, text=True, cwd=root, env=env or {})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def target_python(runtime: str) -> str:
    """The machine's CPython of the runtime's version as packaging finds it; skip only where there is none at all."""
    found = find_python(runtime)
    if found is None:
        # Looked for without the code under test, so that a finder that misses an installed one fails, not skips.
        name = f"python{runtime[6:]}"
        pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
        present = [p for p in sorted(pyenv.glob(f"{runtime[6:]}.*/bin/{name}")) if os.access(p, os.X_OK)]
        if present:
            pytest.fail(f"{present[0]} exists but packaging.find_python({runtime!r}) did not find it")
        pytest.skip(f"no CPython {runtime[6:]} on this machine ({python_search_places(runtime)})")
    return found


def build(runtime: str, pip_cache: Path, out: Path) -> PackageResult:
    """A build of the baked configuration for `runtime`, wheels from the session's pip cache."""
    return build_package(runtime, BAKED, out, REQUIREMENTS, cache_dir=pip_cache)
