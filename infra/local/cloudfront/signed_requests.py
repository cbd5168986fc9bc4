"""CloudFront's check of signed URLs and signed cookies on a behaviour with trusted key groups, for the local
CloudFront stand-in. Written from the CloudFront Developer Guide ("Use signed URLs", "Create a signed URL using a
canned policy / a custom policy", "Use signed cookies", "Specify signers ...") and the error answers users report,
not from the project's link signer, so that a test of one against the other means something.

What is checked, in this order (the order is inferred; each failure is a 403 with CloudFront's XML body):
1. the key pair id (`Key-Pair-Id`, or cookie `CloudFront-Key-Pair-Id`): missing -> MissingKey; not a public key
   of the behaviour's key groups -> InvalidKey ("Unknown Key");
2. the signature: missing or not in CloudFront's base64 (`-`, `_`, `~` for `+`, `=`, `/`) -> MalformedSignature;
3. the policy: `Policy` decoded and parsed, or the canned policy rebuilt from the URL and `Expires`; anything
   unreadable -> MalformedPolicy;
4. the signature over the policy bytes with that public key (RSA PKCS#1 v1.5 or ECDSA DER; SHA-1, or SHA-256
   when `Hash-Algorithm=SHA256`) -> AccessDenied on a mismatch;
5. the conditions: now before DateLessThan, after DateGreaterThan, the viewer's address in IpAddress, the request
   URL matching Resource -> AccessDenied otherwise.

Resource wildcards (`*` any characters, `?` exactly one) match within one section of the URL: protocol, domain,
path, query; only a trailing `*` in the path also covers the query, and `"*"` alone matches every URL (CloudFront
DG, "Create a signed URL using a custom policy"). Whether a `?` in a resource is a wildcard or starts the query is
not documented: here it starts the resource's query when a `=` or `&` follows it, else it is a wildcard.

A URL carrying `Expires`, `Policy`, `Signature` or `Key-Pair-Id` is a signed URL and its cookies are ignored; one
that carries only `Hash-Algorithm` is not (the cookies are read, with the URL's `Hash-Algorithm` if they have
none). `Expires` is a Unix time in seconds that must fit a signed 64-bit integer (the guide's limit for epoch
times, 9223372036854775807); a longer or non-numeric value is MalformedPolicy.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

__all__ = [
    "SIGNED_URL_PARAMETERS",
    "SIGNING_QUERY_PARAMETERS",
    "resource_matches",
    "SIGNING_COOKIES",
    "Refusal",
    "check_signed_request",
    "local_public_key_id",
    "refusal_response",
]

# The query parameters CloudFront reads for a signed URL (Hash-Algorithm since the SHA-256 support); the first four
# make a URL a signed one.
SIGNED_URL_PARAMETERS = ("Expires", "Policy", "Signature", "Key-Pair-Id")
SIGNING_QUERY_PARAMETERS = SIGNED_URL_PARAMETERS + ("Hash-Algorithm",)
MAX_EPOCH_TIME = 2 ** 63 - 1
SIGNING_COOKIES = tuple(f"CloudFront-{name}" for name in SIGNING_QUERY_PARAMETERS)
_CLOUDFRONT_B64 = re.compile(r"^[A-Za-z0-9\-~_]*$")


@dataclass(frozen=True)
class Refusal:
    """CloudFront's answer to a request whose signature it does not accept."""

    code: str
    message: str
    reason: str  # for the test and the demo: which check failed (not sent)

    @property
    def body(self) -> bytes:
        return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code>'
                f"<Message>{self.message}</Message></Error>").encode()


def _missing_key(reason: str) -> Refusal:
    return Refusal("MissingKey", "Missing Key-Pair-Id query parameter or cookie value", reason)


def _unknown_key(reason: str) -> Refusal:
    return Refusal("InvalidKey", "Unknown Key", reason)


def _malformed_signature(reason: str) -> Refusal:
    return Refusal("MalformedSignature", "Could not unencode Signature", reason)


def _malformed_policy(reason: str) -> Refusal:
    return Refusal("MalformedPolicy", "Malformed Policy", reason)


def _denied(reason: str) -> Refusal:
    return Refusal("AccessDenied", "Access denied", reason)


def refusal_response(refusal: Refusal) -> Tuple[int, List[Tuple[str, str]], bytes]:
    return 403, [("Content-Type", "text/xml"), ("Server", "CloudFront")], refusal.body


def local_public_key_id(public_key_pem: str) -> str:
    """The id the local stand-in gives a public key (CloudFront assigns ids like K2JCJMDEHXQW5F): K + 13
    characters of base32 of the key's SHA-256, so that the same key keeps its id across restarts."""
    der = _public_key(public_key_pem.strip()).public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return "K" + base64.b32encode(hashlib.sha256(der).digest()).decode()[:13]


