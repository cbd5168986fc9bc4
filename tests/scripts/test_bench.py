"""scripts/bench.py: its floors are fair, it drives only the function's public entry points, and its cold-start steps
run the deployment zip under the target's interpreter as Lambda would."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from edge.config import Config
from infra import packaging
from scripts import bench

ROOT = Path(__file__).resolve().parents[2]


def test_the_ecdsa_floor_builds_its_signature_algorithm_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    built: List[object] = []

    class CountingECDSA(ec.ECDSA):  # a subclass, because cryptography checks the algorithm's type
        def __init__(self, *args: object, **kwargs: object) -> None:
            built.append(args)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ec, "ECDSA", CountingECDSA)
    floor = bench.ecdsa_floor()
    signatures = [floor() for _ in range(5)]
    assert len(built) == 1
    assert len(set(signatures)) == 5  # each call is a real signature (ECDSA's nonce differs)


def test_the_bench_uses_only_public_names_of_the_function() -> None:
    # Another arrangement of edge/ inside (a runtime object instead of module globals, other helper names) must not
    # break the bench, so it may reach only what edge/ offers to callers: no underscore names, in code or in the
    # programs it hands to other interpreters.
    source = (ROOT / "scripts" / "bench.py").read_text(encoding="utf-8")
    private = re.findall(r"\b(?:edge\.\w+|handler|signing)\._\w+", source)
    imported = re.findall(r"from edge[\w.]* import ([^\n]+)", source)
    assert private == []
    assert [names for names in imported if re.search(r"(^|[ ,])_", names)] == []


def test_the_cold_start_report_divides_by_the_import_awscrt_floor() -> None:
    counts = [("interpreter", 34_000_000), ("floor", 454_000_000), ("awscrt", 500_000_000), ("ours", 520_000_000)]
    times = {"interpreter": [0.05], "floor": [0.2], "ours": [0.25], "ours_no_pyc": [0.3]}
    lines, ok = bench.cold_report("3.13.0", "mrap-edge-x.zip", counts, 650_000_000, times)
    text = "\n".join(lines)
    assert ok == {"cold_instructions_vs_floor": True}  # 520 / 454 = 1.145
    assert "ours / floor: 1.15× (our own share 15 % of the floor); without .pyc 1.43×" in text
    assert "the .pyc files save 130 M instructions, 29 % of the floor" in text
    assert "| ours | 520 M | +20.0 M | 1.15× |" in text
    _, ok = bench.cold_report("3.13.0", "mrap-edge-x.zip", counts[:-1] + [("ours", 530_000_000)], 650_000_000, times)
    assert ok == {"cold_instructions_vs_floor": False}


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
def test_callgrind_counts_the_program_and_reports_a_failure_in_one_line(tmp_path: Path) -> None:
    python = packaging._base_python()
    empty = bench.callgrind_instructions([python, "-I", "-S", "-c", "pass"], {}, tmp_path)
    looped = bench.callgrind_instructions([python, "-I", "-S", "-c", "for _ in range(200000): pass"], {}, tmp_path)
    assert 1_000_000 < empty < looped and looped - empty > 200_000 * 5
    with pytest.raises(RuntimeError, match=r"under callgrind exited 3: "):
        bench.callgrind_instructions([python, "-I", "-S", "-c", "raise SystemExit(3)"], {}, tmp_path)


@pytest.fixture(scope="module")
def zip_under_target(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    python = packaging.find_python(bench.COLD_RUNTIME)
    if python is None:
        pytest.skip(f"no CPython 3.13 on this machine ({packaging.python_search_places(bench.COLD_RUNTIME)})")
    out = tmp_path_factory.mktemp("bench-zip")
    result = packaging.build_package(bench.COLD_RUNTIME, Config(), out / "dist", ROOT / "requirements.txt",
                                     cache_dir=out / "pip-cache", require_bytecode=True)
    root = out / "zip"
    shutil.unpack_archive(result.path, root, "zip")
    return python, root


def test_each_cold_start_step_runs_under_the_target_python_and_the_last_one_signs(
    zip_under_target: tuple, tmp_path: Path
) -> None:
    python, root = zip_under_target
    event = bench._load("mrap-get")
    steps = bench.cold_steps(python, root, event)
    assert [step.label.split(" (")[0].split(":")[0] for step in steps] == [
        "interpreter alone", "+ `import _awscrt`", "+ awscrt's Python layer",
        "+ the standard library modules edge/ loads", "+ edge/ itself", "+ the first signed request"]
    for before, after in zip(steps, steps[1:]):  # cumulative: each step does what the one before did
        assert after.body.startswith(before.body) or before.body == "pass"
    for step in steps:
        done = subprocess.run([python, "-I", "-S", "-B", "-c", bench.cold_program(root, event, step.body)],
                              capture_output=True, text=True, env=dict(bench.LAMBDA_ENV), cwd=root)
        assert done.returncode == 0, (step.label, done.stderr)
    # The last step signs, or the assertion inside it would fail; this one proves that assertion can fail.
    broken = bench.cold_program(root, {"Records": []}, steps[-1].body)
    done = subprocess.run([python, "-I", "-S", "-B", "-c", broken], capture_output=True, text=True,
                          env=dict(bench.LAMBDA_ENV), cwd=root)
    assert done.returncode != 0 and "AssertionError" in done.stderr

    bare = bench.without_bytecode(root, tmp_path / "bare")
    assert list(bare.rglob("__pycache__")) == [] and list(root.rglob("__pycache__")) != []
    assert sorted(p.relative_to(bare) for p in bare.rglob("*.py")) == sorted(
        p.relative_to(root) for p in root.rglob("*.py"))
