"""Build the Lambda@Edge deployment zip: wheels for the target runtime (never the host's), `edge/`, its configuration.

The zip is reproducible (same inputs, same bytes) and checked before it is declared good: every wheel's tags fit the
target runtime on manylinux2014 x86_64, every native library is an ELF x86-64 object, the function imports and signs
an MRAP origin request from the extracted zip in an isolated interpreter, and the size is under Lambda@Edge's limit.

It carries `.pyc` files compiled by the target runtime's own CPython (see `compile_bytecode`), because Lambda's code
directory is read-only: without them every cold container compiles every module it imports, and throws the result
away. When no interpreter of the target version is found, the zip is built without them and the summary says so.

Entry point for other code: `build_package(...) -> PackageResult`. Every refusal is a PackagingError (or the
function's own ConfigError) whose message is one line saying why.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from packaging.tags import Tag, compatible_tags, cpython_tags, sys_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from edge.config import Config

__all__ = [
    "RUNTIMES",
    "DEFAULT_RUNTIME",
    "MAX_ZIP_BYTES",
    "PackagingError",
    "Wheel",
    "SmokeReport",
    "PackageResult",
    "Bytecode",
    "python_version",
    "find_python",
    "python_search_places",
    "compile_bytecode",
    "check_arch",
    "check_wheel",
    "check_native_libraries",
    "resolve_config",
    "build_package",
    "file_sha256",
    "summary",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
EDGE_SOURCE = REPO_ROOT / "edge"
CONFIG_NAME = "mrap-edge.json"  # edge.config.CONFIG_FILE: read by the function beside its code

# Lambda@Edge accepts these Python runtimes (CloudFront "Supported Lambda runtimes").
RUNTIMES: Dict[str, Tuple[int, int]] = {f"python3.{minor}": (3, minor) for minor in range(9, 14)}
DEFAULT_RUNTIME = "python3.13"
ARCH = "x86_64"  # Lambda@Edge runs x86_64 only
PIP_PLATFORM = "manylinux2014_x86_64"
# manylinux2014 = glibc 2.17: older glibc tags load too, newer ones may not (python3.9-3.11 run on glibc 2.26).
PLATFORMS: Tuple[str, ...] = ("manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64") + tuple(
    f"manylinux_2_{minor}_x86_64" for minor in range(17, 4, -1)
)
# "50 MB zipped" (Lambda@Edge quotas); counted in decimal megabytes so a zip near the limit is refused, not deployed.
MAX_ZIP_BYTES = 50_000_000
# The runtime ships these and the function does not import them.
RUNTIME_PROVIDED: FrozenSet[str] = frozenset({"boto3", "botocore"})
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
ZIP_LEVEL = 9
LICENSES_DIR = "THIRD_PARTY_LICENSES"
# The smoke event's origin: the MRAP host of the CloudFront guide's example, unless the config does not sign it.
SMOKE_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
SIGV4A_ALGORITHM = "AWS4-ECDSA-P256-SHA256"

_ELF_MACHINES = {0x03: "x86", 0x28: "ARM", 0x3E: "x86-64", 0xB7: "AArch64", 0xF3: "RISC-V"}
_MACHO_MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_NATIVE_SUFFIX = re.compile(r"\.(so(\.[0-9.]+)?|dylib|pyd|dll)$")
_EXTENSION_VERSION = re.compile(r"\.cpython-(\d)(\d+)")


class PackagingError(Exception):
    """A refusal or a failed check; the message is one line that says why."""


@dataclass(frozen=True)
class Wheel:
    filename: str
    name: str
    version: str
    tags: Tuple[str, ...]
    size: int


@dataclass(frozen=True)
class SmokeReport:
    # "target": the zip under the target's Python; "host": the zip under the host's Python (abi3 wheels load there);
    # "stand-in": the zip with wheels the host cannot load swapped for the same versions built for the host.
    mode: str
    python: str
    detail: str
    authorization: str


@dataclass(frozen=True)
class Bytecode:
    # The interpreter that compiled the .pyc files (None: none was found, and the zip has no .pyc) and what it did.
    python: Optional[str]
    version: Optional[str]
    files: int
    detail: str


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


# --- refusals of the inputs -------------------------------------------------------------------------------------


def python_version(runtime: str) -> Tuple[int, int]:
    if runtime not in RUNTIMES:
        raise PackagingError(f"unsupported runtime {runtime!r}: Lambda@Edge takes {', '.join(RUNTIMES)}")
    return RUNTIMES[runtime]


def check_arch(arch: str) -> None:
    if arch != ARCH:
        raise PackagingError(f"unsupported architecture {arch!r}: Lambda@Edge runs {ARCH} only")


def resolve_config(config_file: Optional[Path] = None, overrides: Optional[Mapping[str, Any]] = None) -> Config:
    """Defaults < config file < overrides, each validated by the function's own Config.from_mapping."""
    config = Config()
    if config_file is not None:
        try:
            values = json.loads(Path(config_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise PackagingError(f"unable to read configuration {config_file}: {error}") from None
        config = Config.from_mapping(values, source=str(config_file))
    if overrides:
        config = Config.from_mapping({**config.to_mapping(), **overrides}, source="(command-line options)")
    return config


# --- wheel and native-library checks ----------------------------------------------------------------------------


def _target_tags(runtime: str) -> FrozenSet[Tag]:
    major, minor = python_version(runtime)
    # cp3X-cp3X, cp3X-abi3 and older cp3Y-abi3, then pure-Python py3 tags; platforms as above plus "any".
    tags = set(cpython_tags((major, minor), [f"cp{major}{minor}"], PLATFORMS))
    tags.update(compatible_tags((major, minor), f"cp{major}{minor}", PLATFORMS))
    return frozenset(tags)


def check_wheel(path: Path, runtime: str) -> Wheel:
    """The wheel's filename tags must include one the target runtime loads on manylinux2014 x86_64."""
    try:
        name, version, _, tags = parse_wheel_filename(path.name)
    except ValueError as error:
        raise PackagingError(f"{path.name}: not a wheel filename ({error})") from None
    size = path.stat().st_size if path.exists() else 0
    wheel = Wheel(path.name, str(name), str(version), tuple(sorted(str(tag) for tag in tags)), size)
    if tags & _target_tags(runtime):
        return wheel
    platforms = sorted({tag.platform for tag in tags})
    if not any(platform in PLATFORMS or platform == "any" for platform in platforms):
        raise PackagingError(
            f"{path.name}: built for {', '.join(platforms)}, not manylinux2014 x86_64 (Lambda@Edge runs x86_64 Linux)"
        )
    built_for = sorted({f"{tag.interpreter}-{tag.abi}" for tag in tags})
    raise PackagingError(f"{path.name}: built for {', '.join(built_for)}, which {runtime} cannot load")


def _elf_problem(head: bytes) -> Optional[str]:
    """Why an ELF header is not a 64-bit little-endian x86-64 object, or None if it is."""
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return "truncated ELF header"
    if head[4] != 2:  # e_ident[EI_CLASS]: 2 = ELFCLASS64
        return "32-bit ELF, not 64-bit"
    if head[5] != 1:  # e_ident[EI_DATA]: 1 = little-endian
        return "big-endian ELF, not little-endian"
    (machine,) = struct.unpack_from("<H", head, 18)  # e_machine
    if machine != 0x3E:
        return f"ELF for {_ELF_MACHINES.get(machine, 'machine')} (0x{machine:x}), not x86-64"
    return None


def _native_problem(path: Path, runtime: str) -> Optional[str]:
    with path.open("rb") as file:
        head = file.read(64)
    looks_native = bool(_NATIVE_SUFFIX.search(path.name))
    if head.startswith(b"\x7fELF"):
        problem = _elf_problem(head)
        if problem:
            return problem
        # A version-specific extension module names its Python: it must be the target's.
        found = _EXTENSION_VERSION.search(path.name)
        major, minor = python_version(runtime)
        if found and (int(found.group(1)), int(found.group(2))) != (major, minor):
            return f"extension module for Python {found.group(1)}.{found.group(2)}, not {runtime}"
        return None
    if head[:4] in _MACHO_MAGICS and looks_native:
        return "Mach-O (macOS) library, not ELF x86-64"
    if head[:2] == b"MZ" and looks_native:
        return "Windows DLL, not ELF x86-64"
    if looks_native:
        return "not an ELF object"
    return None


def check_native_libraries(root: Path, runtime: str) -> List[str]:
    """Every native library under `root` must be ELF 64-bit x86-64; returns their paths relative to `root`."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        problem = _native_problem(path, runtime)
        if problem:
            raise PackagingError(f"{rel}: {problem}")
        with path.open("rb") as file:
            if file.read(4) == b"\x7fELF":
                found.append(rel)
    return found


def check_size(size: int) -> None:
    if size >= MAX_ZIP_BYTES:
        raise PackagingError(f"zip is {size} bytes; Lambda@Edge takes at most {MAX_ZIP_BYTES} bytes zipped")


# --- download and stage -----------------------------------------------------------------------------------------


def _pip_download(args: Sequence[str], dest: Path, cache_dir: Optional[Path], what: str) -> List[Path]:
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
    return _pip_download(args, dest, cache_dir, f"{runtime} on {PIP_PLATFORM}")


def _is_left_out(parts: Sequence[str]) -> bool:
    return any(part in ("__pycache__", "tests") for part in parts) or parts[-1].endswith((".pyc", ".pyo"))


def _is_license(name: str) -> bool:
    return name.startswith(("licenses/", "license_files/")) or name.split("/")[-1].upper().startswith(
        ("LICENSE", "LICENCE", "NOTICE", "COPYING", "AUTHORS"))


def _wheel_entries(wheel: Path) -> List[Tuple[str, str]]:
    """(path in the package, member in the wheel) for what Lambda needs: no caches, tests or metadata but licenses."""
    name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
    entries = []
    with zipfile.ZipFile(wheel) as archive:
        members = [m.filename for m in archive.infolist() if not m.is_dir()]
    for member in members:
        parts = member.split("/")
        if member.startswith("/") or ".." in parts or _is_left_out(parts):
            continue
        if parts[0].endswith(".dist-info"):
            # Nothing imports the metadata at run time; the licenses travel beside it.
            if _is_license("/".join(parts[1:])):
                entries.append((f"{LICENSES_DIR}/{name}/{parts[-1]}", member))
        elif parts[0].endswith(".data"):
            # scripts, headers and data files have no place in a Lambda package
            if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
                entries.append(("/".join(parts[2:]), member))
        else:
            entries.append((member, member))
    return entries


def unpack_wheel(wheel: Path, root: Path) -> List[str]:
    """Install a wheel's run-time files into `root`; returns their paths relative to `root`."""
    entries = _wheel_entries(wheel)
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


def _copy_function(source: Path, root: Path, config: Config) -> None:
    if not (source / "handler.py").is_file():
        raise PackagingError(f"{source.name}/handler.py not found: nothing to package")
    for path in sorted(source.rglob("*.py")):
        rel = path.relative_to(source)
        if _is_left_out(rel.parts):
            continue
        target = root / "edge" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    text = json.dumps(config.to_mapping(), indent=2, sort_keys=True) + "\n"
    (root / "edge" / CONFIG_NAME).write_text(text, encoding="utf-8")


def write_zip(root: Path, path: Path) -> None:
    """Sorted entries, one timestamp, one mode per kind, one compression level: same tree, same bytes."""
    entries = sorted(
        p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.rglob("*")
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, so that the modes below are read on every host OS
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10  # 0x10: the MS-DOS directory flag
                archive.writestr(info, b"", compress_type=zipfile.ZIP_STORED)
            else:
                info.external_attr = 0o100644 << 16
                data = (root / name).read_bytes()
                archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)


# --- the import-and-sign check in isolation ---------------------------------------------------------------------

# Runs in `python -I -S -B` with only the extracted zip on sys.path: -B because Lambda's code directory is read-only,
# so a cold container never writes a .pyc either. It reports facts; the parent judges them. `compiled` lists the zip's
# files the import system compiled from source instead of loading their .pyc: it reads a valid .pyc without calling
# SourceLoader.source_to_code, and compiles through it when the .pyc is missing, stale or another Python's.
_SMOKE_SCRIPT = r"""
import json, os, sys
root = os.path.realpath(sys.argv[1])
compiled = []
_loader = sys.modules["_frozen_importlib_external"].SourceLoader
_source_to_code = _loader.source_to_code
def _recording(self, data, path, *args, **kwargs):
    compiled.append(os.path.realpath(path))
    return _source_to_code(self, data, path, *args, **kwargs)
_loader.source_to_code = _recording
sys.path.insert(0, root)
base = os.path.realpath(sys.base_prefix)
stray = [p for p in sys.path if os.path.realpath(p) != root and (
    not os.path.realpath(p).startswith(base + os.sep) or "site-packages" in p or "dist-packages" in p)]
import edge.handler, edge.config, awscrt, _awscrt
files = {m.__name__: os.path.realpath(m.__file__) for m in (edge.handler, awscrt, _awscrt)}
result = edge.handler.lambda_handler(json.loads(sys.stdin.read()), None)
auth = (result.get("headers", {}).get("authorization") or [{"value": ""}])[0]["value"]
print(json.dumps({
    "python": sys.version.split()[0], "stray": stray, "outside": sorted(k for k, f in files.items()
                                                                         if not f.startswith(root + os.sep)),
    "config": edge.config.load_config().to_mapping(), "status": result.get("status"), "authorization": auth,
    "compiled": sorted(os.path.relpath(f, root) for f in compiled if f.startswith(root + os.sep)),
}))
"""


def smoke_event(config: Config) -> Dict[str, Any]:
    """The CloudFront Developer Guide's example origin request, pointed at an MRAP host the config signs."""
    host = SMOKE_HOST if config.is_mrap_host(SMOKE_HOST) else config.mrap_host_patterns[0].replace("*", "mfzwi23gnjvgw")
    request = {
        "clientIp": "203.0.113.178",
        "headers": {
            "x-forwarded-for": [{"key": "X-Forwarded-For", "value": "203.0.113.178"}],
            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
            "via": [{"key": "Via", "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)"}],
            "host": [{"key": "Host", "value": host}],
            "cache-control": [{"key": "Cache-Control", "value": "no-cache, cf-no-cache"}],
        },
        "method": config.allowed_methods[0],
        "origin": {"custom": {"customHeaders": {}, "domainName": host, "keepaliveTimeout": 5, "path": "",
                              "port": 443, "protocol": "https", "readTimeout": 30,
                              "sslProtocols": ["TLSv1", "TLSv1.1", "TLSv1.2"]}},
        "querystring": "",
        "uri": "/",
    }
    cf_config = {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
                 "eventType": "origin-request",
                 "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="}
    return {"Records": [{"cf": {"config": cf_config, "request": request}}]}


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
        candidates.append(_base_python())
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


# --- bytecode for the target runtime ------------------------------------------------------------------------------

# Runs in the target's interpreter with -I -S; the paths to compile, relative to the root, come one a line on stdin.
#
# Invalidation mode: UNCHECKED_HASH. A timestamp .pyc is valid only while the source's mtime and size match the ones
# recorded in it; the zip stores every file at 1980-01-01 and what modification times Lambda's unpacked copy ends up
# with is not ours to choose, so a timestamp .pyc may be judged stale and the module compiled at each cold start
# (the code directory is read-only, so nothing is ever cached). A hash-based .pyc carries the SipHash of its source
# instead: CHECKED_HASH reads and hashes every source at each import to compare; UNCHECKED_HASH trusts the .pyc.
# The zip is immutable and its .py and .pyc files are made together by this function, so there is nothing for a
# check to find, and UNCHECKED_HASH does the least work at import. (The test suite checks each .pyc's hash against
# its source, so a stale one cannot slip in unseen.) `dfile` records the path inside the zip, not the build's
# temporary directory, so that the bytes do not depend on where the build ran; the import system puts the real
# path into the code objects when it loads them.
_COMPILE_SCRIPT = r"""
import os, py_compile, sys
root = sys.argv[1]
for rel in sys.stdin.read().splitlines():
    try:
        py_compile.compile(os.path.join(root, rel), dfile=rel, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError as error:
        sys.exit(f"{rel}: does not compile under Python {sys.version.split()[0]}: " + str(error.exc_value))
print(sys.version.split()[0])
"""


def compile_bytecode(root: Path, python: str) -> Tuple[str, int]:
    """Compile every .py under `root` with `python` into `__pycache__/<name>.<cache tag>.pyc` beside it.

    Returns (the interpreter's version, how many files). The files are compiled in sorted order by one fresh
    interpreter, so the same sources give the same bytes."""
    sources = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    done = subprocess.run([python, "-I", "-S", "-c", _COMPILE_SCRIPT, str(root)], input="\n".join(sources),
                          capture_output=True, text=True, timeout=600, env=_bare_env())
    if done.returncode != 0:
        last = ([line for line in done.stderr.splitlines() if line.strip()] or ["no output"])[-1]
        raise PackagingError(f"unable to compile the .pyc files: {last.strip()}")
    return done.stdout.strip(), len(sources)


def _bare_env() -> Dict[str, str]:
    # Nothing of the builder's environment reaches the checked interpreter (no PYTHON*, no SOURCE_DATE_EPOCH).
    return {"SYSTEMROOT": os.environ["SYSTEMROOT"]} if "SYSTEMROOT" in os.environ else {}  # Windows needs it


def run_smoke(root: Path, python: str, config: Config, expect_bytecode: bool = False) -> Tuple[str, str]:
    """Import the function from `root` alone and sign the smoke event; return (python version, Authorization).

    With `expect_bytecode`, also refuse if any module of the zip was compiled at import instead of loaded from its
    .pyc (which is what every cold container would then do)."""
    # Fake credentials, where Lambda puts the role's.
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
           "AWS_SESSION_TOKEN": "smoke-test-session-token",
           "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", **_bare_env()}
    done = subprocess.run([python, "-I", "-S", "-B", "-c", _SMOKE_SCRIPT, str(root)],
                          input=json.dumps(smoke_event(config)), capture_output=True, text=True, cwd=root, env=env,
                          timeout=120)
    if done.returncode != 0:
        last = ([line for line in done.stderr.splitlines() if line.strip()] or ["no output"])[-1]
        raise PackagingError(f"the function does not import and sign from the zip: {last.strip()}")
    facts = json.loads(done.stdout.splitlines()[-1])
    if facts["stray"]:
        raise PackagingError(f"isolation check: sys.path reaches beyond the zip and the stdlib: {facts['stray']}")
    if facts["outside"]:
        raise PackagingError(f"isolation check: {', '.join(facts['outside'])} imported from outside the zip")
    if facts["config"] != config.to_mapping():
        raise PackagingError(f"the function reads {facts['config']} from the zip, not {config.to_mapping()}")
    if expect_bytecode and facts["compiled"]:
        raise PackagingError(f"Python {facts['python']} compiled {', '.join(facts['compiled'])} at import instead "
                             f"of loading the .pyc files in the zip")
    auth = facts["authorization"]
    found = re.search(r"SignedHeaders=([^,\s]+)", auth)
    signed_headers = found.group(1).split(";") if found else []
    if not auth.startswith(SIGV4A_ALGORITHM) or "x-amz-cf-id" not in signed_headers:
        raise PackagingError(
            f"the function did not sign with SigV4A and x-amz-cf-id (status {facts['status']}): {auth!r}")
    return facts["python"], auth.split("Signature=")[0].rstrip(", ")


def _base_python() -> str:
    # The venv's interpreter would put the venv's site-packages back; its base interpreter has only the stdlib.
    return getattr(sys, "_base_executable", None) or sys.executable


def smoke_check(zip_path: Path, runtime: str, config: Config, wheels: Sequence[Path], work: Path,
                target_python: Optional[str] = None, pip_options: Sequence[str] = (),
                cache_dir: Optional[Path] = None, expect_bytecode: bool = False) -> SmokeReport:
    """Import and sign from the extracted zip with the most faithful interpreter at hand, and say which one it was.

    `target_python` is a CPython of the runtime's version (find_python), or None when there is none here."""
    root = work / "extracted"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root)
    if target_python:
        python, auth = run_smoke(root, target_python, config, expect_bytecode)
        detail = "the zip as built, under the target's Python version"
        if expect_bytecode:
            detail += ", every module of the zip loaded from its .pyc"
        return SmokeReport("target", python, detail, auth)
    host = set(sys_tags())
    foreign = [w for w in wheels if not (parse_wheel_filename(w.name)[3] & host)]
    if not foreign:
        python, auth = run_smoke(root, _base_python(), config)
        return SmokeReport("host", python, "the zip as built, under the host's Python (its wheels load there)", auth)
    # The host cannot load these wheels (e.g. cp313-abi3 under 3.11): swap in the same versions built for the host.
    # Then edge/, the config and the wheels' Python code are checked, not the target's native build itself, which
    # only the ELF and tag checks cover.
    swapped = []
    for wheel in foreign:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        for rel, _ in _wheel_entries(wheel):
            (root / rel).unlink(missing_ok=True)
        dest = work / f"host-{name}"
        dest.mkdir()
        host_wheels = _pip_download(["--no-deps", f"{name}=={version}", *pip_options], dest, cache_dir, "the host")
        unpack_wheel(host_wheels[0], root)
        swapped.append(f"{host_wheels[0].name} for {wheel.name}")
    python, auth = run_smoke(root, _base_python(), config)
    detail = f"stand-in: host Python cannot load the target wheels; used {'; '.join(swapped)}"
    return SmokeReport("stand-in", python, detail, auth)


