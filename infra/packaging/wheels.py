"""Wheels for the target: downloaded for it whatever the host is, their tags checked, their run-time files unpacked.

pip is asked for manylinux2014 x86_64 wheels of the target's Python (never the host's); a wheel is kept only when
one of its filename's tags is one the target loads, and unpacked without what Lambda never reads (caches, tests,
metadata), keeping the licenses.
"""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from packaging.utils import canonicalize_name, parse_wheel_filename

from .errors import PackagingError
from .target import PIP_PLATFORM, PLATFORMS, python_version, target_tags

__all__ = ["LICENSES_DIR", "Wheel", "pip_download", "download_wheels", "project_name", "check_wheel",
           "is_left_out", "wheel_entries", "unpack_wheel"]

LICENSES_DIR = "THIRD_PARTY_LICENSES"


@dataclass(frozen=True)
class Wheel:
    filename: str
    name: str
    version: str
    tags: Tuple[str, ...]
    size: int


def pip_download(args: Sequence[str], dest: Path, cache_dir: Optional[Path], what: str) -> List[Path]:
    """`pip download` of binary wheels only into `dest`; a refusal says which requirement has no wheel for `what`."""
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
               "--only-binary=:all:", "--dest", str(dest), *args]
    if cache_dir is not None:
        command += ["--cache-dir", str(cache_dir)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        missing = re.search(r"No matching distribution found for (\S+)", done.stderr)
        if missing:
            raise PackagingError(f"no wheel of {missing.group(1)} for {what}")
        lines = [line for line in done.stderr.splitlines() if line.strip()] or ["pip failed"]
        raise PackagingError(f"unable to download wheels for {what}: {lines[-1].strip()}")
    return sorted(dest.glob("*.whl"))


def download_wheels(requirements: Path, runtime: str, dest: Path, pip_options: Sequence[str] = (),
                    cache_dir: Optional[Path] = None) -> List[Path]:
    """Wheels of the pinned requirements for the target runtime on manylinux2014 x86_64, whatever the host is."""
    major, minor = python_version(runtime)
    args = ["--platform", PIP_PLATFORM, "--implementation", "cp", "--python-version", f"{major}.{minor}",
            "-r", str(requirements), *pip_options]
    return pip_download(args, dest, cache_dir, f"{runtime} on {PIP_PLATFORM}")


def project_name(wheel: Path) -> str:
    return canonicalize_name(parse_wheel_filename(wheel.name)[0])


def check_wheel(path: Path, runtime: str) -> Wheel:
    """The wheel's filename tags must include one the target runtime loads on manylinux2014 x86_64."""
    try:
        name, version, _, tags = parse_wheel_filename(path.name)
    except ValueError as error:
        raise PackagingError(f"{path.name}: not a wheel filename ({error})") from None
    size = path.stat().st_size if path.exists() else 0
    wheel = Wheel(path.name, str(name), str(version), tuple(sorted(str(tag) for tag in tags)), size)
    if tags & target_tags(runtime):
        return wheel
    platforms = sorted({tag.platform for tag in tags})
    if not any(platform in PLATFORMS or platform == "any" for platform in platforms):
        raise PackagingError(
            f"{path.name}: built for {', '.join(platforms)}, not manylinux2014 x86_64 (Lambda@Edge runs x86_64 Linux)"
        )
    built_for = sorted({f"{tag.interpreter}-{tag.abi}" for tag in tags})
    raise PackagingError(f"{path.name}: built for {', '.join(built_for)}, which {runtime} cannot load")


def is_left_out(parts: Sequence[str]) -> bool:
    """Caches and tests: nothing Lambda runs (the .pyc files the zip carries are compiled for the target later)."""
    return any(part in ("__pycache__", "tests") for part in parts) or parts[-1].endswith((".pyc", ".pyo"))


def _is_license(name: str) -> bool:
    return name.startswith(("licenses/", "license_files/")) or name.split("/")[-1].upper().startswith(
        ("LICENSE", "LICENCE", "NOTICE", "COPYING", "AUTHORS"))


def _entry(name: str, parts: List[str], member: str) -> Optional[Tuple[str, str]]:
    """Where a wheel's member goes in the package, or None when Lambda does not need it."""
    if parts[0].endswith(".dist-info"):
        # Nothing imports the metadata at run time; the licenses travel beside it.
        if _is_license("/".join(parts[1:])):
            return f"{LICENSES_DIR}/{name}/{parts[-1]}", member
        return None
    if parts[0].endswith(".data"):
        # scripts, headers and data files have no place in a Lambda package
        if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            return "/".join(parts[2:]), member
        return None
    return member, member


def wheel_entries(wheel: Path) -> List[Tuple[str, str]]:
    """(path in the package, member in the wheel) for what Lambda needs: no caches, tests or metadata but licenses."""
    name = project_name(wheel)
    with zipfile.ZipFile(wheel) as archive:
        members = [m.filename for m in archive.infolist() if not m.is_dir()]
    entries = []
    for member in members:
        parts = member.split("/")
        if member.startswith("/") or ".." in parts or is_left_out(parts):
            continue
        entry = _entry(name, parts, member)
        if entry:
            entries.append(entry)
    return entries


def unpack_wheel(wheel: Path, root: Path) -> List[str]:
    """Install a wheel's run-time files into `root`; returns their paths relative to `root`."""
    entries = wheel_entries(wheel)
    if not entries:
        raise PackagingError(f"{wheel.name} installs nothing")
    with zipfile.ZipFile(wheel) as archive:
        for rel, member in entries:
            target = root / rel
            if target.exists():
                raise PackagingError(f"{wheel.name}: {rel} is also in another wheel")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
    return [rel for rel, _ in entries]
