"""An S3-like request verifier: the checks S3 (and an S3 Multi-Region Access Point) applies to a signed request
before it serves it, answering with S3's error codes and error XML.

Only the spec functions of `sigv4a` are used to rebuild what the client signed; nothing here comes from awscrt or
botocore. Which S3 rule each check plays is documented in docs/verifier.md.
"""
from __future__ import annotations

import datetime
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.asymmetric import ec

from . import sigv4a

__all__ = ["Credentials", "S3Refusal", "S3Verifier", "VerifiedRequest"]

SERVICE = "s3"
MRAP_HOST_SUFFIX = ".mrap.accesspoint.s3-global.amazonaws.com"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# "x-amz-content-sha256 ... UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value"; streaming is not played here.
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Credentials:
    """One access key S3 knows. The secret and token stay out of repr()."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class VerifiedRequest:
    """What S3 accepted: the intermediate values, for tests to assert on."""

    algorithm: str
    access_key_id: str
    signed_headers: tuple[str, ...]
    canonical_request: str
    string_to_sign: str
    region_set: tuple[str, ...] | None


class S3Refusal(Exception):
    """An S3 error answer: HTTP status, S3 error code, message and the extra elements S3 adds to its XML."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, str] | None = None,
        *, request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, str] = dict(details or {})
        # S3 request ids are 16 upper-case hex characters.
        self.request_id = request_id or secrets.token_hex(8).upper()
        super().__init__(f"{status} {code}: {message}")

    def to_xml(self) -> bytes:
        """S3's error document: Code, Message, the details as elements, then RequestId."""
        elements = [("Code", self.code), ("Message", self.message), *self.details.items()]
        elements.append(("RequestId", self.request_id))
        body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in elements)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + body + "</Error>").encode("utf-8")


@dataclass(frozen=True)
class _Authorization:
    """The parts of "<Algorithm> Credential=<key>/<scope>, SignedHeaders=<a;b>, Signature=<hex>"."""

    algorithm: str
    access_key_id: str
    scope: str
    scope_date: str
    scope_region: str | None
    signed_headers: tuple[str, ...]
    signature: str


