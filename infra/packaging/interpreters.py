"""Interpreters the checks run: a CPython of the target's version found on this machine, the host's own base
interpreter, and the bare environment both get (nothing of the builder's)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .errors import PackagingError
from .target import python_version

__all__ = ["find_python", "python_search_places", "base_python", "bare_env"]


def base_python() -> str:
    """The host's interpreter without its venv: a venv's interpreter would put the venv's site-packages back, its
    base interpreter has only the stdlib."""
    return getattr(sys, "_base_executable", None) or sys.executable


def bare_env() -> Dict[str, str]:
    """Nothing of the builder's environment reaches a checked interpreter (no PYTHON*, no SOURCE_DATE_EPOCH)."""
    return {"SYSTEMROOT": os.environ["SYSTEMROOT"]} if "SYSTEMROOT" in os.environ else {}  # Windows needs it


def _probe(python: str) -> Optional[Tuple[Tuple[int, int], str]]:
    """((major, minor), real executable) of a CPython on Linux x86_64 that loads abi3 wheels, or None."""
    # The real executable, because a launcher such as a pyenv shim may not run in the check's bare environment
    # (a shim of a version pyenv does not have selected exits 127). A free-threaded build ("t" in its ABI flags)
    # cannot load abi3 wheels, and another implementation neither loads CPython's wheels nor reads its .pyc files.
    code = ("import sys, platform; print(sys.version_info[0], sys.version_info[1], sys.platform, platform.machine(), "
            "sys.implementation.name, 't' in getattr(sys, 'abiflags', ''), sys.executable)")
    try:
        done = subprocess.run([python, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    fields = done.stdout.split(maxsplit=6)
    if done.returncode != 0 or len(fields) != 7 or fields[2:6] != ["linux", "x86_64", "cpython", "False"]:
        return None
    return (int(fields[0]), int(fields[1])), fields[6].strip()


def _pyenv_root() -> Path:
    """Where pyenv keeps its interpreters: what `pyenv root` says, else $PYENV_ROOT, else pyenv's default."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            done = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30)
            if done.returncode == 0 and done.stdout.strip():
                return Path(done.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    root = os.environ.get("PYENV_ROOT")
    return Path(root) if root else Path.home() / ".pyenv"


def _python_candidates(version: Tuple[int, int]) -> List[str]:
    """Where a CPython of `version` may be, most likely first: PATH, the host's own, pyenv's versions (newest first)."""
    name = f"python{version[0]}.{version[1]}"
    candidates = [found for found in (shutil.which(name),) if found]
    if sys.version_info[:2] == version:
        candidates.append(base_python())
    versions = _pyenv_root() / "versions"
    if versions.is_dir():
        # Only plain releases ("3.13.0"): not "3.13.0t" (free-threaded), "3.13-dev" or a virtualenv's name.
        release = re.compile(rf"^{version[0]}\.{version[1]}\.(\d+)$")
        found = [(int(m.group(1)), d) for d in versions.iterdir() for m in [release.match(d.name)] if m]
        candidates += [str(d / "bin" / name) for _, d in sorted(found, reverse=True)]
    return candidates


def python_search_places(runtime: str) -> str:
    """Where find_python looks, for a message that says why none was found."""
    major, minor = python_version(runtime)
    return f"looked for python{major}.{minor} on PATH and in {_pyenv_root() / 'versions'}"


def find_python(runtime: str, explicit: Optional[str] = None) -> Optional[str]:
    """The real executable of a CPython of the runtime's version on Linux x86_64, or None when there is none here.

    `explicit` (the --check-python option) must be one, or the build is refused; otherwise PATH is searched first,
    then the host's own interpreter, then pyenv's installed versions."""
    target = python_version(runtime)
    if explicit:
        probed = _probe(explicit)
        if not probed or probed[0] != target:
            raise PackagingError(f"{explicit} is not CPython {target[0]}.{target[1]} on Linux x86_64")
        return probed[1]
    for candidate in _python_candidates(target):
        probed = _probe(candidate)
        if probed and probed[0] == target:
            return probed[1]
    return None
