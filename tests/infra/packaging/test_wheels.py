"""Wheels: the ones built for the target runtime on manylinux2014 x86_64, never the host's; others refused, saying
why; unpacked without what Lambda never reads."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Dict

import pytest

from infra.packaging import PackageResult
from infra.packaging.errors import PackagingError
from infra.packaging.wheels import check_wheel, download_wheels, unpack_wheel, wheel_entries

from .helpers import REQUIREMENTS


def test_the_wheel_is_the_one_built_for_the_target_runtime(package: PackageResult) -> None:
    (wheel,) = package.wheels
    expected = {"python3.12": "cp311-abi3-manylinux2014_x86_64", "python3.13": "cp313-abi3-manylinux2014_x86_64"}
    assert wheel.name == "awscrt" and wheel.version == "0.38.0"
    assert expected[package.runtime] in wheel.tags


@pytest.mark.parametrize("kind, reason", [("aarch64", "manylinux2014_aarch64"), ("macos", "macosx_10_15_universal2")],
                         ids=["a Linux arm64 wheel", "a macOS wheel"])
def test_a_wheel_for_another_platform_is_refused(wrong_wheels: Dict[str, Path], kind: str, reason: str) -> None:
    with pytest.raises(PackagingError, match=f"built for {reason}(, [a-z0-9_]+)?, not manylinux2014 x86_64"):
        check_wheel(wrong_wheels[kind], "python3.13")


def test_a_requirement_without_a_manylinux_x86_64_wheel_is_refused(
    wrong_wheels: Dict[str, Path], pip_cache: Path, tmp_path: Path
) -> None:
    options = ["--no-index", "--find-links", str(wrong_wheels["aarch64"].parent)]
    with pytest.raises(PackagingError, match=r"^no wheel of awscrt==0.38.0 for python3.13 on manylinux2014_x86_64$"):
        download_wheels(REQUIREMENTS, "python3.13", tmp_path, options, pip_cache)


@pytest.mark.parametrize("filename, runtime, reason", [
    ("awscrt-0.38.0-cp39-cp39-manylinux2014_x86_64.whl", "python3.13", "built for cp39-cp39, which python3.13"),
    ("awscrt-0.38.0-cp313-abi3-manylinux2014_x86_64.whl", "python3.12", "built for cp313-abi3, which python3.12"),
    ("awscrt-0.38.0-cp313-abi3-manylinux_2_28_x86_64.whl", "python3.13", "built for manylinux_2_28_x86_64, not"),
    ("awscrt-0.38.0-cp313-abi3-linux_x86_64.whl", "python3.13", "built for linux_x86_64, not"),
], ids=["a cp39 build for python3.13", "a 3.13 abi3 build for python3.12", "a glibc 2.28 build",
        "a non-manylinux build"])
def test_wheel_tags_that_do_not_fit_are_refused(filename: str, runtime: str, reason: str) -> None:
    with pytest.raises(PackagingError, match=reason):
        check_wheel(Path(filename), runtime)


@pytest.mark.parametrize("filename, runtime", [
    ("awscrt-0.38.0-cp311-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "python3.13"),
    ("awscrt-0.38.0-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "python3.12"),
    ("six-1.17.0-py2.py3-none-any.whl", "python3.12"),
], ids=["an older abi3 build", "a version-specific build", "a pure-Python wheel"])
def test_wheel_tags_that_fit_are_accepted(filename: str, runtime: str) -> None:
    assert check_wheel(Path(filename), runtime).filename == filename


def test_a_wheel_is_unpacked_without_caches_tests_or_metadata_but_with_its_licenses(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in ("demo/__init__.py", "demo/__pycache__/x.cpython-313.pyc", "demo/tests/test_x.py",
                     "demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/licenses/LICENSE",
                     "demo-1.0.data/scripts/run", "demo-1.0.data/purelib/extra.py", "../escape.py"):
            archive.writestr(name, "x = 1\n")
    assert sorted(rel for rel, _ in wheel_entries(wheel)) == [
        "THIRD_PARTY_LICENSES/demo/LICENSE", "demo/__init__.py", "extra.py"]
    assert sorted(unpack_wheel(wheel, tmp_path / "root")) == sorted(rel for rel, _ in wheel_entries(wheel))
    with pytest.raises(PackagingError, match=r"^demo-1.0-py3-none-any.whl: demo/__init__.py is also in another"):
        unpack_wheel(wheel, tmp_path / "root")
