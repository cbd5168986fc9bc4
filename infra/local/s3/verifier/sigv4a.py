"""SigV4 and SigV4A as the AWS specification describes them, one function per step.

Written from the AWS "Signature Version 4 signing process" and "SigV4A" documentation and checked against the
aws-c-auth test vectors; it shares no code with awscrt or botocore, so it can judge what they sign.
Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html#how-sigv4a-works
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "ALGORITHM_V4",
    "ALGORITHM_V4A",
    "EMPTY_SHA256",
    "TERMINATOR",
    "UNSIGNED_PAYLOAD",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "credential_scope",
    "derive_private_key",
    "hashed_payload",
    "hmac_signature",
    "percent_decode",
    "public_key",
    "query_without_signature",
    "signed_headers",
    "signing_key",
    "string_to_sign",
    "trimall",
    "uri_encode",
    "verify_ecdsa",
]

ALGORITHM_V4 = "AWS4-HMAC-SHA256"
ALGORITHM_V4A = "AWS4-ECDSA-P256-SHA256"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
TERMINATOR = "aws4_request"

# Order n of the NIST P-256 group (FIPS 186-4, D.1.2.3). The derived private key must lie in [1, n-1].
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# "The KDF ... is the NIST SP 800-108 KDF in counter mode with HMAC-SHA256", keyed with "AWS4A" + secret.
KDF_KEY_PREFIX = b"AWS4A"
KDF_LABEL = ALGORITHM_V4A.encode("ascii")
KDF_OUTPUT_BITS = 256

# RFC 3986 section 2.3 unreserved characters; SigV4: "Do not URI-encode any of the unreserved characters that
# RFC 3986 defines: A-Z, a-z, 0-9, hyphen ( - ), underscore ( _ ), period ( . ), and tilde ( ~ )."
UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
# Trimall collapses runs of SP / HTAB (RFC 7230 OWS); obs-fold line breaks are unfolded by the HTTP parser.
_WHITESPACE_RUN = re.compile(r"[ \t]+")


# --- Key derivation (SigV4A) --------------------------------------------------------------------------------------


def _kdf_fixed_input(access_key_id: str, counter: int) -> bytes:
    """SP 800-108 fixed input: [i]_4 || Label || 0x00 || Context || [L]_4, Context = access key id || counter."""
    context = access_key_id.encode("utf-8") + bytes([counter])
    return (
        (1).to_bytes(4, "big")
        + KDF_LABEL
        + b"\x00"
        + context
        + KDF_OUTPUT_BITS.to_bytes(4, "big")
    )


def derive_private_key(access_key_id: str, secret_access_key: str) -> int:
    """The SigV4A private scalar d derived from an access key pair (deterministic, no randomness)."""
    kdf_key = KDF_KEY_PREFIX + secret_access_key.encode("utf-8")
    # The counter is one byte starting at 1; a candidate above n-2 is rejected so that d = candidate + 1 stays in
    # [1, n-1]. The chance of even one retry is about 2**-32, but the rule is part of the derivation.
    for counter in range(1, 256):
        digest = hmac.new(kdf_key, _kdf_fixed_input(access_key_id, counter), hashlib.sha256).digest()
        candidate = int.from_bytes(digest, "big")
        if candidate <= P256_ORDER - 2:
            return candidate + 1
    raise ValueError("unable to derive SigV4A key: counter exhausted")


def public_key(access_key_id: str, secret_access_key: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key S3 would hold for this access key pair."""
    d = derive_private_key(access_key_id, secret_access_key)
    return ec.derive_private_key(d, ec.SECP256R1()).public_key()


# --- Canonical URI -----------------------------------------------------------------------------------------------