@functools.lru_cache(maxsize=64)
def _public_key(pem: str) -> Any:
    return serialization.load_pem_public_key(pem.encode("ascii"))


def _decode(value: str) -> bytes:
    """CloudFront's base64: `-` `_` `~` stand for `+` `=` `/`; anything else is malformed."""
    if not value or not _CLOUDFRONT_B64.match(value):
        raise ValueError("not CloudFront base64")
    standard = value.replace("-", "+").replace("_", "=").replace("~", "/")
    return base64.b64decode(standard, validate=True)


def _query_pairs(query: str) -> List[Tuple[str, str]]:
    return [(pair.split("=", 1)[0], pair.split("=", 1)[1] if "=" in pair else "") for pair in query.split("&")
            if pair]


def _cookies(cookie_headers: Sequence[str]) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for header in cookie_headers:
        for item in header.split(";"):
            name, _, value = item.strip().partition("=")
            if name and name not in found:
                found[name] = value
    return found


def _wildcard(pattern: str) -> "re.Pattern[str]":
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


_URL_SECTIONS = re.compile(r"(?P<protocol>[^:/]*)://(?P<domain>[^/]*)(?P<path>/.*)?")


def _sections(url: str, is_resource: bool) -> Optional[Tuple[str, str, str, Optional[str]]]:
    """(protocol, domain, path, query or None). In a resource, "?" starts the query only when "=" or "&" follows."""
    match = _URL_SECTIONS.fullmatch(url)
    if match is None:
        return None
    rest = match.group("path") or ""
    query: Optional[str] = None
    for at in [i for i, c in enumerate(rest) if c == "?"]:
        if not is_resource or re.search(r"[=&]", rest[at:]):
            rest, query = rest[:at], rest[at + 1:]
            break
    return match.group("protocol"), match.group("domain"), rest, query


def resource_matches(resource: str, url: str) -> bool:
    """Whether a custom policy's Resource covers `url`, one section at a time."""
    if resource == "*":
        return True
    wanted, given = _sections(resource, True), _sections(url, False)
    if wanted is None or given is None:
        return False
    if not (_wildcard(wanted[0]).fullmatch(given[0]) and _wildcard(wanted[1]).fullmatch(given[1])):
        return False
    if wanted[3] is None and wanted[2].endswith("*"):  # a trailing "*" in the path covers the query too
        whole = given[2] + ("?" + given[3] if given[3] is not None else "")
        return _wildcard(wanted[2]).fullmatch(whole) is not None
    if _wildcard(wanted[2]).fullmatch(given[2]) is None:
        return False
    if wanted[3] is None or given[3] is None:
        return wanted[3] is None and given[3] is None
    return _wildcard(wanted[3]).fullmatch(given[3]) is not None


def _verify(public_key: Any, signature: bytes, message: bytes, hash_name: str) -> bool:
    digest = hashes.SHA256() if hash_name == "SHA256" else hashes.SHA1()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, padding.PKCS1v15(), digest)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, message, ec.ECDSA(digest))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _epoch_condition(condition: Mapping[str, Any], name: str) -> Optional[int]:
    if name not in condition:
        return None
    value = condition[name]
    if not isinstance(value, dict) or not isinstance(value.get("AWS:EpochTime"), int) or isinstance(
            value.get("AWS:EpochTime"), bool):
        raise ValueError(f"{name} is not {{\"AWS:EpochTime\": <integer>}}")
    return int(value["AWS:EpochTime"])


def check_signed_request(
    trusted_keys: Sequence[Tuple[str, str]],
    scheme: str,
    host: str,
    target: str,
    cookie_headers: Sequence[str],
    client_ip: str,
    now: float,
) -> Optional[Refusal]:
    """None when the behaviour has no trusted key group or the request's signature is accepted; else the refusal.
    `trusted_keys` are (key pair id, public key PEM) of every key in the behaviour's key groups; `target` is the
    request target as the viewer sent it (path?query)."""
    if not trusted_keys:
        return None
    path, _, query = target.partition("?")
    given = _signing_values(query, cookie_headers)
    # The URL as CloudFront matches and rebuilds it: the viewer's own query string without the signing parameters.
    own_query = "&".join(pair for pair in query.split("&") if pair and pair.split("=", 1)[0]
                         not in SIGNING_QUERY_PARAMETERS)
    url = f"{scheme}://{host}{path}" + (f"?{own_query}" if own_query else "")

    key_id = given.get("Key-Pair-Id", "")
    if not key_id:
        return _missing_key("no key pair id in the query string or the cookies")
    keys = dict(trusted_keys)
    if key_id not in keys:
        return _unknown_key(f"key {key_id} is not in the behaviour's trusted key groups")
    try:
        signature = _decode(given.get("Signature", ""))
    except (ValueError, binascii.Error):
        return _malformed_signature("the signature is missing or not CloudFront base64")
    hash_name = given.get("Hash-Algorithm", "SHA1")
    if hash_name not in ("SHA1", "SHA256"):
        return _malformed_policy(f"unknown Hash-Algorithm {hash_name!r}")
    policy = _policy(given, url)
    if isinstance(policy, Refusal):
        return policy
    if not _verify(_public_key(keys[key_id].strip()), signature, policy.signed_bytes, hash_name):
        return _denied(f"the signature does not match the policy for key {key_id} ({hash_name})")
    return _condition_refusal(policy, url, client_ip, now)


