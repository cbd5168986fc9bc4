"""The link signer's output checked against the Developer Guide's text: the exact policy bytes, CloudFront's
base64, the query parameters and cookie names, signatures that verify with the public key, and refusals of what
CloudFront would refuse or misread."""
from __future__ import annotations

import base64
import datetime
import json
from typing import Any, Dict
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from signedlinks import (
    LinkSigner,
    SignedLinksError,
    canned_policy,
    cloudfront_b64encode,
    custom_policy,
    set_cookie_headers,
)

NOW = 1_796_000_000.0
KEY_ID = "K2JCJMDEHXQW5F"
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def signer(key: Any = EC_KEY, hash_algorithm: str = "SHA256") -> LinkSigner:
    return LinkSigner(KEY_ID, pem(key), hash_algorithm=hash_algorithm, clock=lambda: NOW)


def decode(value: str) -> bytes:
    return base64.b64decode(value.replace("-", "+").replace("_", "=").replace("~", "/"))


def verify(key: Any, signature: bytes, message: bytes, sha256: bool) -> None:
    digest = hashes.SHA256() if sha256 else hashes.SHA1()
    if isinstance(key, rsa.RSAPrivateKey):
        key.public_key().verify(signature, message, padding.PKCS1v15(), digest)
    else:
        key.public_key().verify(signature, message, ec.ECDSA(digest))


def params(url: str) -> Dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_the_canned_policy_is_the_guides_text_without_white_space() -> None:
    assert canned_policy("https://d111111abcdef8.cloudfront.net/image.jpg", 1767290400) == (
        '{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/image.jpg",'
        '"Condition":{"DateLessThan":{"AWS:EpochTime":1767290400}}}]}')


def test_cloudfronts_base64_replaces_plus_equals_and_slash() -> None:
    data = bytes([0xFB, 0xEF, 0xFF, 0x3F])  # standard base64 "++//Pw=="

    assert base64.b64encode(data) == b"++//Pw=="
    assert cloudfront_b64encode(data) == "--~~Pw__"


@pytest.mark.parametrize("key", [EC_KEY, RSA_KEY], ids=["ecdsa-p256", "rsa-2048"])
@pytest.mark.parametrize("hash_algorithm", ["SHA256", "SHA1"])
def test_a_canned_url_signs_the_canned_policy_of_the_url_with_its_query(key: Any, hash_algorithm: str) -> None:
    url = "https://d111111abcdef8.cloudfront.net/image.jpg?color=red&size=medium"

    signed = signer(key, hash_algorithm).url(url, expires_in=3600)

    assert signed.startswith(url + "&Expires=")
    values = params(signed)
    assert values["Expires"] == str(int(NOW) + 3600) and values["Key-Pair-Id"] == KEY_ID
    assert "Policy" not in values
    assert ("Hash-Algorithm" in values) is (hash_algorithm == "SHA256")
    assert values.get("Hash-Algorithm", "SHA256") == "SHA256"
    raw_signature = signed.split("Signature=")[1].split("&")[0]
    assert set(raw_signature) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~")
    verify(key, decode(raw_signature), canned_policy(url, int(NOW) + 3600).encode(), hash_algorithm == "SHA256")


def test_a_custom_policy_url_carries_the_policy_with_ip_start_and_wildcard() -> None:
    start = datetime.datetime.fromtimestamp(NOW - 60, tz=datetime.timezone.utc)

    signed = signer().url("https://d111111abcdef8.cloudfront.net/training/a.pdf", expires_in=600,
                          resource="https://d111111abcdef8.cloudfront.net/training/*",
                          ip_range="192.0.2.7/24", not_before=start)

    values = params(signed)
    assert "Expires" not in values
    policy = decode(signed.split("Policy=")[1].split("&")[0])
    assert b" " not in policy
    assert json.loads(policy) == {"Statement": [{
        "Resource": "https://d111111abcdef8.cloudfront.net/training/*",
        "Condition": {"DateLessThan": {"AWS:EpochTime": int(NOW) + 600},
                      "IpAddress": {"AWS:SourceIp": "192.0.2.0/24"},
                      "DateGreaterThan": {"AWS:EpochTime": int(NOW) - 60}}}]}
    verify(EC_KEY, decode(signed.split("Signature=")[1].split("&")[0]), policy, True)