def uri_encode(data: bytes, *, keep_slash: bool) -> str:
    """UriEncode(): every byte outside the unreserved set becomes %XY. "Letters in the hexadecimal value must be
    uppercase, for example "%1A"." Slash is kept only in paths ("Do not encode the forward slash in the object key")."""
    out = []
    for byte in data:
        if byte in UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def percent_decode(text: str) -> bytes:
    """Decode %XY escapes once into bytes. '+' is not a space here: that is form encoding, not RFC 3986."""
    return _PERCENT_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 plus empty-segment removal, as the generic SigV4 suite normalises ("//" -> "/")."""
    segments = path.split("/")
    kept: list[str] = []
    for segment in segments:
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    normalized = "/" + "/".join(kept)
    # A path ending in "/", "/." or "/.." names a directory: RFC 3986 keeps the trailing slash.
    if kept and segments[-1] in ("", ".", ".."):
        normalized += "/"
    return normalized


def canonical_uri(path: str, *, s3: bool, normalize: bool) -> str:
    """CanonicalURI from the path as it appears on the wire (percent-escapes as sent, no query).

    S3: "Each path segment must be URI-encoded once", after S3 has decoded the wire path once; no normalisation
    (S3 keys may contain "..", "." and "//"). Generic services: the wire path is encoded again ("double
    encoding": "%" becomes "%25"), after optional RFC 3986 normalisation.
    """
    if s3:
        return uri_encode(percent_decode(path), keep_slash=True)
    if normalize:
        path = _remove_dot_segments(path)
    return uri_encode(path.encode("utf-8"), keep_slash=True)


# --- Canonical query string --------------------------------------------------------------------------------------


def _query_pairs(query: str) -> Iterable[tuple[str, str]]:
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        yield name, value


def canonical_query_string(query: str) -> str:
    """CanonicalQueryString from the raw query (no '?').

    "URI-encode each parameter name and value" (after decoding what the wire escaped, so "/" becomes "%2F"),
    "Sort the parameter names by character code point in ascending order. Parameters with duplicate names
    should be sorted by value", and a parameter without a value is "name=".
    """
    encoded = sorted(
        (uri_encode(percent_decode(name), keep_slash=False), uri_encode(percent_decode(value), keep_slash=False))
        for name, value in _query_pairs(query)
    )
    return "&".join(name + "=" + value for name, value in encoded)


def query_without_signature(query: str) -> str:
    """A presigned request signs its own query minus X-Amz-Signature: "the query string ... except for
    X-Amz-Signature"."""
    return "&".join(
        piece for piece in query.split("&") if piece and piece.partition("=")[0] != "X-Amz-Signature"
    )


# --- Canonical headers -------------------------------------------------------------------------------------------


def trimall(value: str) -> str:
    """Trimall: "remove excess white space before and after values, and convert sequential spaces to a single
    space"."""
    return _WHITESPACE_RUN.sub(" ", value).strip(" \t")


def canonical_headers(headers: Sequence[tuple[str, str]], signed: Iterable[str]) -> str:
    """CanonicalHeaders: "Lowercase(<HeaderName1>)+":"+Trim(<value>)+"\\n"" for each signed header, sorted by
    name; repeated headers are one entry whose values are joined with "," in the order they appear."""
    wanted = {name.lower() for name in signed}
    values: dict[str, list[str]] = {name: [] for name in wanted}
    for name, value in headers:
        lowered = name.lower()
        if lowered in wanted:
            values[lowered].append(trimall(value))
    return "".join("{}:{}\n".format(name, ",".join(values[name])) for name in sorted(wanted))


def signed_headers(names: Iterable[str]) -> str:
    """SignedHeaders: "the list of headers ... lowercase, sorted ... separated by semicolons"."""
    return ";".join(sorted({name.lower() for name in names}))


def hashed_payload(body: bytes) -> str:
    """HashedPayload: "Hex(SHA256Hash(<payload>))", lower-case hex."""
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    canonical_uri: str,
    canonical_query_string: str,
    canonical_headers: str,
    signed_headers: str,
    hashed_payload: str,
) -> str:
    """The six parts joined by "\\n"; canonical headers end in "\\n" themselves, hence the blank line."""
    parts = [method, canonical_uri, canonical_query_string, canonical_headers, signed_headers, hashed_payload]
    return "\n".join(parts)


# --- String to sign and signatures -------------------------------------------------------------------------------


def credential_scope(date: str, service: str, region: str | None = None) -> str:
    """V4: "date/region/service/aws4_request"; V4A drops the Region: "date/service/aws4_request"."""
    parts = [date] if region is None else [date, region]
    return "/".join(parts + [service, TERMINATOR])


def string_to_sign(algorithm: str, amz_date: str, scope: str, canonical_request: str) -> str:
    """"Algorithm \\n RequestDateTime \\n CredentialScope \\n HashedCanonicalRequest"."""
    hashed = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{algorithm}\n{amz_date}\n{scope}\n{hashed}"


def verify_ecdsa(key: ec.EllipticCurvePublicKey, string_to_sign: str, der_signature_hex: str) -> bool:
    """SigV4A: the signature is the hex of a DER ECDSA-P256 signature over SHA-256(string to sign)."""
    try:
        signature = bytes.fromhex(der_signature_hex)
        key.verify(signature, string_to_sign.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """V4: kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    key = _hmac_sha256(("AWS4" + secret_access_key).encode("utf-8"), date)
    for part in (region, service, TERMINATOR):
        key = _hmac_sha256(key, part)
    return key


def hmac_signature(key: bytes, string_to_sign: str) -> str:
    """V4: "Hex(HMAC-SHA256(kSigning, StringToSign))"."""
    return _hmac_sha256(key, string_to_sign).hex()
