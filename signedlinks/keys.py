"""Key pairs for CloudFront signed URLs: generate one (ECDSA P-256 or RSA 2048, the types a key group accepts),
write the private key readable by its owner only, and plan a rotation through the template's two key slots.

The private key is written once, with mode 0600, to a file that must not exist yet; it is never printed or logged.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = ["KEY_TYPES", "KeyFiles", "KeyFileError", "generate_key_pair", "slot_parameters",
           "rotation_plan", "template_parameter_names", "update_command", "write_parameters"]

KEY_TYPES = ("ecdsa", "rsa")
SLOT_PARAMETERS = ("SignedUrlPublicKey1", "SignedUrlPublicKey2")


class KeyFileError(ValueError):
    """A key file problem, said in one line."""


@dataclass(frozen=True)
class KeyFiles:
    private_key: Path
    public_key: Path
    public_pem: str


def _new_private_key(key_type: str) -> object:
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise KeyFileError(f"key type must be one of {', '.join(KEY_TYPES)}: {key_type!r}")


def generate_key_pair(prefix: Path, key_type: str = "ecdsa") -> KeyFiles:
    """Write `<prefix>.pem` (private, PKCS#8, mode 0600) and `<prefix>.pub.pem` (public, SubjectPublicKeyInfo,
    the form CloudFront's EncodedKey takes). Neither file may exist already."""
    key = _new_private_key(key_type)
    private_path = Path(f"{prefix}.pem")
    public_path = Path(f"{prefix}.pub.pem")
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists; not overwriting a key (choose another --out)")
    if not private_path.parent.is_dir():
        raise KeyFileError(f"no such directory: {private_path.parent}")
    private_pem = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    # O_EXCL: never replace a file that appeared meanwhile; 0600 from the start, not chmod after writing.
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    os.chmod(private_path, 0o600)  # whatever the umask said
    with open(public_path, "x", encoding="ascii") as handle:
        handle.write(public_pem)
    return KeyFiles(private_path, public_path, public_pem)


def template_parameter_names(template: Path) -> List[str]:
    try:
        declared = json.loads(Path(template).read_text(encoding="utf-8")).get("Parameters") or {}
    except (OSError, ValueError) as error:
        raise KeyFileError(f"unable to read the template {template}: {getattr(error, 'strerror', error)}") from None
    missing = [name for name in SLOT_PARAMETERS if name not in declared]
    if missing:
        raise KeyFileError(f"{template} has no {missing[0]} parameter: not a template with signed-URL key slots")
    return list(declared)


def slot_parameters(changes: Dict[str, str], names: List[str]) -> List[Dict[str, object]]:
    """A `--parameters file://...` document for update-stack: the parameters in `changes` set, every other one of
    the template kept as it is (UsePreviousValue), so that an update touches only the slot it means to; a filled
    slot is never rewritten in place."""
    return [{"ParameterKey": name, "ParameterValue": changes[name]} if name in changes
            else {"ParameterKey": name, "UsePreviousValue": True} for name in names]


def write_parameters(path: Path, parameters: List[Dict[str, object]]) -> Path:
    if path.exists():
        raise KeyFileError(f"{path} already exists; not overwriting it (choose another --out)")
    path.write_text(json.dumps(parameters, indent=2) + "\n", encoding="utf-8")
    return path


def update_command(stack_name: str, parameters_file: Path) -> str:
    return (f"aws cloudformation update-stack --region us-east-1 --stack-name {stack_name} --use-previous-template "
            f"--capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND "
            f"--parameters file://{parameters_file}")


def rotation_plan(current_slot: int, step1_file: Path, step3_file: Path, stack_name: str) -> List[str]:
    """The three steps of a rotation (CloudFront Developer Guide, "Rotate key pairs"), as lines to print."""
    if current_slot not in (1, 2):
        raise KeyFileError(f"the current key is in slot 1 or 2, not {current_slot}")
    old, new = SLOT_PARAMETERS[current_slot - 1], SLOT_PARAMETERS[2 - current_slot]
    return [
        f"1. Add the new public key to the key group ({new} set, {old} and everything else unchanged):",
        "   " + update_command(stack_name, step1_file),
        f"2. Switch the application to the new private key and key pair id (stack output "
        f"SignedUrlKeyPairId{2 if current_slot == 1 else 1}); links signed with the old key keep working.",
        f"3. Once the last link signed with the old key has expired, remove the old key ({old} empty):",
        "   " + update_command(stack_name, step3_file),
    ]
