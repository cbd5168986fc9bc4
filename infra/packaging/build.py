"""The whole build, in order: refuse a target it cannot be, download and check the wheels, stage them with the
function, compile the bytecode, write the zip, check it in isolation, and only then publish it; and its summary."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from edge.config import Config

from .archive import file_sha256, publish, write_zip
from .bytecode import Bytecode, bytecode_for
from .errors import PackagingError
from .function import EDGE_SOURCE, REPO_ROOT, copy_function
from .interpreters import find_python, python_search_places
from .native import check_native_libraries
from .smoke import SmokeReport, smoke_check
from .target import ARCH, DEFAULT_RUNTIME, MAX_ZIP_BYTES, PIP_PLATFORM, RUNTIME_PROVIDED, check_arch, check_size, \
    python_version
from .wheels import Wheel, check_wheel, download_wheels, project_name, unpack_wheel

__all__ = ["PackageResult", "build_package", "summary"]

Progress = Callable[[str], None]
# (paths, checked wheels, names of the wheels left out because the runtime provides them)
TargetWheels = Tuple[List[Path], Tuple[Wheel, ...], Tuple[str, ...]]


@dataclass(frozen=True)
class PackageResult:
    path: Path
    sha256: str
    size: int
    runtime: str
    wheels: Tuple[Wheel, ...]
    left_out: Tuple[str, ...]
    smoke: SmokeReport
    bytecode: Bytecode


def _target_python(runtime: str, check_python: Optional[str], require_bytecode: bool) -> Optional[str]:
    """The target's interpreter, or None; refused when `require_bytecode` and there is none."""
    target_python = find_python(runtime, check_python)
    if target_python is None and require_bytecode:
        major, minor = python_version(runtime)
        raise PackagingError(f"no CPython {major}.{minor} found to compile the .pyc files "
                             f"({python_search_places(runtime)}); pass --check-python PATH")
    return target_python


def _target_wheels(requirements: Path, runtime: str, dest: Path, pip_options: Sequence[str],
                   cache_dir: Optional[Path], progress: Progress) -> TargetWheels:
    """(paths, checked wheels, names left out) of the requirements' wheels for the target."""
    progress(f"downloading wheels of {requirements.name} for {runtime} on {PIP_PLATFORM}")
    downloaded = download_wheels(requirements, runtime, dest, pip_options, cache_dir)
    paths = [w for w in downloaded if project_name(w) not in RUNTIME_PROVIDED]
    left_out = tuple(w.name for w in downloaded if w not in paths)
    for name in left_out:
        progress(f"leaving out {name}: the Lambda runtime provides it")
    wheels = tuple(check_wheel(w, runtime) for w in paths)
    for wheel in wheels:
        progress(f"wheel {wheel.filename}: fits {runtime} on manylinux2014 x86_64")
    return paths, wheels, left_out


def _stage(root: Path, wheel_paths: Sequence[Path], source: Path, config: Config, runtime: str,
           progress: Progress) -> None:
    """The package's tree: the wheels' run-time files, the function and its configuration, natives checked."""
    root.mkdir()
    for path in wheel_paths:
        unpack_wheel(path, root)
    copy_function(source, root, config)
    natives = check_native_libraries(root, runtime)
    progress(f"native libraries are ELF 64-bit x86-64: {', '.join(natives) or 'none'}")


def build_package(runtime: str = DEFAULT_RUNTIME, config: Optional[Config] = None, out_dir: Path = Path("dist"),
                  requirements: Path = REPO_ROOT / "requirements.txt", *, arch: str = ARCH,
                  source: Path = EDGE_SOURCE, pip_options: Sequence[str] = (), cache_dir: Optional[Path] = None,
                  check_python: Optional[str] = None, require_bytecode: bool = False,
                  progress: Progress = lambda message: None) -> PackageResult:
    """Build, check and write `out_dir/mrap-edge-<sha256[:16]>.zip`; nothing is written unless every check passes.

    `check_python` names the target's interpreter (else find_python looks for one); `require_bytecode` refuses to
    build without one instead of leaving the .pyc files out."""
    python_version(runtime)
    check_arch(arch)
    config = Config() if config is None else config
    if not Path(requirements).is_file():
        raise PackagingError(f"requirements file {requirements} not found")
    target_python = _target_python(runtime, check_python, require_bytecode)
    with tempfile.TemporaryDirectory(prefix="mrap-edge-package-") as temp:
        work = Path(temp)
        (work / "wheels").mkdir()
        wheel_paths, wheels, left_out = _target_wheels(Path(requirements), runtime, work / "wheels", pip_options,
                                                       cache_dir, progress)
        root = work / "package"
        _stage(root, wheel_paths, Path(source), config, runtime, progress)
        bytecode = bytecode_for(root, runtime, target_python)
        progress(f"bytecode: {bytecode.detail}")

        built = work / "package.zip"
        write_zip(root, built)
        size = built.stat().st_size
        check_size(size)
        sha256 = file_sha256(built)
        progress(f"zip: {size} bytes, sha256 {sha256}")

        smoke = smoke_check(built, runtime, config, wheel_paths, work, target_python, pip_options, cache_dir,
                            expect_bytecode=bytecode.files > 0)
        progress(f"imports and signs in isolation under Python {smoke.python} ({smoke.mode}): {smoke.authorization}")
        final = publish(built, Path(out_dir), sha256)
    return PackageResult(final, sha256, size, runtime, wheels, left_out, smoke, bytecode)


def summary(result: PackageResult) -> str:
    lines = [f"runtime:  {result.runtime} ({ARCH})"]
    for wheel in result.wheels:
        lines.append(f"wheel:    {wheel.filename} ({wheel.size} bytes; tags {', '.join(wheel.tags)})")
    for name in result.left_out:
        lines.append(f"left out: {name} (the Lambda runtime provides it)")
    lines += [
        f"bytecode: {result.bytecode.detail}",
        f"check:    import and sign in isolation under Python {result.smoke.python}: {result.smoke.detail}",
        f"size:     {result.size} bytes ({result.size / 1e6:.2f} MB of {MAX_ZIP_BYTES / 1e6:.0f} MB)",
        f"sha256:   {result.sha256}",
        f"path:     {result.path}",
    ]
    return "\n".join(lines)
