"""CloudFront's signed URL and signed cookie check in the local stand-in.

Unit tests of the verifier with requests signed here by hand (cryptography and the policy text from the Developer
Guide, not the project's link signer), then the whole path over real HTTP with real curl: the link signer's URLs and
cookies accepted by the stand-in, the refusals with CloudFront's own answers, rotation through two keys, and the
signing parameters never reaching the MRAP.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from typing import Any, List, Optional, Tuple

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from infra.local.cloudfront.settings import load_settings
from infra.local.cloudfront.signed_requests import (
    SIGNING_QUERY_PARAMETERS,
    Refusal,
    check_signed_request,
    resource_matches,
)
from infra.local.stack import LocalStack
from signedlinks import LinkSigner
from tests.conftest import StartStack
from tests.curl import CurlResponse, curl

NOW = 1_796_000_000
HOST = "d111111abcdef8.cloudfront.net"


def _ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: Any) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _private_pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _b64(data: bytes) -> str:
    """The guide's substitutions, written out here rather than taken from the signer under test."""
    return base64.b64encode(data).decode().translate(str.maketrans({"+": "-", "=": "_", "/": "~"}))


def _signature(key: Any, message: bytes, sha256: bool = False) -> str:
    digest = hashes.SHA256() if sha256 else hashes.SHA1()
    if isinstance(key, rsa.RSAPrivateKey):
        return _b64(key.sign(message, padding.PKCS1v15(), digest))
    return _b64(key.sign(message, ec.ECDSA(digest)))


def _canned(resource: str, expires: int) -> bytes:
    return ('{"Statement":[{"Resource":"' + resource + '","Condition":{"DateLessThan":{"AWS:EpochTime":'
            + str(expires) + "}}}]}").encode()


KEY_A = _ec_key()
KEY_B = _rsa_key()
OUTSIDER = _ec_key()
TRUSTED = (("KAAAAAAAAAAAAA", _public_pem(KEY_A)), ("KBBBBBBBBBBBBB", _public_pem(KEY_B)))


def check(target: str, cookies: Tuple[str, ...] = (), client_ip: str = "192.0.2.10", now: float = NOW,
          trusted: Any = TRUSTED) -> Optional[Refusal]:
    return check_signed_request(trusted, "https", HOST, target, cookies, client_ip, now)


def canned_target(path: str = "/images/a.png", query: str = "", key: Any = KEY_A, key_id: str = "KAAAAAAAAAAAAA",
                  expires: int = NOW + 60, sha256: bool = False) -> str:
    resource = f"https://{HOST}{path}" + (f"?{query}" if query else "")
    signature = _signature(key, _canned(resource, expires), sha256)
    tail = f"Expires={expires}&Signature={signature}&Key-Pair-Id={key_id}" + ("&Hash-Algorithm=SHA256"
                                                                               if sha256 else "")
    return f"{path}?{query + '&' if query else ''}{tail}"


def custom_target(statement_condition: dict, resource: Optional[str], path: str = "/images/a.png",
                  key: Any = KEY_A, key_id: str = "KAAAAAAAAAAAAA", pretty: bool = False) -> str:
    statement: dict = {"Condition": statement_condition}
    if resource is not None:
        statement = {"Resource": resource, **statement}
    policy = json.dumps({"Statement": [statement]}, indent=2 if pretty else None).encode()
    return f"{path}?Policy={_b64(policy)}&Signature={_signature(key, policy)}&Key-Pair-Id={key_id}"


def code(refusal: Optional[Refusal]) -> Optional[str]:
    return refusal.code if refusal else None


# --- the verifier ----------------------------------------------------------------------------------------------------


def test_a_behaviour_without_trusted_keys_checks_nothing() -> None:
    assert check("/images/a.png", trusted=()) is None


@pytest.mark.parametrize("key, key_id, sha256", [
    (KEY_A, "KAAAAAAAAAAAAA", False), (KEY_A, "KAAAAAAAAAAAAA", True),
    (KEY_B, "KBBBBBBBBBBBBB", False), (KEY_B, "KBBBBBBBBBBBBB", True),
], ids=["ecdsa-sha1", "ecdsa-sha256", "rsa-sha1", "rsa-sha256"])
def test_a_canned_policy_is_rebuilt_from_the_url_and_expires(key: Any, key_id: str, sha256: bool) -> None:
    target = canned_target(query="size=large", key=key, key_id=key_id, sha256=sha256)

    assert check(target) is None
    # the viewer's own query string is part of the resource: another value is another URL
    assert code(check(target.replace("size=large", "size=small"))) == "AccessDenied"