def test_an_ip_range_alone_makes_a_custom_policy_for_the_url_itself() -> None:
    url = "https://d111111abcdef8.cloudfront.net/a.png"

    policy = json.loads(decode(params(signer().url(url, expires_in=60, ip_range="198.51.100.1"))["Policy"]))

    assert policy["Statement"][0]["Resource"] == url
    assert policy["Statement"][0]["Condition"]["IpAddress"] == {"AWS:SourceIp": "198.51.100.1/32"}


def test_custom_cookies_name_the_policy_signature_key_and_hash() -> None:
    cookies = signer(RSA_KEY).cookies("https://images.example.com/*", expires_in=3600)

    assert list(cookies) == ["CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id",
                             "CloudFront-Hash-Algorithm"]
    policy = decode(cookies["CloudFront-Policy"])
    assert policy == custom_policy("https://images.example.com/*", int(NOW) + 3600).encode()
    verify(RSA_KEY, decode(cookies["CloudFront-Signature"]), policy, True)
    assert (cookies["CloudFront-Key-Pair-Id"], cookies["CloudFront-Hash-Algorithm"]) == (KEY_ID, "SHA256")


def test_canned_cookies_for_one_url_carry_expires_and_no_hash_name_for_sha1() -> None:
    cookies = signer(hash_algorithm="SHA1").cookies("https://images.example.com/a.png", expires_in=60)

    assert list(cookies) == ["CloudFront-Expires", "CloudFront-Signature", "CloudFront-Key-Pair-Id"]
    verify(EC_KEY, decode(cookies["CloudFront-Signature"]),
           canned_policy("https://images.example.com/a.png", int(NOW) + 60).encode(), False)


def test_set_cookie_headers_one_pair_each_without_expiry_attributes() -> None:
    headers = set_cookie_headers({"CloudFront-Policy": "p", "CloudFront-Signature": "s"}, domain="example.com")

    assert headers == ["CloudFront-Policy=p; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=Lax",
                       "CloudFront-Signature=s; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=Lax"]


def test_object_url_encodes_an_s3_key_as_s3_names_it() -> None:
    signed = signer().object_url("https://images.example.com/", "photos/summer holiday+1 (2).png", expires_in=60)

    assert signed.startswith("https://images.example.com/photos/summer%20holiday%2B1%20%282%29.png?Expires=")


@pytest.mark.parametrize("make", [
    lambda: LinkSigner(KEY_ID, pem(ec.generate_private_key(ec.SECP384R1()))),
    lambda: LinkSigner(KEY_ID, pem(rsa.generate_private_key(public_exponent=65537, key_size=3072))),
    lambda: LinkSigner(KEY_ID, b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"),
    lambda: LinkSigner("k2 lower", pem(EC_KEY)),
    lambda: LinkSigner(KEY_ID, pem(EC_KEY), hash_algorithm="MD5"),
], ids=["p384", "rsa-3072", "not-a-key", "bad-key-id", "bad-hash"])
def test_keys_and_settings_cloudfront_does_not_accept_are_refused(make: Any) -> None:
    with pytest.raises(SignedLinksError):
        make()


@pytest.mark.parametrize("call", [
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a b.png", expires_in=60),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/caf\u00e9.png", expires_in=60),
    lambda s: s.url("/relative.png", expires_in=60),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a.png?Expires=1", expires_in=60),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a.png#top", expires_in=60),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a.png", expires_in=60, ip_range="2001:db8::/32"),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a.png", expires_in=60, ip_range="10.0.0.300"),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a.png", expires_in=-1),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a.png"),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a.png", expires_in=60,
                    expires_at=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)),
    lambda s: s.url("https://d111111abcdef8.cloudfront.net/a.png", expires_at=datetime.datetime(2030, 1, 1)),
    lambda s: s.cookies("images.example.com/*", expires_in=60),
], ids=["space", "non-ascii", "relative", "already-signed", "fragment", "ipv6", "bad-ip", "past", "no-expiry",
        "two-expiries", "naive-datetime", "resource-without-scheme"])
def test_input_cloudfront_would_misread_is_refused_before_signing(call: Any) -> None:
    with pytest.raises(SignedLinksError):
        call(signer())
