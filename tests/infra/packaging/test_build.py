"""The whole build: the zip holds the function and awscrt and nothing Lambda does not need, the function imports and
signs from it alone (S3 accepts the signature), a wrong target writes nothing, and the default zip serves both
Regions through the local stack."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict

import pytest

from edge.config import Config
from infra.packaging import PackageResult, PackagingError, build_package
from infra.packaging.smoke import smoke_event
from tests.helpers import ROLE, s3_for, verify_as_s3

from .helpers import BAKED, REQUIREMENTS, ROOT, extract, run_isolated


def test_the_zip_holds_the_function_and_awscrt_and_nothing_lambda_does_not_need(package: PackageResult) -> None:
    names = zipfile.ZipFile(package.path).namelist()
    for needed in ("edge/handler.py", "edge/signing.py", "edge/mrap-edge.json", "awscrt/auth.py", "_awscrt.abi3.so",
                   "THIRD_PARTY_LICENSES/awscrt/LICENSE", "THIRD_PARTY_LICENSES/awscrt/NOTICE"):
        assert needed in names
    unwanted = [n for n in names if ".dist-info" in n or n.startswith(("boto3/", "botocore/", "tests/"))]
    assert unwanted == []


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
    event = smoke_event(BAKED)
    env = {"AWS_ACCESS_KEY_ID": ROLE.access_key_id, "AWS_SECRET_ACCESS_KEY": ROLE.secret_access_key,
           "AWS_SESSION_TOKEN": ROLE.session_token or ""}
    ran = run_isolated(root.resolve(), SIGN_FROM_ZIP, json.dumps(event), env)
    assert ran["outside"] == [] and ran["stray"] == []
    # The independent verifier recomputes the SigV4A signature as S3 would.
    verified = verify_as_s3(event, ran["returned"], s3_for(ROLE))
    assert verified is not None


def test_a_forced_wrong_platform_fails_the_build_and_writes_nothing(
    wrong_wheels: Dict[str, Path], pip_cache: Path, tmp_path: Path
) -> None:
    # pip is made to pick the arm64 wheel; the tag check must still stop it.
    options = ["--no-index", "--find-links", str(wrong_wheels["aarch64"].parent), "--platform", "manylinux2014_aarch64"]
    with pytest.raises(PackagingError, match="built for manylinux2014_aarch64, .*not manylinux2014 x86_64"):
        build_package("python3.13", BAKED, tmp_path / "dist", REQUIREMENTS, pip_options=options, cache_dir=pip_cache)
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize("runtime, arch, reason", [
    ("python3.11", "x86_64", "unsupported runtime 'python3.11': the stack takes python3.13, python3.12"),
    ("python3.13", "arm64", "unsupported architecture 'arm64': Lambda@Edge runs x86_64 only"),
], ids=["a runtime the template does not allow", "arm64"])
def test_a_target_it_cannot_be_is_refused_before_anything_is_downloaded(
    tmp_path: Path, runtime: str, arch: str, reason: str
) -> None:
    with pytest.raises(PackagingError, match=f"^{reason}"):
        build_package(runtime, Config(), tmp_path / "dist", tmp_path / "no-requirements.txt", arch=arch)
    with pytest.raises(PackagingError, match="^requirements file .*no-requirements.txt not found$"):
        build_package("python3.13", Config(), tmp_path / "dist", tmp_path / "no-requirements.txt")
    assert not (tmp_path / "dist").exists()


def test_the_default_zip_serves_both_regions_through_the_local_stack(pip_cache: Path, tmp_path: Path) -> None:
    # GIVEN the zip a user deploys by default (default configuration), built for a runtime the host can load
    result = build_package("python3.12", None, tmp_path, REQUIREMENTS, cache_dir=pip_cache)
    # WHEN the local CloudFront + MRAP stand-in runs that zip instead of the source tree
    done = subprocess.run([sys.executable, "-m", "infra.local.demo", "--check", "--count", "1", "--zip",
                           str(result.path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    # THEN every client is served by its nearest bucket and the MRAP stand-in verified the zip's signatures
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "\nPASS\n" in done.stdout
    assert "refused 0" in done.stdout and "signature verified 0" not in done.stdout
