"""Packaging: the zip carries wheels for the target runtime, never the host's, and .pyc files its interpreter loads
without compiling; it is reproducible, checked, and the function runs from it alone. The builds download from PyPI
once per session (pip's cache lives in a session dir)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest

from edge.config import Config
from edge.errors import ConfigError
from infra import packaging
from infra.packaging import PackageResult, PackagingError
from tests.helpers import ROLE, s3_for, verify_as_s3

ROOT = Path(__file__).resolve().parents[2]
# Not the defaults, so that a zip carrying the default file (or none) cannot pass for this one.
BAKED = Config(failover_header="X-Secondary-Origin", query_allowlist=("versionId",),
               allowed_methods=("GET", "HEAD", "OPTIONS"), log_level="ERROR")
BASE_PYTHON = getattr(sys, "_base_executable", None) or sys.executable


def pip_download(dest: Path, cache: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13", "--dest", str(dest),
                    "--cache-dir", str(cache), *args], check=True, capture_output=True)


def extract(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(dest)
    return dest


def run_isolated(root: Path, code: str, stdin: str = "", env: Optional[Dict[str, str]] = None,
                 python: str = BASE_PYTHON, flags: Sequence[str] = ("-I", "-S")) -> Dict[str, Any]:
    """Run `code` in the base interpreter (or `python`) with -I -S and only `root` added to sys.path; it prints one
    JSON line."""
    prelude = "import sys, json; sys.path.insert(0, sys.argv[1]); "
    done = subprocess.run([python, *flags, "-c", prelude + code, str(root)], input=stdin,
                          capture_output=True, text=True, cwd=root, env=env or {})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="session")
def pip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pip-cache")


def build(runtime: str, pip_cache: Path, out: Path) -> PackageResult:
    return packaging.build_package(runtime, BAKED, out, ROOT / "requirements.txt", cache_dir=pip_cache)


@pytest.fixture(scope="session")
def package312(pip_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> PackageResult:
    return build("python3.12", pip_cache, tmp_path_factory.mktemp("dist-python3.12"))


@pytest.fixture(scope="session")
def package313(pip_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> PackageResult:
    return build("python3.13", pip_cache, tmp_path_factory.mktemp("dist-python3.13"))


@pytest.fixture(params=["python3.12", "python3.13"])
def package(request: pytest.FixtureRequest) -> PackageResult:
    """Each of the two builds, made once per session."""
    return request.getfixturevalue(f"package{request.param.replace('python3.', '3')}")


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


# --- what the zip holds -----------------------------------------------------------------------------------------


def test_the_wheel_is_the_one_built_for_the_target_runtime(package: PackageResult) -> None:
    (wheel,) = package.wheels
    expected = {"python3.12": "cp311-abi3-manylinux2014_x86_64", "python3.13": "cp313-abi3-manylinux2014_x86_64"}
    assert wheel.name == "awscrt" and wheel.version == "0.38.0"
    assert expected[package.runtime] in wheel.tags


def test_the_zip_holds_the_function_and_awscrt_and_nothing_lambda_does_not_need(package: PackageResult) -> None:
    names = zipfile.ZipFile(package.path).namelist()
    for needed in ("edge/handler.py", "edge/signing.py", "edge/mrap-edge.json", "awscrt/auth.py", "_awscrt.abi3.so",
                   "THIRD_PARTY_LICENSES/awscrt/LICENSE", "THIRD_PARTY_LICENSES/awscrt/NOTICE"):
        assert needed in names
    unwanted = [n for n in names if ".dist-info" in n or n.startswith(("boto3/", "botocore/", "tests/"))]
    assert unwanted == []
    # .pyc files only as the target's interpreter names them, one beside each .py, and none of the builder's caches
    tag = "cpython-" + package.runtime.replace("python", "").replace(".", "")
    pycs = sorted(n for n in names if n.endswith(".pyc"))
    sources = sorted(n for n in names if n.endswith(".py"))
    expected = [f"{os.path.dirname(n)}/__pycache__/{os.path.basename(n)[:-3]}.{tag}.pyc" for n in sources]
    assert pycs == (sorted(expected) if package.bytecode.files else [])
    assert package.bytecode.files == (len(sources) if package.bytecode.python else 0)


def test_the_zip_has_sorted_entries_fixed_times_and_fixed_modes(package: PackageResult) -> None:
    infos = zipfile.ZipFile(package.path).infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) for i in infos if not i.is_dir()} == {0o100644}
    assert {(i.external_attr >> 16) for i in infos if i.is_dir()} == {0o40755}
    assert {i.compress_type for i in infos if not i.is_dir()} == {zipfile.ZIP_DEFLATED}


def test_the_zip_is_named_by_its_sha256_and_well_under_the_limit(package: PackageResult) -> None:
    assert hashlib.sha256(package.path.read_bytes()).hexdigest() == package.sha256
    assert package.path.name == f"mrap-edge-{package.sha256[:16]}.zip"
    assert package.size == package.path.stat().st_size
    # About the awscrt wheel alone: the function, with its .pyc files and awscrt's, adds a few hundred kilobytes.
    assert package.size < package.wheels[0].size + 300_000 < packaging.MAX_ZIP_BYTES


def test_two_builds_are_byte_identical(package313: PackageResult, pip_cache: Path, tmp_path: Path) -> None:
    # One runtime is enough: the zip writer does not depend on it.
    again = build("python3.13", pip_cache, tmp_path)
    assert again.sha256 == package313.sha256
    assert again.path.read_bytes() == package313.path.read_bytes()


# --- the function runs from the zip alone -----------------------------------------------------------------------


def test_the_baked_configuration_is_what_the_function_reads(package: PackageResult, tmp_path: Path) -> None:
    # edge.config needs only the stdlib, so the host reads it from either zip with the function's own loader.
    root = extract(package.path, tmp_path / "zip")
    read = run_isolated(root, "from edge.config import load_config, CONFIG_FILE; "
                              "print(json.dumps([str(CONFIG_FILE), load_config().to_mapping()]))")
    assert Path(read[0]) == (root / "edge" / "mrap-edge.json").resolve()
    assert read[1] == BAKED.to_mapping()


def test_the_build_reports_how_import_and_sign_were_checked(package: PackageResult) -> None:
    smoke = package.smoke
    assert smoke.authorization.startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/")
    assert "x-amz-cf-id" in smoke.authorization.split("SignedHeaders=")[1].split(";")
    host_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if smoke.mode == "stand-in":
        # Only when the host cannot load the target wheel, and then the summary says what replaced what.
        assert package.runtime == "python3.13" and host_version != "3.13"
        assert "cp313-abi3" in smoke.detail and "for awscrt" in smoke.detail
    else:
        assert smoke.mode in ("target", "host")


SIGN_FROM_ZIP = """
import edge.handler, awscrt, _awscrt, os
outside = [m.__name__ for m in (edge.handler, awscrt, _awscrt) if not m.__file__.startswith(sys.argv[1])]
stray = [p for p in sys.path[1:] if "site-packages" in p or not p.startswith(sys.base_prefix)]
print(json.dumps({"outside": outside, "stray": stray,
                  "returned": edge.handler.lambda_handler(json.loads(sys.stdin.read()), None)}))