def _signing_values(query: str, cookie_headers: Sequence[str]) -> Dict[str, str]:
    """The signing parameters of a signed URL, else of the signed cookies (with the URL's Hash-Algorithm)."""
    in_query = {name: value for name, value in reversed(_query_pairs(query)) if name in SIGNING_QUERY_PARAMETERS}
    if in_query.keys() & set(SIGNED_URL_PARAMETERS):
        return in_query
    cookies = _cookies(cookie_headers)
    given = {name[len("CloudFront-"):]: value for name, value in cookies.items() if name in SIGNING_COOKIES}
    if "Hash-Algorithm" in in_query:
        given.setdefault("Hash-Algorithm", in_query["Hash-Algorithm"])
    return given


@dataclass(frozen=True)
class _Policy:
    signed_bytes: bytes  # what the signature covers
    not_after: int
    not_before: Optional[int] = None
    source_ip: Optional[Any] = None  # an ip_network
    resource: Optional[str] = None


def _policy(given: Mapping[str, str], url: str) -> "_Policy | Refusal":
    """The custom policy from `Policy`, or the canned one CloudFront rebuilds from the URL and `Expires`."""
    if "Policy" in given:
        try:
            return _custom_policy(given["Policy"])
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            return _malformed_policy("the policy is not CloudFront base64 of a one-statement JSON policy")
    if "Expires" in given:
        if not re.fullmatch(r"[0-9]{1,19}", given["Expires"]) or int(given["Expires"]) > MAX_EPOCH_TIME:
            return _malformed_policy(f"Expires is not a Unix time: {given['Expires']!r}")
        not_after = int(given["Expires"])
        # Canned: CloudFront checks the signature over the policy it builds itself, compact, from the URL and
        # Expires.
        canned = (f'{{"Statement":[{{"Resource":"{url}","Condition":{{"DateLessThan":'
                  f'{{"AWS:EpochTime":{not_after}}}}}}}]}}').encode("utf-8")
        return _Policy(canned, not_after, resource=url)
    return _malformed_policy("neither Expires nor Policy")


def _custom_policy(encoded: str) -> _Policy:
    policy_bytes = _decode(encoded)
    document = json.loads(policy_bytes.decode("utf-8"))
    statements = document["Statement"]
    if not isinstance(statements, list) or len(statements) != 1 or not isinstance(statements[0], dict):
        raise ValueError("a policy has exactly one statement")
    statement = statements[0]
    condition = statement["Condition"]
    if not isinstance(condition, dict):
        raise ValueError("Condition is not an object")
    not_after = _epoch_condition(condition, "DateLessThan")
    if not_after is None:
        raise ValueError("DateLessThan is required")
    ip_condition = condition.get("IpAddress")
    source_ip = ipaddress.ip_network(ip_condition["AWS:SourceIp"], strict=False) if ip_condition is not None \
        else None
    resource = statement.get("Resource")
    if resource is not None and not isinstance(resource, str):
        raise ValueError("Resource is not a string")
    return _Policy(policy_bytes, not_after, _epoch_condition(condition, "DateGreaterThan"), source_ip, resource)


def _condition_refusal(policy: _Policy, url: str, client_ip: str, now: float) -> Optional[Refusal]:
    if not now < policy.not_after:
        return _denied(f"expired at {policy.not_after} (now {int(now)})")
    if policy.not_before is not None and not now > policy.not_before:
        return _denied(f"not valid before {policy.not_before} (now {int(now)})")
    if policy.source_ip is not None:
        try:
            viewer = ipaddress.ip_address(client_ip)
        except ValueError:
            return _denied(f"viewer address {client_ip!r} unreadable")
        if viewer.version != policy.source_ip.version or viewer not in policy.source_ip:
            return _denied(f"viewer {client_ip} is not in {policy.source_ip}")
    if policy.resource is not None and not resource_matches(policy.resource, url):
        return _denied(f"{url} does not match the policy resource {policy.resource}")
    return None
