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

__all__ = ["KEY_TYPES", "KeyFiles", "KeyFileError", "generate_key_pair", "read_public_key", "slot_parameters",
           "rotation_plan"]

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


def read_public_key(path: Path) -> str:
    try:
        pem = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(f"unable to read public key {path}: {getattr(error, 'strerror', error)}") from None
    try:
        serialization.load_pem_public_key(pem.encode("ascii"))
    except ValueError:
        raise KeyFileError(f"{path} is not a PEM public key (-----BEGIN PUBLIC KEY-----)") from None
    return pem


def slot_parameters(slots: Dict[str, str]) -> List[Dict[str, str]]:
    """CloudFormation parameters (the `--parameters file://...` form) for the two key slots."""
    return [{"ParameterKey": name, "ParameterValue": slots.get(name, "")} for name in SLOT_PARAMETERS]


def rotation_plan(current_slot: int, current_public_pem: str, new_public_pem: str) -> List[str]:
    """The three steps of a rotation (CloudFront Developer Guide, "Rotate key pairs"), as lines to print."""
    if current_slot not in (1, 2):
        raise KeyFileError(f"the current key is in slot 1 or 2, not {current_slot}")
    old, new = SLOT_PARAMETERS[current_slot - 1], SLOT_PARAMETERS[2 - current_slot]
    both = slot_parameters({old: current_public_pem, new: new_public_pem})
    only_new = slot_parameters({new: new_public_pem})
    return [
        f"1. Add the new public key to the key group: update the stack with {old} unchanged and {new} set:",
        "   " + json.dumps(both),
        f"2. Switch the application to the new private key and key pair id (stack output "
        f"SignedUrlKeyPairId{2 if current_slot == 1 else 1}); links signed with the old key keep working.",
        f"3. Once the last link signed with the old key has expired, remove it: update the stack with {old} empty:",
        "   " + json.dumps(only_new),
    ]