def test_the_hash_algorithm_parameter_decides_the_hash() -> None:
    sha1_signed = canned_target()

    assert code(check(sha1_signed + "&Hash-Algorithm=SHA256")) == "AccessDenied"
    assert code(check(canned_target(sha256=True).replace("&Hash-Algorithm=SHA256", ""))) == "AccessDenied"


def test_a_canned_policy_signed_with_white_space_is_refused() -> None:
    # CloudFront rebuilds the compact canned policy; a signature over any other bytes does not match.
    resource, expires = f"https://{HOST}/images/a.png", NOW + 60
    spaced = json.dumps({"Statement": [{"Resource": resource, "Condition": {"DateLessThan":
                                                                            {"AWS:EpochTime": expires}}}]}).encode()
    target = f"/images/a.png?Expires={expires}&Signature={_signature(KEY_A, spaced)}&Key-Pair-Id=KAAAAAAAAAAAAA"

    assert code(check(target)) == "AccessDenied"


@pytest.mark.parametrize("target, expected", [
    ("/images/a.png", ("MissingKey", "Missing Key-Pair-Id query parameter or cookie value")),
    ("/images/a.png?Expires=1&Signature=abc&Key-Pair-Id=", ("MissingKey",
                                                           "Missing Key-Pair-Id query parameter or cookie value")),
    ("/images/a.png?Expires=1&Signature=abc&Key-Pair-Id=KUNKNOWN", ("InvalidKey", "Unknown Key")),
    ("/images/a.png?Expires=1&Key-Pair-Id=KAAAAAAAAAAAAA", ("MalformedSignature", "Could not unencode Signature")),
    ("/images/a.png?Expires=1&Signature=a+b/c=&Key-Pair-Id=KAAAAAAAAAAAAA",
     ("MalformedSignature", "Could not unencode Signature")),
    ("/images/a.png?Policy=bm90IGpzb24_&Signature=YWJj&Key-Pair-Id=KAAAAAAAAAAAAA",
     ("MalformedPolicy", "Malformed Policy")),
    ("/images/a.png?Signature=YWJj&Key-Pair-Id=KAAAAAAAAAAAAA", ("MalformedPolicy", "Malformed Policy")),
], ids=["nothing", "empty-key-id", "unknown-key", "no-signature", "standard-base64", "policy-not-json",
        "no-policy-or-expires"])
def test_each_malformed_request_gets_cloudfronts_code_and_message(target: str, expected: Tuple[str, str]) -> None:
    refusal = check(target)

    assert refusal is not None and (refusal.code, refusal.message) == expected
    assert refusal.body == (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{expected[0]}</Code>'
                            f"<Message>{expected[1]}</Message></Error>").encode()


def test_expiry_is_checked_at_the_time_of_the_request() -> None:
    target = canned_target(expires=NOW + 60)

    assert check(target, now=NOW + 59) is None
    refusal = check(target, now=NOW + 60)
    assert refusal is not None and (refusal.code, refusal.message) == ("AccessDenied", "Access denied")


def test_a_signature_by_a_key_outside_the_group_is_refused_even_under_a_trusted_id() -> None:
    assert code(check(canned_target(key=OUTSIDER, key_id="KAAAAAAAAAAAAA"))) == "AccessDenied"
    assert code(check(canned_target(key=KEY_B, key_id="KAAAAAAAAAAAAA"))) == "AccessDenied"


@pytest.mark.parametrize("client_ip, accepted", [("192.0.2.10", True), ("192.0.2.255", True),
                                                 ("198.51.100.7", False), ("2001:db8::1", False)])
def test_a_custom_policy_ip_range(client_ip: str, accepted: bool) -> None:
    target = custom_target({"DateLessThan": {"AWS:EpochTime": NOW + 60},
                            "IpAddress": {"AWS:SourceIp": "192.0.2.0/24"}}, f"https://{HOST}/images/a.png")

    assert (check(target, client_ip=client_ip) is None) is accepted


@pytest.mark.parametrize("resource, path, accepted", [
    (f"https://{HOST}/images/*", "/images/a.png", True),
    (f"https://{HOST}/images/*", "/videos/a.mp4", False),
    (f"http*://{HOST}/images/?.png", "/images/a.png", True),
    (f"https://{HOST}/images/?.png", "/images/ab.png", False),
    (None, "/anything/at/all.txt", True),
], ids=["star", "star-elsewhere", "question-mark", "question-mark-two-chars", "no-resource"])
def test_a_custom_policy_resource_with_wildcards(resource: Optional[str], path: str, accepted: bool) -> None:
    target = custom_target({"DateLessThan": {"AWS:EpochTime": NOW + 60}}, resource, path=path)

    assert (check(target) is None) is accepted


