"""The signed-URL part of the template as the local stand-in reads it: which keys the default behaviour trusts
for given key slot parameters (conditions and Fn::If evaluated as CloudFormation would), and that with no key
nothing changes."""
from __future__ import annotations

import json
import re
from typing import Any, Dict

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from infra.local.cloudfront.settings import TEMPLATE_FILE, load_settings, settings_from_template
from infra.local.cloudfront.signed_requests import local_public_key_id

EC_PUBLIC = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
RSA_PUBLIC = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def template() -> Dict[str, Any]:
    return json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))


def test_without_a_key_the_behaviour_trusts_no_key_and_the_rest_is_unchanged(template: Dict[str, Any]) -> None:
    with_keys = load_settings(parameters={"SignedUrlPublicKey1": EC_PUBLIC})
    without = load_settings()

    assert without.trusted_keys == ()
    assert with_keys.trusted_keys == ((local_public_key_id(EC_PUBLIC), EC_PUBLIC),)
    assert without == type(without)(**{**with_keys.__dict__, "trusted_keys": ()})


@pytest.mark.parametrize("slots, expected", [
    ({"SignedUrlPublicKey1": EC_PUBLIC}, [EC_PUBLIC]),
    ({"SignedUrlPublicKey2": RSA_PUBLIC}, [RSA_PUBLIC]),
    ({"SignedUrlPublicKey1": EC_PUBLIC, "SignedUrlPublicKey2": RSA_PUBLIC}, [EC_PUBLIC, RSA_PUBLIC]),
    ({"SignedUrlPublicKey1": "", "SignedUrlPublicKey2": ""}, []),
], ids=["slot-1", "slot-2", "both-during-rotation", "none"])
def test_each_filled_slot_is_a_key_of_the_group(template: Dict[str, Any], slots: Dict[str, str],
                                                expected: list) -> None:
    keys = settings_from_template(template, parameters=slots).trusted_keys

    assert [pem for _, pem in keys] == expected
    assert len({key_id for key_id, _ in keys}) == len(expected)
    assert all(re.fullmatch(r"K[A-Z2-7]{13}", key_id) for key_id, _ in keys)


def test_the_behaviour_is_what_requires_signatures(template: Dict[str, Any]) -> None:
    # Without TrustedKeyGroups on the behaviour, keys in the stack would not be enforced.
    behaviour = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    del behaviour["TrustedKeyGroups"]

    assert settings_from_template(template, parameters={"SignedUrlPublicKey1": EC_PUBLIC}).trusted_keys == ()


def test_the_key_slot_pattern_accepts_a_pem_public_key_and_nothing_else(template: Dict[str, Any]) -> None:
    pattern = template["Parameters"]["SignedUrlPublicKey1"]["AllowedPattern"]

    assert re.fullmatch(pattern, EC_PUBLIC) and re.fullmatch(pattern, RSA_PUBLIC) and re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n")
    assert template["Parameters"]["SignedUrlPublicKey2"]["AllowedPattern"] == pattern
