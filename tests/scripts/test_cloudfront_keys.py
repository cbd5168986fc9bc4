"""scripts/cloudfront-keys as a person runs it: the key files it writes, the stack parameter files (which change
only a key slot and keep every other parameter), what it prints and what it refuses."""
from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Dict

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cloudfront-keys"
TEMPLATE_PARAMETERS = list(json.loads((ROOT / "cloudformation.template").read_text())["Parameters"])


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True)


def _changes(path: Path) -> Dict[str, str]:
    """The parameters a --parameters file sets; every other one of the template must be kept as deployed."""
    document = json.loads(path.read_text())
    assert [entry["ParameterKey"] for entry in document] == TEMPLATE_PARAMETERS
    kept = [entry for entry in document if entry.get("UsePreviousValue") is True and "ParameterValue" not in entry]
    changed = {entry["ParameterKey"]: entry["ParameterValue"] for entry in document if "ParameterValue" in entry}
    assert len(kept) + len(changed) == len(document)
    return changed


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
    assert _changes(tmp_path / "links.parameters.json") == {"SignedUrlPublicKey1": public.read_text()}
    assert "--use-previous-template" in done.stdout and "file://links.parameters.json" in done.stdout


def test_generate_rsa_is_2048_bits(tmp_path: Path) -> None:
    assert run("generate", "--type", "rsa", "--out", "r", cwd=tmp_path).returncode == 0

    key = serialization.load_pem_private_key((tmp_path / "r.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    assert run("generate", "--out", "links", cwd=tmp_path).returncode == 0
    before = (tmp_path / "links.pem").read_bytes()
    (tmp_path / "links.parameters.json").unlink()

    again = run("generate", "--out", "links", cwd=tmp_path)

    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "cloudfront-keys: links.pem already exists; not overwriting a key (choose another --out)"]
    assert (tmp_path / "links.pem").read_bytes() == before


def test_rotate_adds_the_new_key_in_the_free_slot_then_empties_the_old_one(tmp_path: Path) -> None:
    done = run("rotate", "--current-slot", "1", "--out", "new", "--stack-name", "images", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    new = (tmp_path / "new.pub.pem").read_text()
    assert stat.S_IMODE((tmp_path / "new.pem").stat().st_mode) == 0o600
    # step 1: both keys in the group (slot 1 kept as deployed); step 3: slot 1 emptied, slot 2 kept
    assert _changes(tmp_path / "new.step1.parameters.json") == {"SignedUrlPublicKey2": new}
    assert _changes(tmp_path / "new.step3.parameters.json") == {"SignedUrlPublicKey1": ""}
    assert "--stack-name images" in done.stdout and "SignedUrlKeyPairId2" in done.stdout
    assert "PRIVATE KEY" not in done.stdout


def test_rotate_from_slot_2_uses_slot_1(tmp_path: Path) -> None:
    assert run("rotate", "--current-slot", "2", "--out", "new", cwd=tmp_path).returncode == 0

    new = (tmp_path / "new.pub.pem").read_text()
    assert _changes(tmp_path / "new.step1.parameters.json") == {"SignedUrlPublicKey1": new}
    assert _changes(tmp_path / "new.step3.parameters.json") == {"SignedUrlPublicKey2": ""}


def test_a_template_without_key_slots_is_refused_before_any_key_is_made(tmp_path: Path) -> None:
    (tmp_path / "old.template").write_text(json.dumps({"Parameters": {"MrapName": {"Type": "String"}}}))

    done = run("generate", "--template", "old.template", cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip() == ("cloudfront-keys: old.template has no SignedUrlPublicKey1 parameter: not a "
                                   "template with signed-URL key slots")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.template"]