# --- the whole build ---------------------------------------------------------------------------------------------


def _project(wheel: Path) -> str:
    return canonicalize_name(parse_wheel_filename(wheel.name)[0])


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file: the zip's name in S3 and the Lambda version's trigger."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_package(runtime: str = DEFAULT_RUNTIME, config: Optional[Config] = None, out_dir: Path = Path("dist"),
                  requirements: Path = REPO_ROOT / "requirements.txt", *, arch: str = ARCH,
                  source: Path = EDGE_SOURCE, pip_options: Sequence[str] = (), cache_dir: Optional[Path] = None,
                  check_python: Optional[str] = None, require_bytecode: bool = False,
                  progress: Callable[[str], None] = lambda message: None) -> PackageResult:
    """Build, check and write `out_dir/mrap-edge-<sha256[:16]>.zip`; nothing is written unless every check passes.

    `check_python` names the target's interpreter (else find_python looks for one); `require_bytecode` refuses to
    build without one instead of leaving the .pyc files out."""
    major, minor = python_version(runtime)
    check_arch(arch)
    config = Config() if config is None else config
    if not Path(requirements).is_file():
        raise PackagingError(f"requirements file {requirements} not found")
    target_python = find_python(runtime, check_python)
    if target_python is None and require_bytecode:
        raise PackagingError(f"no CPython {major}.{minor} found to compile the .pyc files "
                             f"({python_search_places(runtime)}); pass --check-python PATH")
    with tempfile.TemporaryDirectory(prefix="mrap-edge-package-") as temp:
        work = Path(temp)
        (work / "wheels").mkdir()
        progress(f"downloading wheels of {Path(requirements).name} for {runtime} on {PIP_PLATFORM}")
        downloaded = download_wheels(Path(requirements), runtime, work / "wheels", pip_options, cache_dir)
        wheel_paths = [w for w in downloaded if _project(w) not in RUNTIME_PROVIDED]
        left_out = tuple(w.name for w in downloaded if w not in wheel_paths)
        for name in left_out:
            progress(f"leaving out {name}: the Lambda runtime provides it")
        wheels = tuple(check_wheel(w, runtime) for w in wheel_paths)
        for wheel in wheels:
            progress(f"wheel {wheel.filename}: fits {runtime} on manylinux2014 x86_64")

        root = work / "package"
        root.mkdir()
        for path in wheel_paths:
            unpack_wheel(path, root)
        _copy_function(Path(source), root, config)
        natives = check_native_libraries(root, runtime)
        progress(f"native libraries are ELF 64-bit x86-64: {', '.join(natives) or 'none'}")
        if target_python:
            version, count = compile_bytecode(root, target_python)
            bytecode = Bytecode(target_python, version, count,
                                f"{count} .pyc files compiled by CPython {version} (unchecked-hash): {target_python}")
        else:
            bytecode = Bytecode(None, None, 0, f"none: no CPython {major}.{minor} found "
                                               f"({python_search_places(runtime)}), so every cold start compiles the "
                                               f"modules it imports; pass --check-python PATH, or --require-pyc to "
                                               f"refuse")
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

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        final = out_dir / f"mrap-edge-{sha256[:16]}.zip"
        partial = out_dir / f".{final.name}.partial"
        shutil.copyfile(built, partial)
        os.replace(partial, final)  # a reader never sees a half-written zip under the final name
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
