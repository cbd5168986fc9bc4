"""Bytecode: one .pyc per module, compiled by the target's CPython, loaded without compiling on a read-only copy
as Lambda runs it; without that interpreter the zip has none and says so, or is refused."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict

import pytest

from infra.packaging import PackageResult, build_package, summary
from infra.packaging.bytecode import compile_bytecode
from infra.packaging.errors import PackagingError
from infra.packaging.smoke import smoke_event
from tests.helpers import ROLE, s3_for, verify_as_s3

from .helpers import BAKED, BASE_PYTHON, REQUIREMENTS, extract, run_isolated, target_python


def test_the_zip_has_one_pyc_of_the_target_beside_each_module_and_none_of_the_builders(
    package: PackageResult,
) -> None:
    names = zipfile.ZipFile(package.path).namelist()
    tag = "cpython-" + package.runtime.replace("python", "").replace(".", "")
    pycs = sorted(n for n in names if n.endswith(".pyc"))
    sources = sorted(n for n in names if n.endswith(".py"))
    expected = [f"{os.path.dirname(n)}/__pycache__/{os.path.basename(n)[:-3]}.{tag}.pyc" for n in sources]
    assert pycs == (sorted(expected) if package.bytecode.files else [])
    assert package.bytecode.files == (len(sources) if package.bytecode.python else 0)


# Under the target's interpreter: for each .py of the zip, what its .pyc's header says about it.
PYC_HEADERS = """
import importlib.util, os
root = sys.argv[1]
found = {}
for folder, _, files in os.walk(root):
    for name in files:
        if name.endswith(".py"):
            source = os.path.join(folder, name)
            cached = importlib.util.cache_from_source(source)
            if not os.path.exists(cached):
                found[os.path.relpath(source, root)] = None
                continue
            with open(cached, "rb") as file:
                head = file.read(16)
            with open(source, "rb") as file:
                source_hash = importlib.util.source_hash(file.read())
            found[os.path.relpath(source, root)] = [head[:4] == importlib.util.MAGIC_NUMBER,
                                                    int.from_bytes(head[4:8], "little"), head[8:16] == source_hash]
print(json.dumps(found))
"""


def test_every_module_has_a_pyc_of_the_target_python_that_matches_its_source(
    package: PackageResult, tmp_path: Path
) -> None:
    runtime = package.runtime
    python = target_python(runtime)
    root = extract(package.path, tmp_path / "zip")
    headers = run_isolated(root, PYC_HEADERS, python=python)
    assert any(name.startswith("edge/") for name in headers) and any(name.startswith("awscrt/") for name in headers)
    # the target's magic number; flags 0b01: hash-based, source not checked; the SipHash of the source shipped beside
    assert {name: value for name, value in headers.items() if value != [True, 0b01, True]} == {}
    assert package.bytecode.version is not None and package.bytecode.version.startswith(runtime[6:] + ".")


# Lambda's view of the zip: the target's interpreter as `python -I -S -B` over a read-only copy. Every .py is
# replaced by a module that fails when run, so the function can only import and sign if each module comes from its
# .pyc: a missing .pyc, another Python's, or one that the import system would check against its source (timestamp
# or checked-hash) makes it compile the replaced source and fail.
SIGN_FROM_PYC_ONLY = """
import edge.handler
print(json.dumps({"returned": edge.handler.lambda_handler(json.loads(sys.stdin.read()), None),
                  "dont_write_bytecode": sys.flags.dont_write_bytecode, "isolated": sys.flags.isolated}))
"""


def poison_sources(root: Path) -> None:
    for source in root.rglob("*.py"):
        source.write_text(f"raise SystemExit('compiled from source: {source.relative_to(root)}')\n")


def read_only(root: Path) -> Dict[str, float]:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


def test_the_python313_zip_imports_from_its_pyc_files_alone_on_a_read_only_copy(
    package313: PackageResult, tmp_path: Path
) -> None:
    python = target_python("python3.13")
    root = extract(package313.path, tmp_path / "zip")
    poison_sources(root)
    before = read_only(root)
    event = smoke_event(BAKED)
    env = {"AWS_ACCESS_KEY_ID": ROLE.access_key_id, "AWS_SECRET_ACCESS_KEY": ROLE.secret_access_key,
           "AWS_SESSION_TOKEN": ROLE.session_token or ""}
    ran = run_isolated(root, SIGN_FROM_PYC_ONLY, json.dumps(event), env, python=python, flags=("-I", "-S", "-B"))
    assert ran["dont_write_bytecode"] == 1 and ran["isolated"] == 1
    assert verify_as_s3(event, ran["returned"], s3_for(ROLE)) is not None
    assert {str(p): p.stat().st_mtime for p in root.rglob("*")} == before  # nothing written

    # The control: the same tree without edge's .pyc files must fail, or this test could not see a compile.
    for path in [root / "edge", root / "edge" / "__pycache__"]:
        path.chmod(0o755)
    shutil.rmtree(root / "edge" / "__pycache__")
    done = subprocess.run([python, "-I", "-S", "-B", "-c", f"import sys; sys.path.insert(0, {str(root)!r}); "
                           "import edge.handler"], capture_output=True, text=True, cwd=root, env={})
    assert done.returncode != 0 and "compiled from source: edge/" in done.stderr


def test_a_module_that_does_not_compile_under_the_target_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("x = 1\n")
    (tmp_path / "bad.py").write_text("def broken(:\n")
    with pytest.raises(PackagingError, match=r"^unable to compile the \.pyc files: bad\.py: does not compile under "
                                             r"Python \d+\.\d+\.\d+: "):
        compile_bytecode(tmp_path, BASE_PYTHON)
    (tmp_path / "bad.py").unlink()
    version, count = compile_bytecode(tmp_path, BASE_PYTHON)
    assert version == sys.version.split()[0] and count == 1
    assert [p.name for p in (tmp_path / "__pycache__").iterdir()] == [f"good.{sys.implementation.cache_tag}.pyc"]


def test_without_the_target_python_the_zip_has_no_pyc_and_says_so_or_is_refused(
    pip_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sys.version_info[:2] == (3, 12):
        pytest.skip("the host itself is the target's version")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "empty"))
    with pytest.raises(PackagingError, match=r"^no CPython 3\.12 found to compile the \.pyc files \(looked for "
                                             r"python3\.12 on PATH and in .*empty/versions\); pass --check-python"):
        build_package("python3.12", BAKED, tmp_path / "refused", REQUIREMENTS, cache_dir=pip_cache,
                      require_bytecode=True)
    assert not (tmp_path / "refused").exists()
    result = build_package("python3.12", BAKED, tmp_path / "dist", REQUIREMENTS, cache_dir=pip_cache)
    assert [n for n in zipfile.ZipFile(result.path).namelist() if n.endswith(".pyc") or "__pycache__" in n] == []
    assert (result.bytecode.python, result.bytecode.files) == (None, 0)
    assert "bytecode: none: no CPython 3.12 found (looked for python3.12 on PATH and in " in summary(result)
    assert "every cold start compiles" in summary(result)
