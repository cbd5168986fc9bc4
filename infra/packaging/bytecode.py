"""Bytecode for the target runtime: `.pyc` files compiled by the target's own CPython, carried in the zip.

Lambda's code directory is read-only: without them every cold container compiles every module it imports, and
throws the result away. When no interpreter of the target version is found, the zip is built without them and the
summary says so (or, when told to, the build is refused).
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from .errors import PackagingError
from .interpreters import bare_env, python_search_places
from .target import python_version

__all__ = ["Bytecode", "compile_bytecode", "bytecode_for"]

COMPILE_CHILD = Path(__file__).with_name("compile_child.py")


@dataclass(frozen=True)
class Bytecode:
    # The interpreter that compiled the .pyc files (None: none was found, and the zip has no .pyc) and what it did.
    python: Optional[str]
    version: Optional[str]
    files: int
    detail: str


def compile_bytecode(root: Path, python: str) -> Tuple[str, int]:
    """Compile every .py under `root` with `python` into `__pycache__/<name>.<cache tag>.pyc` beside it.

    Returns (the interpreter's version, how many files). The files are compiled in sorted order by one fresh
    interpreter, so the same sources give the same bytes."""
    sources = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    done = subprocess.run([python, "-I", "-S", str(COMPILE_CHILD), str(root)], input="\n".join(sources),
                          capture_output=True, text=True, timeout=600, env=bare_env())
    if done.returncode != 0:
        last = ([line for line in done.stderr.splitlines() if line.strip()] or ["no output"])[-1]
        raise PackagingError(f"unable to compile the .pyc files: {last.strip()}")
    return done.stdout.strip(), len(sources)


def bytecode_for(root: Path, runtime: str, target_python: Optional[str]) -> Bytecode:
    """Compile the tree with the target's interpreter when there is one; else say what leaving them out costs."""
    if target_python:
        version, count = compile_bytecode(root, target_python)
        return Bytecode(target_python, version, count,
                        f"{count} .pyc files compiled by CPython {version} (unchecked-hash): {target_python}")
    major, minor = python_version(runtime)
    return Bytecode(None, None, 0, f"none: no CPython {major}.{minor} found ({python_search_places(runtime)}), so "
                                   "every cold start compiles the modules it imports; pass --check-python PATH, or "
                                   "--require-pyc to refuse")
