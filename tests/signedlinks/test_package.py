"""`signedlinks` installs on its own: a wheel built from its directory carries only the package and its two
dependencies, installs into a fresh virtual environment, imports from there and runs its command."""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path


from infra.version import VERSION

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "signedlinks"


def test_its_version_is_the_products() -> None:
    import signedlinks
    metadata = tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))
    assert signedlinks.__version__ == VERSION
    assert metadata["project"]["dynamic"] == ["version"]
    assert metadata["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "signedlinks.__version__"}


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done


def test_a_wheel_installs_into_a_fresh_environment_and_imports_from_there(tmp_path: Path) -> None:
    source = tmp_path / "source" / "signedlinks"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"),
         str(source), cwd=tmp_path)
    wheel, = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert sorted(n for n in names if ".dist-info/" not in n) == [
        "signedlinks/__init__.py", "signedlinks/commands.py", "signedlinks/keys.py", "signedlinks/signer.py"]
    requires = sorted(line.split(":", 1)[1].strip() for line in metadata.splitlines()
                      if line.startswith("Requires-Dist:"))
    assert requires == ["botocore>=1.20", "cryptography>=3.1"]

    fresh = tmp_path / "fresh"
    _run(sys.executable, "-m", "venv", str(fresh), cwd=tmp_path)
    fresh_python = fresh / "bin" / "python"
    # The dependencies come from this environment's site-packages (no download); pip still checks them.
    site = Path(_run(str(fresh_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=tmp_path).stdout.strip())
    (site / "shared-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run(str(fresh_python), "-m", "pip", "install", "--quiet", "--no-index", str(wheel), cwd=tmp_path)

    where = _run(str(fresh_python), "-I", "-c", "import signedlinks; print(signedlinks.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(fresh)
    usage = _run(str(fresh / "bin" / "sign-url"), "--help", cwd=tmp_path)
    assert "--key-pair-id" in usage.stdout