"""


def test_the_python312_zip_imports_and_signs_in_isolation_and_s3_accepts_it(
    package312: PackageResult, tmp_path: Path
) -> None:
    # The host loads the python3.12 zip's cp311-abi3 wheel (not python3.13's cp313-abi3 one, unless it is 3.13).
    root = extract(package312.path, tmp_path / "zip")
    event = packaging.smoke_event(BAKED)
    env = {"AWS_ACCESS_KEY_ID": ROLE.access_key_id, "AWS_SECRET_ACCESS_KEY": ROLE.secret_access_key,
           "AWS_SESSION_TOKEN": ROLE.session_token or ""}
    ran = run_isolated(root.resolve(), SIGN_FROM_ZIP, json.dumps(event), env)
    assert ran["outside"] == [] and ran["stray"] == []
    # The independent verifier recomputes the SigV4A signature as S3 would.
    verified = verify_as_s3(event, ran["returned"], s3_for(ROLE))
    assert verified is not None


def target_python(runtime: str) -> str:
    """The machine's CPython of the runtime's version as packaging finds it; skip only where there is none at all."""
    found = packaging.find_python(runtime)
    if found is None:
        # Looked for without the code under test, so that a finder that misses an installed one fails, not skips.
        name = f"python{runtime[6:]}"
        pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
        present = [p for p in sorted(pyenv.glob(f"{runtime[6:]}.*/bin/{name}")) if os.access(p, os.X_OK)]
        if present:
            pytest.fail(f"{present[0]} exists but packaging.find_python({runtime!r}) did not find it")
        pytest.skip(f"no CPython {runtime[6:]} on this machine ({packaging.python_search_places(runtime)})")
    return found


def test_the_python313_zip_imports_and_signs_under_python313(package313: PackageResult, tmp_path: Path) -> None:
    root = extract(package313.path, tmp_path / "zip")
    python, authorization = packaging.run_smoke(root, target_python("python3.13"), BAKED, expect_bytecode=True)
    assert python.startswith("3.13.") and authorization.startswith("AWS4-ECDSA-P256-SHA256")
    assert package313.smoke.mode == "target" and package313.smoke.python == python


# Under the target's interpreter: for each .py of the zip, what its .pyc's header says about it.
PYC_HEADERS = """
import importlib.util, os
root = sys.argv[1]
found = {}
for folder, _, files in os.walk(root):
    for name in files:
        if name.endswith(".py"):
            source = os.path.join(folder, name)
            cached = importlib.util.cache_from_source(source)
            if not os.path.exists(cached):
                found[os.path.relpath(source, root)] = None
                continue
            with open(cached, "rb") as file:
                head = file.read(16)
            with open(source, "rb") as file:
                source_hash = importlib.util.source_hash(file.read())
            found[os.path.relpath(source, root)] = [head[:4] == importlib.util.MAGIC_NUMBER,
                                                    int.from_bytes(head[4:8], "little"), head[8:16] == source_hash]