def _malformed(reason: str, **details: str) -> S3Refusal:
    return S3Refusal(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; " + reason, details)


def header_values(headers: Headers, name: str) -> list[str]:
    """All values of one header, in wire order (header names are case-insensitive)."""
    return [value for key, value in headers if key.lower() == name]


def _single_header(headers: Headers, name: str) -> str | None:
    values = header_values(headers, name)
    return ",".join(v.strip() for v in values) if values else None


def parse_authorization(value: str) -> _Authorization:
    """Split the Authorization header; every shape error is S3's 400 AuthorizationHeaderMalformed."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm not in (sigv4a.ALGORITHM_V4, sigv4a.ALGORITHM_V4A):
        raise S3Refusal(400, "InvalidArgument", "Unsupported Authorization Type",
                        {"ArgumentName": "Authorization", "ArgumentValue": value})
    fields = {}
    for part in rest.split(","):
        name, sep, content = part.strip().partition("=")
        if sep:
            fields[name] = content
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise _malformed("missing " + ", ".join(missing) + ".")
    # V4 scope: "<date>/<region>/s3/aws4_request"; V4A has no Region: "<date>/s3/aws4_request".
    credential = fields["Credential"].split("/")
    expected_parts = 5 if algorithm == sigv4a.ALGORITHM_V4 else 4
    if len(credential) != expected_parts or not re.fullmatch(r"\d{8}", credential[1]):
        raise _malformed('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/{}s3/aws4_request".'.format(
            "REGION/" if expected_parts == 5 else ""))
    if credential[-1] != sigv4a.TERMINATOR:
        raise _malformed(f"incorrect terminal '{credential[-1]}'. This endpoint uses 'aws4_request'.")
    if credential[-2] != SERVICE:
        raise _malformed(f"incorrect service '{credential[-2]}'. This endpoint belongs to 's3'.")
    return _Authorization(
        algorithm=algorithm,
        access_key_id=credential[0],
        scope="/".join(credential[1:]),
        scope_date=credential[1],
        scope_region=credential[2] if expected_parts == 5 else None,
        signed_headers=tuple(fields["SignedHeaders"].lower().split(";")),
        signature=fields["Signature"],
    )


def region_set_covers(region_set: Iterable[str], region: str) -> bool:
    """X-Amz-Region-Set: "*", exact Regions, or wildcard patterns such as "us-*"; only "*" is special."""
    for pattern in region_set:
        regex = ".*".join(re.escape(piece) for piece in pattern.lower().split("*"))
        if re.fullmatch(regex, region.lower()):
            return True
    return False


def unsigned_required_headers(headers: Headers, signed: Iterable[str]) -> list[str]:
    """S3 wants `host`, `content-type` when present, and every `x-amz-*` header present to be signed."""
    signed_set = set(signed)
    present = []
    for name, _ in headers:
        lowered = name.lower()
        if lowered not in present:
            present.append(lowered)
    return [
        name for name in present
        if (name in ("host", "content-type") or name.startswith("x-amz-")) and name not in signed_set
    ]


class S3Verifier:
    """Plays S3 for signed requests: V4A anywhere, V4 for `region` unless the endpoint is an MRAP."""

    def __init__(
        self,
        *,
        credentials: Iterable[Credentials],
        region: str,
        expected_host: str | None = None,
        max_skew: datetime.timedelta = datetime.timedelta(minutes=15),
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc),
    ) -> None:
        self.credentials = {c.access_key_id: c for c in credentials}
        self.region = region
        self.expected_host = expected_host
        self.max_skew = max_skew
        self.clock = clock
        self._public_keys: dict[str, ec.EllipticCurvePublicKey] = {}

    @property
    def is_mrap(self) -> bool:
        return self.expected_host is not None and self.expected_host.lower().endswith(MRAP_HOST_SUFFIX)

    def verify(self, *, method: str, target: str, headers: Headers, body: bytes = b"") -> VerifiedRequest:
        """Accept the request or raise the S3Refusal S3 would answer with; checks run in the order S3 meets them."""
        path, _, query = target.partition("?")
        self._check_host(headers)
        auth = self._authorization(headers)
        creds = self._credentials_for(auth)
        self._check_date(headers, auth)
        self._check_session_token(headers, creds, auth)
        self._check_signed_headers(headers, auth)
        region_set = self._check_region_set(headers, auth)
        payload_hash = self._declared_payload_hash(headers)

        creq = sigv4a.canonical_request(
            method,
            sigv4a.canonical_uri(path, s3=True, normalize=False),
            sigv4a.canonical_query_string(query),
            sigv4a.canonical_headers(headers, auth.signed_headers),
            sigv4a.signed_headers(auth.signed_headers),
            payload_hash,
        )
        amz_date = _single_header(headers, "x-amz-date") or ""
        sts = sigv4a.string_to_sign(auth.algorithm, amz_date, auth.scope, creq)
        if not self._signature_matches(auth, creds, sts):
            raise S3Refusal(403, "SignatureDoesNotMatch",
                            "The request signature we calculated does not match the signature you provided. "
                            "Check your key and signing method.", _mismatch_details(auth, creq, sts))
        self._check_payload(payload_hash, body)
        return VerifiedRequest(
            algorithm=auth.algorithm,
            access_key_id=auth.access_key_id,
            signed_headers=tuple(sigv4a.signed_headers(auth.signed_headers).split(";")),
            canonical_request=creq,
            string_to_sign=sts,
            region_set=region_set,
        )

    # --- checks, in order -----------------------------------------------------------------------------------------

    def _check_host(self, headers: Headers) -> None:
        # Routing comes before authentication: a request for another host never reaches this endpoint.
        hosts = header_values(headers, "host")
        if len(hosts) != 1:
            raise S3Refusal(400, "InvalidRequest", f"A request needs exactly one Host header; got {len(hosts)}.")
        if self.expected_host and hosts[0].strip().lower() != self.expected_host.lower():
            raise S3Refusal(400, "InvalidRequest", "The Host header does not name this endpoint.",
                            {"Host": hosts[0], "ExpectedHost": self.expected_host})

    def _authorization(self, headers: Headers) -> _Authorization:
        value = _single_header(headers, "authorization")
        if value is None:
            raise S3Refusal(403, "AccessDenied", "Access Denied")
        auth = parse_authorization(value)
        if auth.algorithm == sigv4a.ALGORITHM_V4 and self.is_mrap:
            raise _malformed(f"Multi-Region Access Point requests must be signed with SigV4A "
                             f"({sigv4a.ALGORITHM_V4A}), not {sigv4a.ALGORITHM_V4}.", Region=self.region)
        if auth.scope_region is not None and auth.scope_region != self.region:
            raise _malformed(f"the region '{auth.scope_region}' is wrong; expecting '{self.region}'",
                             Region=self.region)
        return auth

    def _credentials_for(self, auth: _Authorization) -> Credentials:
        creds = self.credentials.get(auth.access_key_id)
        if creds is None:
            raise S3Refusal(403, "InvalidAccessKeyId",
                            "The AWS Access Key Id you provided does not exist in our records.",
                            {"AWSAccessKeyId": auth.access_key_id})
        return creds

    def _check_date(self, headers: Headers, auth: _Authorization) -> None:
        amz_date = _single_header(headers, "x-amz-date")
        if amz_date is None or not _AMZ_DATE.fullmatch(amz_date):
            raise S3Refusal(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
        try:
            request_time = datetime.datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise S3Refusal(403, "AccessDenied",
                            "AWS authentication requires a valid Date or x-amz-date header") from None
        if auth.scope_date != amz_date[:8]:
            raise _malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
        now = self.clock()
        if abs(now - request_time) > self.max_skew:
            raise S3Refusal(403, "RequestTimeTooSkewed",
                            "The difference between the request time and the current time is too large.", {
                                "RequestTime": amz_date,
                                "ServerTime": now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                "MaxAllowedSkewMilliseconds": str(int(self.max_skew.total_seconds() * 1000)),
                            })

    def _check_session_token(self, headers: Headers, creds: Credentials, auth: _Authorization) -> None:
        # Temporary credentials are only valid together with their token, and the token must be signed.
        token = _single_header(headers, "x-amz-security-token")
        expected = creds.session_token
        if expected is None and token is None:
            return
        if (expected is None or token is None or "x-amz-security-token" not in auth.signed_headers
                or not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))):
            raise S3Refusal(403, "InvalidToken", "The provided token is malformed or otherwise invalid.")

    def _check_signed_headers(self, headers: Headers, auth: _Authorization) -> None:
        unsigned = unsigned_required_headers(headers, auth.signed_headers)
        if unsigned:
            raise S3Refusal(403, "AccessDenied", "There were headers present in the request which were not signed",
                            {"HeadersNotSigned": ", ".join(unsigned)})

    def _check_region_set(self, headers: Headers, auth: _Authorization) -> tuple[str, ...] | None:
        if auth.algorithm != sigv4a.ALGORITHM_V4A:
            return None
        value = _single_header(headers, "x-amz-region-set")
        if value is None or "x-amz-region-set" not in auth.signed_headers:
            raise _malformed("SigV4A requests must sign an X-Amz-Region-Set header.", Region=self.region)
        region_set = tuple(part.strip() for part in value.split(",") if part.strip())
        if not region_set_covers(region_set, self.region):
            raise _malformed(f"the region set '{value}' does not include '{self.region}'",
                             Region=self.region)
        return region_set

    def _declared_payload_hash(self, headers: Headers) -> str:
        value = _single_header(headers, "x-amz-content-sha256")
        if value is None:
            raise S3Refusal(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if value != sigv4a.UNSIGNED_PAYLOAD and not _SHA256_HEX.fullmatch(value):
            raise S3Refusal(400, "InvalidArgument",
                            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value.",
                            {"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value})
        return value

    def _signature_matches(self, auth: _Authorization, creds: Credentials, sts: str) -> bool:
        if auth.algorithm == sigv4a.ALGORITHM_V4A:
            return sigv4a.verify_ecdsa(self._public_key(creds), sts, auth.signature)
        key = sigv4a.signing_key(creds.secret_access_key, auth.scope_date, self.region, SERVICE)
        return hmac.compare_digest(sigv4a.hmac_signature(key, sts), auth.signature)

    def _public_key(self, creds: Credentials) -> ec.EllipticCurvePublicKey:
        if creds.access_key_id not in self._public_keys:
            self._public_keys[creds.access_key_id] = sigv4a.public_key(creds.access_key_id, creds.secret_access_key)
        return self._public_keys[creds.access_key_id]

    @staticmethod
    def _check_payload(payload_hash: str, body: bytes) -> None:
        # The body is read after authentication; a declared hash that does not match what arrived is refused.
        if payload_hash == sigv4a.UNSIGNED_PAYLOAD:
            return
        computed = sigv4a.hashed_payload(body)
        if payload_hash != computed:
            raise S3Refusal(400, "XAmzContentSHA256Mismatch",
                            "The provided 'x-amz-content-sha256' header does not match what was computed.",
                            {"ClientComputedContentSHA256": payload_hash, "S3ComputedContentSHA256": computed})


def _bytes_hex(text: str) -> str:
    """S3 echoes the canonical request and string to sign as space-separated hex bytes too."""
    return " ".join(f"{b:02x}" for b in text.encode("utf-8"))


def _mismatch_details(auth: _Authorization, creq: str, sts: str) -> dict[str, str]:
    # For V4A S3 cannot know the "expected" signature (ECDSA is randomised), so only what was received is echoed.
    return {
        "AWSAccessKeyId": auth.access_key_id,
        "StringToSign": sts,
        "SignatureProvided": auth.signature,
        "StringToSignBytes": _bytes_hex(sts),
        "CanonicalRequest": creq,
        "CanonicalRequestBytes": _bytes_hex(creq),
    }