@pytest.mark.parametrize("resource, url, accepted", [
    (f"https://{HOST}/signed/*.bin", f"https://{HOST}/signed/a.bin", True),
    (f"https://{HOST}/signed/*.bin", f"https://{HOST}/signed/plain.txt?v=.bin", False),
    (f"https://{HOST}/signed/*", f"https://{HOST}/signed/a.bin?v=1", True),
    (f"https://{HOST}/signed/a.bin", f"https://{HOST}/signed/a.bin?v=1", False),
    (f"https://{HOST}/signed/a.bin?v=*", f"https://{HOST}/signed/a.bin?v=1", True),
    ("http://*bar/plain.bin", "http://example.com/foo/bar/plain.bin", False),
    ("http://*bar/plain.bin", "http://foobar/plain.bin", True),
    ("http*://*/plain.bin", "https://d1.cloudfront.net/plain.bin", True),
    ("*", "https://anything/at/all?x=1", True),
], ids=["in-path", "star-not-into-query", "trailing-star-covers-query", "no-query-in-resource",
        "query-wildcard", "domain-star-stays-in-domain", "domain-star", "protocol-star", "star-alone"])
def test_a_wildcard_matches_within_one_section_of_the_url(resource: str, url: str, accepted: bool) -> None:
    scheme, rest = url.split("://", 1)
    host, _, target = rest.partition("/")
    path, _, own_query = ("/" + target).partition("?")
    policy = json.dumps({"Statement": [{"Resource": resource,
                                        "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}}}]}).encode()
    signed = (f"{path}?{own_query + '&' if own_query else ''}Policy={_b64(policy)}"
              f"&Signature={_signature(KEY_A, policy)}&Key-Pair-Id=KAAAAAAAAAAAAA")

    refusal = check_signed_request(TRUSTED, scheme, host, signed, (), "192.0.2.10", NOW)

    assert (refusal is None) is accepted
    assert resource_matches(resource, url) is accepted


def test_hash_algorithm_alone_does_not_make_a_signed_url() -> None:
    condition = {"DateLessThan": {"AWS:EpochTime": NOW + 60}}
    policy = json.dumps({"Statement": [{"Resource": f"https://{HOST}/images/*", "Condition": condition}]}).encode()
    cookies = (f"CloudFront-Policy={_b64(policy)}; CloudFront-Signature={_signature(KEY_A, policy, sha256=True)}; "
               "CloudFront-Key-Pair-Id=KAAAAAAAAAAAAA",)

    assert check("/images/a.png?Hash-Algorithm=SHA256", cookies) is None


@pytest.mark.parametrize("expires, expected", [
    (2 ** 63 - 1, None), (2 ** 63, "MalformedPolicy"), (10 ** 19, "MalformedPolicy"), (10 ** 20, "MalformedPolicy"),
], ids=["largest-64-bit", "one-over", "nineteen-digits-over", "twenty-digits"])
def test_expires_must_fit_a_64_bit_epoch_time(expires: int, expected: Optional[str]) -> None:
    assert code(check(canned_target(expires=expires))) == expected


def test_a_custom_policy_is_checked_over_its_bytes_white_space_and_all() -> None:
    condition = {"DateLessThan": {"AWS:EpochTime": NOW + 60}, "DateGreaterThan": {"AWS:EpochTime": NOW - 60}}

    assert check(custom_target(condition, f"https://{HOST}/images/*", pretty=True)) is None
    assert code(check(custom_target(condition, f"https://{HOST}/images/*"), now=NOW - 61)) == "AccessDenied"


@pytest.mark.parametrize("condition", [
    {},
    {"DateLessThan": {"AWS:EpochTime": "1796000060"}},
    {"DateLessThan": {"AWS:EpochTime": NOW + 60}, "IpAddress": {"AWS:SourceIp": "not-an-address"}},
], ids=["no-date-less-than", "quoted-time", "bad-ip"])
def test_a_custom_policy_cloudfront_cannot_read_is_malformed(condition: dict) -> None:
    assert code(check(custom_target(condition, f"https://{HOST}/images/*"))) == "MalformedPolicy"


def test_a_tampered_policy_is_refused() -> None:
    target = custom_target({"DateLessThan": {"AWS:EpochTime": NOW + 60}}, f"https://{HOST}/images/a.png")
    policy = target.split("Policy=")[1].split("&")[0]
    longer = _b64(base64.b64decode(policy.translate(str.maketrans("-_~", "+=/"))).replace(
        str(NOW + 60).encode(), str(NOW + 6000).encode()))

    assert code(check(target.replace(policy, longer), now=NOW + 100)) == "AccessDenied"


def test_signed_cookies_are_read_when_the_url_has_no_signature() -> None:
    condition = {"DateLessThan": {"AWS:EpochTime": NOW + 60}}
    policy = json.dumps({"Statement": [{"Resource": f"https://{HOST}/images/*", "Condition": condition}]}).encode()
    cookies = (f"session=1; CloudFront-Policy={_b64(policy)}; CloudFront-Signature={_signature(KEY_B, policy)}",
               "CloudFront-Key-Pair-Id=KBBBBBBBBBBBBB")

    assert check("/images/a.png?size=large", cookies) is None
    assert code(check("/videos/a.mp4", cookies)) == "AccessDenied"
    # a signature in the query string is what counts, however good the cookies
    assert code(check("/images/a.png?Key-Pair-Id=KUNKNOWN", cookies)) == "InvalidKey"


# --- the whole path, over real HTTP ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> LocalStack:
    # Key A in slot 1 as a deployment would have it; the cache off so that each request reaches the origin.
    settings = replace(load_settings(parameters={"SignedUrlPublicKey1": _public_pem(KEY_A)}), default_ttl=0)
    return start_stack(settings=settings, function_timeout_s=2.0)


def signer(local: LocalStack, key: Any = KEY_A, key_id: Optional[str] = None, **options: Any) -> LinkSigner:
    return LinkSigner(key_id or local.settings.trusted_keys[0][0], _private_pem(key), **options)


def get(url: str, *options: str) -> CurlResponse:
    return curl(url, *options)


def assert_refused(response: CurlResponse, code: str, message: str, local: LocalStack) -> None:
    assert response.status == 403
    assert response.body == (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                             f"<Message>{message}</Message></Error>").encode()
    assert response.header("content-type") == "text/xml"
    assert response.header("x-cache") == "Error from cloudfront"
    assert local.cloudfront is not None and local.mrap is not None
    assert not local.cloudfront.invocations and not local.mrap.received  # refused at the edge


def test_the_template_key_slot_makes_the_behaviour_require_signatures(local: LocalStack) -> None:
    response = get(local.url("eu-west-2", "/images/red.png"))

    assert_refused(response, "MissingKey", "Missing Key-Pair-Id query parameter or cookie value", local)


@pytest.mark.parametrize("hash_algorithm", ["SHA256", "SHA1"])
def test_the_link_signers_canned_url_is_served(local: LocalStack, hash_algorithm: str) -> None:
    url = signer(local, hash_algorithm=hash_algorithm).url(local.url("eu-west-2", "/images/red.png"),
                                                           expires_in=60)

    response = get(url)

    assert response.status == 200 and response.body.startswith(b"\x89PNG")
    assert local.mrap is not None and local.mrap.received[-1].verified


def test_the_link_signers_object_url_for_a_key_that_needs_escaping_is_served(local: LocalStack) -> None:
    url = signer(local).object_url(local.url("eu-west-2"), "photos/summer holiday 2024.png", expires_in=60)

    assert get(url).status == 200


def test_a_custom_policy_for_this_address_is_served_and_for_another_refused(local: LocalStack) -> None:
    image = local.url("eu-west-2", "/images/red.png")

    assert get(signer(local).url(image, expires_in=60, ip_range="127.0.0.1/32")).status == 200
    local.reset()
    assert_refused(get(signer(local).url(image, expires_in=60, ip_range="192.0.2.0/24")), "AccessDenied",
                   "Access denied", local)


def test_a_wildcard_policy_covers_its_prefix_only(local: LocalStack) -> None:
    links = signer(local)
    wildcard = local.url("eu-west-2", "/images/*")

    assert get(links.url(local.url("eu-west-2", "/images/red.png"), expires_in=60, resource=wildcard)).status == 200
    local.reset()
    assert_refused(get(links.url(local.url("eu-west-2", "/index.txt"), expires_in=60, resource=wildcard)),
                   "AccessDenied", "Access denied", local)


@pytest.mark.parametrize("resource", ["/images/*", "/images/red.png"], ids=["custom", "canned"])
def test_the_link_signers_cookies_are_served(local: LocalStack, resource: str) -> None:
    cookies = signer(local).cookies(local.url("eu-west-2", resource), expires_in=60)

    response = get(local.url("eu-west-2", "/images/red.png"), "-b", "; ".join(f"{k}={v}" for k, v in cookies.items()))

    assert response.status == 200 and response.body.startswith(b"\x89PNG")


def test_an_expired_url_is_refused(local: LocalStack) -> None:
    an_hour_ago = signer(local, clock=lambda: time.time() - 3600)

    response = get(an_hour_ago.url(local.url("eu-west-2", "/images/red.png"), expires_in=60))

    assert_refused(response, "AccessDenied", "Access denied", local)


@pytest.mark.parametrize("tamper", ["signature", "path", "expires", "query"])
def test_a_tampered_url_is_refused(local: LocalStack, tamper: str) -> None:
    url = signer(local).url(local.url("eu-west-2", "/images/red.png"), expires_in=60)
    signature = url.split("Signature=")[1].split("&")[0]
    expires = url.split("Expires=")[1].split("&")[0]
    changed = {
        "signature": url.replace(signature, signature[:20] + ("A" if signature[20] != "A" else "B")
                                 + signature[21:]),
        "path": url.replace("/images/red.png", "/images/blue.png"),
        "expires": url.replace(f"Expires={expires}", f"Expires={int(expires) + 86400}"),
        "query": url.replace("?", "?versionId=other&", 1),
    }[tamper]

    assert_refused(get(changed), "AccessDenied", "Access denied", local)


def test_a_key_pair_id_outside_the_group_is_unknown_and_a_wrong_key_is_denied(local: LocalStack) -> None:
    image = local.url("eu-west-2", "/images/red.png")

    assert_refused(get(signer(local, key=OUTSIDER, key_id="KOUTSIDER0000").url(image, expires_in=60)),
                   "InvalidKey", "Unknown Key", local)
    assert_refused(get(signer(local, key=OUTSIDER).url(image, expires_in=60)), "AccessDenied", "Access denied",
                   local)


def test_rotation_both_keys_work_while_both_are_in_the_group_then_only_the_new_one(local: LocalStack) -> None:
    assert local.cloudfront is not None
    both = load_settings(parameters={"SignedUrlPublicKey1": _public_pem(KEY_A),
                                     "SignedUrlPublicKey2": _public_pem(KEY_B)})
    new_only = load_settings(parameters={"SignedUrlPublicKey2": _public_pem(KEY_B)})
    id_a, id_b = [key_id for key_id, _ in both.trusted_keys]
    image = local.url("eu-west-2", "/images/red.png")
    old_link = signer(local, KEY_A, id_a).url(image, expires_in=600)
    new_link = signer(local, KEY_B, id_b).url(image, expires_in=600)

    local.cloudfront.settings = replace(local.settings, trusted_keys=both.trusted_keys)
    assert (get(old_link).status, get(new_link).status) == (200, 200)

    local.reset()
    local.cloudfront.settings = replace(local.settings, trusted_keys=new_only.trusted_keys)
    assert get(new_link).status == 200
    local.mrap.clear()  # type: ignore[union-attr]
    local.cloudfront.clear()
    assert_refused(get(old_link), "InvalidKey", "Unknown Key", local)


def test_a_cached_object_still_needs_a_signature(local: LocalStack) -> None:
    assert local.cloudfront is not None
    local.cloudfront.cache_ttl = 60
    image = local.url("eu-west-2", "/images/red.png")
    link = signer(local).url(image, expires_in=60)

    assert [get(link).header("x-cache") for _ in range(2)] == ["Miss from cloudfront", "Hit from cloudfront"]
    unsigned = get(image)
    assert (unsigned.status, unsigned.header("x-cache")) == (403, "Error from cloudfront")


@pytest.mark.parametrize("forwarded_by_policy", [False, True], ids=["policy-drops", "policy-forwards"])
def test_the_signing_parameters_never_reach_the_mrap(local: LocalStack, forwarded_by_policy: bool) -> None:
    assert local.cloudfront is not None and local.mrap is not None
    if forwarded_by_policy:
        # A policy that forwarded them would put them in the event: then the function's allow-list drops them.
        local.cloudfront.settings = replace(local.settings, forwarded_query=local.settings.forwarded_query
                                            + SIGNING_QUERY_PARAMETERS)
    version = local.buckets.put("eu-west-2", "versioned-signed.txt", b"signed and versioned")
    url = signer(local).url(local.url("eu-west-2", f"/versioned-signed.txt?versionId={version}"), expires_in=60,
                            ip_range="127.0.0.1/32")

    response = get(url)

    assert (response.status, response.body) == (200, b"signed and versioned")
    [request] = local.mrap.received
    assert request.verified
    assert request.target == f"/versioned-signed.txt?versionId={version}"  # on the wire, as S3 received it
    event_query = local.cloudfront.invocations[0].event["Records"][0]["cf"]["request"]["querystring"]
    names: List[str] = [pair.split("=", 1)[0] for pair in event_query.split("&")]
    assert ("Signature" in names) is forwarded_by_policy