print(json.dumps(found))
"""


def test_every_module_has_a_pyc_of_the_target_python_that_matches_its_source(
    package: PackageResult, tmp_path: Path
) -> None:
    runtime = package.runtime
    python = target_python(runtime)
    root = extract(package.path, tmp_path / "zip")
    headers = run_isolated(root, PYC_HEADERS, python=python)
    assert any(name.startswith("edge/") for name in headers) and any(name.startswith("awscrt/") for name in headers)
    # the target's magic number; flags 0b01: hash-based, source not checked; the SipHash of the source shipped beside
    assert {name: value for name, value in headers.items() if value != [True, 0b01, True]} == {}
    assert package.bytecode.version is not None and package.bytecode.version.startswith(runtime[6:] + ".")


# Lambda's view of the zip: the target's interpreter as `python -I -S -B` over a read-only copy. Every .py is
# replaced by a module that fails when run, so the function can only import and sign if each module comes from its
# .pyc: a missing .pyc, another Python's, or one that the import system would check against its source (timestamp
# or checked-hash) makes it compile the replaced source and fail.
SIGN_FROM_PYC_ONLY = """
import edge.handler
print(json.dumps({"returned": edge.handler.lambda_handler(json.loads(sys.stdin.read()), None),
                  "dont_write_bytecode": sys.flags.dont_write_bytecode, "isolated": sys.flags.isolated}))
