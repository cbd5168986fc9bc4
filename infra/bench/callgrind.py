"""Instruction counts (valgrind's callgrind): they do not move with the machine's load, so ratios of them hold from
one run to the next."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Sequence

from .contenders import FAKE_ENV, ROOT, load_event

__all__ = ["WARM_CONTENDERS", "valgrind_found", "callgrind_instructions", "warm_instructions"]

WARM_CONTENDERS = ("floor", "awscrt", "handler")


def valgrind_found() -> bool:
    return shutil.which("valgrind") is not None


def callgrind_instructions(command: Sequence[str], env: Dict[str, str], cwd: Path = ROOT) -> int:
    """Instructions the command executes from exec to exit, counted by callgrind (children not followed)."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=1800)
    if done.returncode != 0:
        last = ([line for line in done.stderr.splitlines() if line.strip() and "==" not in line[:2]]
                or done.stderr.splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(command[:3])} ... under callgrind exited {done.returncode}: {last}")
    refs = [line for line in done.stderr.splitlines() if "refs:" in line][-1]
    return int(refs.split()[-1].replace(",", ""))


def warm_instructions(count: int = 300) -> Dict[str, float]:
    """Instructions per call (callgrind) of the floor, awscrt alone and the handler with a plain key."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **FAKE_ENV)
    event = json.dumps(load_event("mrap-get"))

    def measure(name: str, calls: int) -> int:
        return callgrind_instructions([sys.executable, "-m", "infra.bench.warm_child", name, str(calls), event], env)

    return {name: (measure(name, count) - measure(name, 0)) / count for name in WARM_CONTENDERS}
