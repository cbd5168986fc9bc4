"""The zip: sorted entries, fixed times and modes, named by its SHA-256; two builds give the same bytes."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from infra.packaging import PackageResult
from infra.packaging.archive import file_sha256, publish, write_zip
from infra.packaging.target import MAX_ZIP_BYTES

from .helpers import build


def test_the_zip_has_sorted_entries_fixed_times_and_fixed_modes(package: PackageResult) -> None:
    infos = zipfile.ZipFile(package.path).infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) for i in infos if not i.is_dir()} == {0o100644}
    assert {(i.external_attr >> 16) for i in infos if i.is_dir()} == {0o40755}
    assert {i.compress_type for i in infos if not i.is_dir()} == {zipfile.ZIP_DEFLATED}


def test_the_zip_is_named_by_its_sha256_and_well_under_the_limit(package: PackageResult) -> None:
    assert hashlib.sha256(package.path.read_bytes()).hexdigest() == package.sha256 == file_sha256(package.path)
    assert package.path.name == f"mrap-edge-{package.sha256[:16]}.zip"
    assert package.size == package.path.stat().st_size
    # About the awscrt wheel alone: the function, with its .pyc files and awscrt's, adds a few hundred kilobytes.
    assert package.size < package.wheels[0].size + 300_000 < MAX_ZIP_BYTES


def test_the_same_tree_anywhere_gives_the_same_bytes(tmp_path: Path) -> None:
    for where in ("one", "two"):
        (tmp_path / where / "pkg").mkdir(parents=True)
        (tmp_path / where / "pkg" / "b.py").write_text("b = 2\n")
        (tmp_path / where / "a.py").write_text("a = 1\n")
        write_zip(tmp_path / where, tmp_path / f"{where}.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    assert zipfile.ZipFile(tmp_path / "one.zip").namelist() == ["a.py", "pkg/", "pkg/b.py"]
    final = publish(tmp_path / "one.zip", tmp_path / "dist", file_sha256(tmp_path / "one.zip"))
    assert [p.name for p in (tmp_path / "dist").iterdir()] == [final.name]  # no partial file left behind


def test_two_builds_are_byte_identical(package313: PackageResult, pip_cache: Path, tmp_path: Path) -> None:
    # One runtime is enough: the zip writer does not depend on it.
    again = build("python3.13", pip_cache, tmp_path)
    assert again.sha256 == package313.sha256
    assert again.path.read_bytes() == package313.path.read_bytes()
