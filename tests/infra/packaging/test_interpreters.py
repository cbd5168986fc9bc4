"""Finding the target's CPython: PATH first, then the host's own, then pyenv's releases; shims, free-threaded
builds and other versions passed over; an explicit one that is not the target's refused."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

import pytest

from infra.packaging.errors import PackagingError
from infra.packaging.interpreters import find_python

from .helpers import BASE_PYTHON


def fake_python(path: Path, version: str, abiflags: str = "") -> str:
    """An executable that answers packaging's probe as a CPython `version` on Linux x86_64 would."""
    major, minor = version.split(".")[:2]
    free_threaded = "True" if "t" in abiflags else "False"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {major} {minor} linux x86_64 cpython {free_threaded} {path}\n")
    path.chmod(0o755)
    return str(path)


def fake_pyenv(tmp_path: Path) -> Dict[str, str]:
    """A PATH whose python3.13 is a pyenv-style shim that refuses to run (its version is not selected), and a pyenv
    whose root holds a 3.13 release, a newer free-threaded 3.13 and a 3.12; returns the environment to set."""
    bin_dir, root = tmp_path / "bin", tmp_path / "pyenv-root"
    bin_dir.mkdir()
    (bin_dir / "python3.13").write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    (bin_dir / "pyenv").write_text(f"#!/bin/sh\n[ \"$1\" = root ] && echo {root}\n")
    for name in ("python3.13", "pyenv"):
        (bin_dir / name).chmod(0o755)
    fake_python(root / "versions" / "3.13.2" / "bin" / "python3.13", "3.13.2")
    fake_python(root / "versions" / "3.13.9t" / "bin" / "python3.13", "3.13.9", abiflags="t")
    fake_python(root / "versions" / "3.12.1" / "bin" / "python3.13", "3.12.1")  # a misnamed one is probed too
    return {"PATH": str(bin_dir), "PYENV_ROOT": str(tmp_path / "elsewhere")}


@pytest.fixture
def not_the_host_version() -> None:
    if sys.version_info[:2] == (3, 13):
        pytest.skip("the host is CPython 3.13, which the search finds first")


def test_the_target_python_is_found_under_pyenv_when_path_has_only_a_shim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, not_the_host_version: None
) -> None:
    for name, value in fake_pyenv(tmp_path).items():
        monkeypatch.setenv(name, value)
    assert find_python("python3.13") == str(tmp_path / "pyenv-root/versions/3.13.2/bin/python3.13")


def test_without_pyenv_on_path_pyenv_root_is_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, not_the_host_version: None
) -> None:
    fake_pyenv(tmp_path)
    (tmp_path / "bin" / "pyenv").unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv-root"))
    assert find_python("python3.13") == str(tmp_path / "pyenv-root/versions/3.13.2/bin/python3.13")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "nothing-here"))
    assert find_python("python3.13") is None


def test_python_on_path_comes_before_pyenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, not_the_host_version: None
) -> None:
    env = fake_pyenv(tmp_path)
    on_path = fake_python(tmp_path / "bin" / "python3.13", "3.13.1")
    monkeypatch.setenv("PATH", env["PATH"])
    assert find_python("python3.13") == on_path
    assert find_python("python3.13", on_path) == on_path
    with pytest.raises(PackagingError, match=r"3\.13\.9.* is not CPython 3\.13 on Linux x86_64$"):
        find_python("python3.13", str(tmp_path / "pyenv-root/versions/3.13.9t/bin/python3.13"))


def test_an_explicit_interpreter_of_another_version_is_refused() -> None:
    with pytest.raises(PackagingError, match=r" is not CPython 3\.13 on Linux x86_64$"):
        find_python("python3.13", BASE_PYTHON if sys.version_info[:2] != (3, 13) else "/bin/false")