"""


def poison_sources(root: Path) -> None:
    for source in root.rglob("*.py"):
        source.write_text(f"raise SystemExit('compiled from source: {source.relative_to(root)}')\n")


def read_only(root: Path) -> Dict[str, float]:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


def test_the_python313_zip_imports_from_its_pyc_files_alone_on_a_read_only_copy(
    package313: PackageResult, tmp_path: Path
) -> None:
    python = target_python("python3.13")
    root = extract(package313.path, tmp_path / "zip")
    poison_sources(root)
    before = read_only(root)
    event = packaging.smoke_event(BAKED)
    env = {"AWS_ACCESS_KEY_ID": ROLE.access_key_id, "AWS_SECRET_ACCESS_KEY": ROLE.secret_access_key,
           "AWS_SESSION_TOKEN": ROLE.session_token or ""}
    ran = run_isolated(root, SIGN_FROM_PYC_ONLY, json.dumps(event), env, python=python, flags=("-I", "-S", "-B"))
    assert ran["dont_write_bytecode"] == 1 and ran["isolated"] == 1
    assert verify_as_s3(event, ran["returned"], s3_for(ROLE)) is not None
    assert {str(p): p.stat().st_mtime for p in root.rglob("*")} == before  # nothing written

    # The control: the same tree without edge's .pyc files must fail, or this test could not see a compile.
    for path in [root / "edge", root / "edge" / "__pycache__"]:
        path.chmod(0o755)
    shutil.rmtree(root / "edge" / "__pycache__")
    done = subprocess.run([python, "-I", "-S", "-B", "-c", f"import sys; sys.path.insert(0, {str(root)!r}); "
                           "import edge.handler"], capture_output=True, text=True, cwd=root, env={})
    assert done.returncode != 0 and "compiled from source: edge/" in done.stderr


def test_the_build_refuses_a_zip_whose_modules_compile_at_import(package313: PackageResult, tmp_path: Path) -> None:
    python = target_python("python3.13")
    root = extract(package313.path, tmp_path / "zip")
    (root / "edge" / "__pycache__" / "signing.cpython-313.pyc").unlink()
    # A .pyc of another Python version (its magic number) is not loaded either.
    stale = root / "edge" / "__pycache__" / "headers.cpython-313.pyc"
    stale.write_bytes(b"\x00\x00\r\n" + stale.read_bytes()[4:])
    with pytest.raises(PackagingError, match=r"^Python 3\.13\.\d+ compiled edge/headers\.py, edge/signing\.py at "
                                             r"import instead of loading the \.pyc files in the zip$"):
        packaging.run_smoke(root, python, BAKED, expect_bytecode=True)


def test_without_a_target_interpreter_the_check_says_what_it_ran(
    package313: PackageResult, pip_cache: Path, tmp_path: Path
) -> None:
    # GIVEN no CPython 3.13 found, and the python3.13 zip's own wheel
    pip_download(tmp_path / "wheels", pip_cache, "--platform", "manylinux2014_x86_64", "awscrt==0.38.0")
    (target_wheel,) = (tmp_path / "wheels").glob("*.whl")
    (tmp_path / "work").mkdir()
    # WHEN the isolation check runs on the host
    smoke = packaging.smoke_check(package313.path, "python3.13", BAKED, [target_wheel], tmp_path / "work",
                                  target_python=None, cache_dir=pip_cache)
    # THEN it signs, and says whether it ran the zip as built or swapped in the host's build of the same version
    assert smoke.authorization.startswith("AWS4-ECDSA-P256-SHA256")
    if sys.version_info[:2] == (3, 13):
        assert smoke.mode == "host"
    else:
        assert smoke.mode == "stand-in" and smoke.python == sys.version.split()[0]
        assert "awscrt-0.38.0-cp311-abi3" in smoke.detail and f"for {target_wheel.name}" in smoke.detail


# --- finding the target's interpreter ---------------------------------------------------------------------------


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
    assert packaging.find_python("python3.13") == str(tmp_path / "pyenv-root/versions/3.13.2/bin/python3.13")


def test_without_pyenv_on_path_pyenv_root_is_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, not_the_host_version: None
) -> None:
    fake_pyenv(tmp_path)
    (tmp_path / "bin" / "pyenv").unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv-root"))
    assert packaging.find_python("python3.13") == str(tmp_path / "pyenv-root/versions/3.13.2/bin/python3.13")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "nothing-here"))
    assert packaging.find_python("python3.13") is None


def test_python_on_path_comes_before_pyenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, not_the_host_version: None
) -> None:
    env = fake_pyenv(tmp_path)
    on_path = fake_python(tmp_path / "bin" / "python3.13", "3.13.1")
    monkeypatch.setenv("PATH", env["PATH"])
    assert packaging.find_python("python3.13") == on_path
    assert packaging.find_python("python3.13", on_path) == on_path
    with pytest.raises(PackagingError, match=r"3\.13\.9.* is not CPython 3\.13 on Linux x86_64$"):
        packaging.find_python("python3.13", str(tmp_path / "pyenv-root/versions/3.13.9t/bin/python3.13"))


def test_an_explicit_interpreter_of_another_version_is_refused() -> None:
    with pytest.raises(PackagingError, match=r" is not CPython 3\.13 on Linux x86_64$"):
        packaging.find_python("python3.13", BASE_PYTHON if sys.version_info[:2] != (3, 13) else "/bin/false")


def test_without_the_target_python_the_zip_has_no_pyc_and_says_so_or_is_refused(
    pip_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sys.version_info[:2] == (3, 12):
        pytest.skip("the host itself is the target's version")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "empty"))
    with pytest.raises(PackagingError, match=r"^no CPython 3\.12 found to compile the \.pyc files \(looked for "
                                             r"python3\.12 on PATH and in .*empty/versions\); pass --check-python"):
        packaging.build_package("python3.12", BAKED, tmp_path / "refused", ROOT / "requirements.txt",
                                cache_dir=pip_cache, require_bytecode=True)
    assert not (tmp_path / "refused").exists()
    result = packaging.build_package("python3.12", BAKED, tmp_path / "dist", ROOT / "requirements.txt",
                                     cache_dir=pip_cache)
    assert [n for n in zipfile.ZipFile(result.path).namelist() if n.endswith(".pyc") or "__pycache__" in n] == []
    assert (result.bytecode.python, result.bytecode.files) == (None, 0)
    assert "bytecode: none: no CPython 3.12 found (looked for python3.12 on PATH and in " in packaging.summary(result)
    assert "every cold start compiles" in packaging.summary(result)


# --- wrong platforms are refused, saying why --------------------------------------------------------------------


@pytest.mark.parametrize("kind, reason", [("aarch64", "manylinux2014_aarch64"), ("macos", "macosx_10_15_universal2")],
                         ids=["a Linux arm64 wheel", "a macOS wheel"])
def test_a_wheel_for_another_platform_is_refused(wrong_wheels: Dict[str, Path], kind: str, reason: str) -> None:
    with pytest.raises(PackagingError, match=f"built for {reason}(, [a-z0-9_]+)?, not manylinux2014 x86_64"):
        packaging.check_wheel(wrong_wheels[kind], "python3.13")


@pytest.mark.parametrize("kind, reason", [("aarch64", r"ELF for AArch64 \(0xb7\), not x86-64"),
                                          ("macos", r"Mach-O \(macOS\) library, not ELF x86-64")],
                         ids=["an arm64 ELF library", "a macOS library"])
def test_a_native_library_for_another_platform_is_refused(
    wrong_wheels: Dict[str, Path], tmp_path: Path, kind: str, reason: str
) -> None:
    packaging.unpack_wheel(wrong_wheels[kind], tmp_path)
    with pytest.raises(PackagingError, match=f"^_awscrt.abi3.so: {reason}$"):
        packaging.check_native_libraries(tmp_path, "python3.13")


def test_a_forced_wrong_platform_fails_the_build_and_writes_nothing(
    wrong_wheels: Dict[str, Path], pip_cache: Path, tmp_path: Path
) -> None:
    # pip is made to pick the arm64 wheel; the tag check must still stop it.
    options = ["--no-index", "--find-links", str(wrong_wheels["aarch64"].parent), "--platform", "manylinux2014_aarch64"]
    with pytest.raises(PackagingError, match="built for manylinux2014_aarch64, .*not manylinux2014 x86_64"):
        packaging.build_package("python3.13", BAKED, tmp_path / "dist", ROOT / "requirements.txt",
                                pip_options=options, cache_dir=pip_cache)
    assert not (tmp_path / "dist").exists()


def test_a_requirement_without_a_manylinux_x86_64_wheel_is_refused(
    wrong_wheels: Dict[str, Path], pip_cache: Path, tmp_path: Path
) -> None:
    options = ["--no-index", "--find-links", str(wrong_wheels["aarch64"].parent)]
    with pytest.raises(PackagingError, match=r"^no wheel of awscrt==0.38.0 for python3.13 on manylinux2014_x86_64$"):
        packaging.build_package("python3.13", BAKED, tmp_path, ROOT / "requirements.txt",
                                pip_options=options, cache_dir=pip_cache)


@pytest.mark.parametrize("filename, runtime, reason", [
    ("awscrt-0.38.0-cp39-cp39-manylinux2014_x86_64.whl", "python3.13", "built for cp39-cp39, which python3.13"),
    ("awscrt-0.38.0-cp313-abi3-manylinux2014_x86_64.whl", "python3.12", "built for cp313-abi3, which python3.12"),
    ("awscrt-0.38.0-cp313-abi3-manylinux_2_28_x86_64.whl", "python3.13", "built for manylinux_2_28_x86_64, not"),
    ("awscrt-0.38.0-cp313-abi3-linux_x86_64.whl", "python3.13", "built for linux_x86_64, not"),
], ids=["a cp39 build for python3.13", "a 3.13 abi3 build for python3.12", "a glibc 2.28 build",
        "a non-manylinux build"])
def test_wheel_tags_that_do_not_fit_are_refused(filename: str, runtime: str, reason: str) -> None:
    with pytest.raises(PackagingError, match=reason):
        packaging.check_wheel(Path(filename), runtime)


@pytest.mark.parametrize("filename, runtime", [
    ("awscrt-0.38.0-cp311-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "python3.13"),
    ("awscrt-0.38.0-cp39-cp39-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "python3.9"),
    ("six-1.17.0-py2.py3-none-any.whl", "python3.10"),
], ids=["an older abi3 build", "a version-specific build", "a pure-Python wheel"])
def test_wheel_tags_that_fit_are_accepted(filename: str, runtime: str) -> None:
    assert packaging.check_wheel(Path(filename), runtime).filename == filename


def elf_header(elf_class: int, data: int, machine: int) -> bytes:
    return b"\x7fELF" + bytes([elf_class, data, 1]) + bytes(9) + b"\x03\x00" + machine.to_bytes(2, "little") + bytes(44)


@pytest.mark.parametrize("name, head, reason", [
    ("lib.so", elf_header(1, 1, 0x03), "32-bit ELF, not 64-bit"),
    ("lib.so.1", elf_header(2, 2, 0x3E), "big-endian ELF, not little-endian"),
    ("_x.cpython-39-x86_64-linux-gnu.so", elf_header(2, 1, 0x3E), "extension module for Python 3.9, not python3.13"),
    ("lib.dylib", b"\xcf\xfa\xed\xfe" + bytes(60), r"Mach-O \(macOS\) library"),
    ("x.pyd", b"MZ" + bytes(62), "Windows DLL"),
    ("empty.so", b"", "not an ELF object"),
    ("helper", elf_header(2, 1, 0xB7), "ELF for AArch64"),
], ids=["32-bit", "big-endian", "another Python's extension", "macOS", "Windows", "not ELF", "an unnamed binary"])
def test_native_files_that_are_not_elf_x86_64_are_refused(tmp_path: Path, name: str, head: bytes, reason: str) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / name).write_bytes(head)
    with pytest.raises(PackagingError, match=f"^pkg/{name}: {reason}"):
        packaging.check_native_libraries(tmp_path, "python3.13")


def test_an_elf_x86_64_library_passes(tmp_path: Path) -> None:
    (tmp_path / "_x.abi3.so").write_bytes(elf_header(2, 1, 0x3E))
    (tmp_path / "data.txt").write_text("not native")
    assert packaging.check_native_libraries(tmp_path, "python3.13") == ["_x.abi3.so"]


def test_a_zip_over_the_limit_is_refused() -> None:
    packaging.check_size(packaging.MAX_ZIP_BYTES - 1)
    with pytest.raises(PackagingError, match="at most 50000000 bytes"):
        packaging.check_size(packaging.MAX_ZIP_BYTES)


# --- refusals of the inputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", ["python3.8", "python3.14", "3.13", "nodejs20.x"])
def test_an_unsupported_runtime_is_refused(runtime: str, tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match=f"unsupported runtime '{runtime}': Lambda@Edge takes python3.9, "):
        packaging.build_package(runtime, Config(), tmp_path)


def test_arm64_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="unsupported architecture 'arm64': Lambda@Edge runs x86_64 only"):
        packaging.build_package("python3.13", Config(), tmp_path, arch="arm64")


def test_options_override_the_config_file_and_both_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "edge.json"
    path.write_text(json.dumps({"log_level": "info", "query_allowlist": ["versionId"]}))
    config = packaging.resolve_config(path, {"allowed_methods": ["get"]})
    assert (config.log_level, config.query_allowlist, config.allowed_methods) == ("INFO", ("versionId",), ("GET",))
    path.write_text(json.dumps({"log_level": "LOUD"}))
    with pytest.raises(ConfigError, match="edge.json: log_level: 'LOUD' is not one of"):
        packaging.resolve_config(path)
    with pytest.raises(ConfigError, match=r"\(command-line options\): allowed_methods: 'POST' is not one of"):
        packaging.resolve_config(None, {"allowed_methods": ["POST"]})


def cli(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/package", *args], cwd=ROOT, capture_output=True, text=True,
                          env=None if env is None else {**os.environ, **env})


@pytest.mark.parametrize("args, reason", [
    (["--runtime", "python3.8"], "unsupported runtime 'python3.8'"),
    (["--arch", "arm64"], "unsupported architecture 'arm64'"),
    (["--method", "POST"], "allowed_methods: 'POST' is not one of GET, HEAD, OPTIONS"),
    (["--failover-header", "X-Amz-Failover"], "failover_header: CloudFront refuses origin custom headers"),
    (["--mrap-host-pattern", "*.mrap..example"], "mrap_host_patterns: not a host pattern"),
    (["--query-param", "X-Amz-Signature"], "query_allowlist: S3 reads 'X-Amz-Signature' as a signature parameter"),
    (["--config", "no-such-file.json"], "unable to read configuration no-such-file.json"),
], ids=["old runtime", "arm64", "a method", "a failover header", "a host pattern", "a query parameter", "no file"])
def test_the_command_refuses_bad_input_in_one_line(args: List[str], reason: str) -> None:
    done = cli(*args)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("package: refused: ") and reason in done.stderr


def test_the_command_refuses_to_build_without_pyc_files_when_told_to(tmp_path: Path) -> None:
    if sys.version_info[:2] == (3, 12):
        pytest.skip("the host itself is the target's version")
    done = cli("--runtime", "python3.12", "--require-pyc", "--out-dir", str(tmp_path / "dist"),
               env={"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path)})
    assert done.returncode == 1 and done.stdout == "" and done.stderr.count("\n") == 1
    assert done.stderr.startswith("package: refused: no CPython 3.12 found to compile the .pyc files")
    assert not (tmp_path / "dist").exists()


def test_the_command_builds_the_same_zip_as_the_api_and_prints_a_summary(
    package313: PackageResult, pip_cache: Path, tmp_path: Path
) -> None:
    package = package313  # the default runtime
    config = tmp_path / "edge.json"
    config.write_text(json.dumps({"failover_header": "X-Secondary-Origin", "log_level": "ERROR"}))
    done = cli("--config", str(config), "--query-param", "versionId", "--method", "get", "--method", "HEAD",
               "--method", "OPTIONS", "--out-dir", str(tmp_path / "dist"), "--pip-cache-dir", str(pip_cache))
    assert done.returncode == 0, done.stderr
    summary: Dict[str, str] = dict(line.split(":", 1) for line in done.stdout.splitlines()  # type: ignore[misc]
                                   if not line.startswith("wheel"))
    assert summary["runtime"].strip() == "python3.13 (x86_64)"
    assert summary["sha256"].strip() == package.sha256
    assert Path(summary["path"].strip()) == tmp_path / "dist" / package.path.name
    assert "cp313-abi3-manylinux2014_x86_64" in done.stdout
    assert "imports and signs in isolation" in done.stderr



# --- the artefact end to end ------------------------------------------------------------------------------------


def test_the_default_zip_serves_both_regions_through_the_local_stack(pip_cache: Path, tmp_path: Path) -> None:
    # GIVEN the zip a user deploys by default (default configuration), built for a runtime the host can load
    result = packaging.build_package("python3.12", None, tmp_path, ROOT / "requirements.txt", cache_dir=pip_cache)
    # WHEN the local CloudFront + MRAP stand-in runs that zip instead of the source tree
    done = subprocess.run([sys.executable, "-m", "infra.local.demo", "--check", "--count", "1", "--zip",
                           str(result.path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    # THEN every client is served by its nearest bucket and the MRAP stand-in verified the zip's signatures
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "\nPASS\n" in done.stdout
    assert "refused 0" in done.stdout and "signature verified 0" not in done.stdout
