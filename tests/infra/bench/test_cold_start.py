"""The zip's cold start: each cumulative step runs under the target's CPython as Lambda runs it, the last one signs,
and the copy without bytecode has every module but no .pyc."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Tuple

import pytest

from infra.bench import cold_start
from infra.bench.contenders import ROOT, load_event
from infra.packaging import build_package, find_python, python_search_places, python_version


@pytest.fixture(scope="module")
def zip_under_target(tmp_path_factory: pytest.TempPathFactory) -> Tuple[str, Path]:
    python = find_python(cold_start.COLD_RUNTIME)
    if python is None:
        pytest.skip(f"no CPython for {cold_start.COLD_RUNTIME} on this machine "
                    f"({python_search_places(cold_start.COLD_RUNTIME)})")
    out = tmp_path_factory.mktemp("bench-zip")
    result = build_package(cold_start.COLD_RUNTIME, None, out / "dist", ROOT / "requirements.txt",
                           cache_dir=out / "pip-cache", require_bytecode=True)
    root = out / "zip"
    shutil.unpack_archive(result.path, root, "zip")
    return python, root


def test_each_cold_start_step_runs_under_the_target_python_and_the_last_one_signs(
    zip_under_target: Tuple[str, Path], tmp_path: Path
) -> None:
    python, root = zip_under_target
    event = load_event("mrap-get")
    steps = cold_start.cold_steps(python, root, event)
    assert [step.label.split(" (")[0].split(":")[0] for step in steps] == [
        "interpreter alone", "+ `import _awscrt`", "+ awscrt's Python layer",
        "+ the standard library modules edge/ loads", "+ edge/ itself", "+ the first signed request"]
    for before, after in zip(steps, steps[1:]):  # cumulative: each step does what the one before did
        assert after.body.startswith(before.body) or before.body == "pass"
    for step in steps:
        done = subprocess.run([python, "-I", "-S", "-B", "-c", cold_start.cold_program(root, event, step.body)],
                              capture_output=True, text=True, env=dict(cold_start.LAMBDA_ENV), cwd=root)
        assert done.returncode == 0, (step.label, done.stderr)
    # The last step signs, or the assertion inside it would fail; this one proves that assertion can fail.
    broken = cold_start.cold_program(root, {"Records": []}, steps[-1].body)
    done = subprocess.run([python, "-I", "-S", "-B", "-c", broken], capture_output=True, text=True,
                          env=dict(cold_start.LAMBDA_ENV), cwd=root)
    assert done.returncode != 0 and "AssertionError" in done.stderr

    bare = cold_start.without_bytecode(root, tmp_path / "bare")
    assert list(bare.rglob("__pycache__")) == [] and list(root.rglob("__pycache__")) != []
    assert sorted(p.relative_to(bare) for p in bare.rglob("*.py")) == sorted(
        p.relative_to(root) for p in root.rglob("*.py"))


def test_read_only_and_back(tmp_path: Path) -> None:
    (tmp_path / "tree" / "pkg").mkdir(parents=True)
    (tmp_path / "tree" / "pkg" / "a.py").write_text("a = 1\n")
    cold_start.read_only(tmp_path / "tree")
    assert all(not p.stat().st_mode & 0o222 for p in [tmp_path / "tree", *(tmp_path / "tree").rglob("*")])
    cold_start.read_only(tmp_path / "tree", writable=True)
    shutil.rmtree(tmp_path / "tree")


def test_without_the_target_python_the_cold_start_says_why_it_was_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sys.version_info[:2] == python_version(cold_start.COLD_RUNTIME):
        pytest.skip("the host itself is the target's version")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    measured = cold_start.measure_cold_start(None, None, runs=1)
    assert isinstance(measured, cold_start.NotMeasured)
    assert measured.reason.startswith("no CPython 3.13 found (looked for python3.13 on PATH and in ")
    assert measured.reason.endswith("); pass --python PATH")
