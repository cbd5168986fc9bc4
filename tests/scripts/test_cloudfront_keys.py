"""scripts/cloudfront-keys as a person runs it: the key files it writes, what it prints and what it refuses."""
from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cloudfront-keys"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True)


def _private_key_body(path: Path) -> list:
    return [line for line in path.read_text().splitlines() if not line.startswith("-----")]


def test_generate_writes_a_p256_key_readable_by_its_owner_only_and_never_prints_it(tmp_path: Path) -> None:
    done = run("generate", "--out", "links", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    private, public = tmp_path / "links.pem", tmp_path / "links.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    assert serialization.load_pem_public_key(public.read_bytes()).public_numbers() == key.public_key().public_numbers()
    output = done.stdout + done.stderr
    assert "PRIVATE KEY" not in output
    assert not any(line in output for line in _private_key_body(private))
    # the parameter to deploy with, as CloudFormation's --parameters file takes it
    parameters = json.loads(next(line for line in done.stdout.splitlines() if line.strip().startswith("[")))
    assert parameters[0] == {"ParameterKey": "SignedUrlPublicKey1", "ParameterValue": public.read_text()}


def test_generate_rsa_is_2048_bits(tmp_path: Path) -> None:
    assert run("generate", "--type", "rsa", "--out", "r", cwd=tmp_path).returncode == 0

    key = serialization.load_pem_private_key((tmp_path / "r.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    assert run("generate", "--out", "links", cwd=tmp_path).returncode == 0
    before = (tmp_path / "links.pem").read_bytes()

    again = run("generate", "--out", "links", cwd=tmp_path)

    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "cloudfront-keys: links.pem already exists; not overwriting a key (choose another --out)"]
    assert (tmp_path / "links.pem").read_bytes() == before


def test_rotate_adds_the_new_key_in_the_free_slot_then_removes_the_old(tmp_path: Path) -> None:
    assert run("generate", "--out", "old", cwd=tmp_path).returncode == 0
    old = (tmp_path / "old.pub.pem").read_text()

    done = run("rotate", "--current-public-key", "old.pub.pem", "--current-slot", "1", "--out", "new",
               cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    new = (tmp_path / "new.pub.pem").read_text()
    assert stat.S_IMODE((tmp_path / "new.pem").stat().st_mode) == 0o600
    step1, step3 = [json.loads(line) for line in done.stdout.splitlines() if line.strip().startswith("[")]
    assert step1 == [{"ParameterKey": "SignedUrlPublicKey1", "ParameterValue": old},
                     {"ParameterKey": "SignedUrlPublicKey2", "ParameterValue": new}]
    assert step3 == [{"ParameterKey": "SignedUrlPublicKey1", "ParameterValue": ""},
                     {"ParameterKey": "SignedUrlPublicKey2", "ParameterValue": new}]
    assert "SignedUrlKeyPairId2" in done.stdout and "PRIVATE KEY" not in done.stdout


def test_rotate_refuses_a_current_key_that_is_not_a_public_key(tmp_path: Path) -> None:
    (tmp_path / "old.pub.pem").write_text("not a key\n")

    done = run("rotate", "--current-public-key", "old.pub.pem", "--current-slot", "2", cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip() == "cloudfront-keys: old.pub.pem is not a PEM public key (-----BEGIN PUBLIC KEY-----)"
    assert list(tmp_path.iterdir()) == [tmp_path / "old.pub.pem"]  # nothing generated
