"""The packaging tests' builds: made once per session from real manylinux wheels (pip's cache lives in a session
dir, so PyPI is asked once)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from infra.packaging import PackageResult

from .helpers import build, pip_download


@pytest.fixture(scope="session")
def pip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pip-cache")


@pytest.fixture(scope="session")
def package312(pip_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> PackageResult:
    return build("python3.12", pip_cache, tmp_path_factory.mktemp("dist-python3.12"))


@pytest.fixture(scope="session")
def package313(pip_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> PackageResult:
    return build("python3.13", pip_cache, tmp_path_factory.mktemp("dist-python3.13"))


@pytest.fixture(params=["python3.12", "python3.13"])
def package(request: pytest.FixtureRequest) -> PackageResult:
    """Each of the two builds, made once per session."""
    result: PackageResult = request.getfixturevalue(f"package{request.param.replace('python3.', '3')}")
    return result


@pytest.fixture(scope="session")
def wrong_wheels(pip_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """awscrt 0.38.0 built for Linux aarch64 and for macOS: what the existing sample's users ended up shipping."""
    dest = tmp_path_factory.mktemp("wrong-wheels")
    for platform in ("manylinux2014_aarch64", "macosx_11_0_arm64"):
        pip_download(dest, pip_cache, "--platform", platform, "awscrt==0.38.0")
    wheels = {w.name: w for w in dest.glob("*.whl")}
    aarch64 = next(w for name, w in wheels.items() if "aarch64" in name)
    macos = next(w for name, w in wheels.items() if "macosx" in name)
    return {"aarch64": aarch64, "macos": macos}
