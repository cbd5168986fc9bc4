"""Instruction counts: callgrind counts the program, not less, and a failing program is one line saying so."""
from __future__ import annotations

from pathlib import Path

import pytest

from infra.bench.callgrind import callgrind_instructions, valgrind_found
from infra.packaging.interpreters import base_python


@pytest.mark.skipif(not valgrind_found(), reason="needs valgrind")
def test_callgrind_counts_the_program_and_reports_a_failure_in_one_line(tmp_path: Path) -> None:
    python = base_python()
    empty = callgrind_instructions([python, "-I", "-S", "-c", "pass"], {}, tmp_path)
    looped = callgrind_instructions([python, "-I", "-S", "-c", "for _ in range(200000): pass"], {}, tmp_path)
    assert 1_000_000 < empty < looped and looped - empty > 200_000 * 5
    with pytest.raises(RuntimeError, match=r"under callgrind exited 3: "):
        callgrind_instructions([python, "-I", "-S", "-c", "raise SystemExit(3)"], {}, tmp_path)
