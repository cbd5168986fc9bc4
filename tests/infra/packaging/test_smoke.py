"""The import-and-sign check: run under the target's CPython when there is one, else the host's (swapping in the
host's build of a wheel it cannot load, and saying so); a zip that compiles its modules at import is refused."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edge.config import Config
from infra.packaging import PackageResult
from infra.packaging.errors import PackagingError
from infra.packaging.smoke import SMOKE_HOST, run_smoke, smoke_check, smoke_event

from .helpers import BAKED, extract, pip_download, target_python


def test_the_smoke_event_asks_for_a_host_the_configuration_signs() -> None:
    event = smoke_event(Config())
    assert event["Records"][0]["cf"]["request"]["origin"]["custom"]["domainName"] == SMOKE_HOST
    assert event["Records"][0]["cf"]["request"]["uri"] != "/"  # the bucket root is answered 404, unsigned
    other = Config(mrap_host_patterns=("*.mrap.example.test",))
    host = smoke_event(other)["Records"][0]["cf"]["request"]["headers"]["host"][0]["value"]
    assert host == "mfzwi23gnjvgw.mrap.example.test" and other.is_mrap_host(host)


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


def test_the_python313_zip_imports_and_signs_under_python313(package313: PackageResult, tmp_path: Path) -> None:
    root = extract(package313.path, tmp_path / "zip")
    python, authorization = run_smoke(root, target_python("python3.13"), BAKED, expect_bytecode=True)
    assert python.startswith("3.13.") and authorization.startswith("AWS4-ECDSA-P256-SHA256")
    assert package313.smoke.mode == "target" and package313.smoke.python == python


def test_the_build_refuses_a_zip_whose_modules_compile_at_import(package313: PackageResult, tmp_path: Path) -> None:
    python = target_python("python3.13")
    root = extract(package313.path, tmp_path / "zip")
    (root / "edge" / "__pycache__" / "signing.cpython-313.pyc").unlink()
    # A .pyc of another Python version (its magic number) is not loaded either.
    stale = root / "edge" / "__pycache__" / "headers.cpython-313.pyc"
    stale.write_bytes(b"\x00\x00\r\n" + stale.read_bytes()[4:])
    with pytest.raises(PackagingError, match=r"^Python 3\.13\.\d+ compiled edge/headers\.py, edge/signing\.py at "
                                             r"import instead of loading the \.pyc files in the zip$"):
        run_smoke(root, python, BAKED, expect_bytecode=True)


def test_a_zip_whose_configuration_is_not_the_built_one_is_refused(package313: PackageResult, tmp_path: Path) -> None:
    root = extract(package313.path, tmp_path / "zip")
    with pytest.raises(PackagingError, match=r"^the function reads .* from the zip, not "):
        run_smoke(root, target_python("python3.13"), Config())


def test_without_a_target_interpreter_the_check_says_what_it_ran(
    package313: PackageResult, pip_cache: Path, tmp_path: Path
) -> None:
    # GIVEN no CPython 3.13 found, and the python3.13 zip's own wheel
    pip_download(tmp_path / "wheels", pip_cache, "--platform", "manylinux2014_x86_64", "awscrt==0.38.0")
    (target_wheel,) = (tmp_path / "wheels").glob("*.whl")
    (tmp_path / "work").mkdir()
    # WHEN the isolation check runs on the host
    smoke = smoke_check(package313.path, "python3.13", BAKED, [target_wheel], tmp_path / "work",
                        target_python=None, cache_dir=pip_cache)
    # THEN it signs, and says whether it ran the zip as built or swapped in the host's build of the same version
    assert smoke.authorization.startswith("AWS4-ECDSA-P256-SHA256")
    if sys.version_info[:2] == (3, 13):
        assert smoke.mode == "host"
    else:
        assert smoke.mode == "stand-in" and smoke.python == sys.version.split()[0]
        assert "awscrt-0.38.0-cp311-abi3" in smoke.detail and f"for {target_wheel.name}" in smoke.detail
