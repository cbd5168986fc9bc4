"""Tests for the independent verifier in infra/local/s3/verifier.

Three references keep it honest: the aws-c-auth SigV4A vectors (tests/vectors/v4a), botocore's S3 SigV4 signer and
awscrt's SigV4A signer. The verifier itself uses none of them.
"""
from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from infra.local.s3.verifier import Credentials, S3Refusal, S3Verifier, VerifiedRequest, sigv4a
from infra.local.s3.verifier.s3 import region_set_covers

VECTORS = Path(__file__).resolve().parents[3] / "vectors" / "v4a"
CASES = sorted(p.name for p in VECTORS.iterdir() if p.is_dir())
# Every case applies; a skip here must say why.
SKIPPED_CASES: dict[str, str] = {}

Headers = list[tuple[str, str]]
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


# --- vector helpers ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpMessage:
    method: str
    target: str
    headers: Headers
    body: bytes

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str:
        return ",".join(v for k, v in self.headers if k.lower() == name.lower())


def parse_http(raw: bytes) -> HttpMessage:
    """Read a vector's request file: request line, headers (obs-fold unfolded), blank line, body.

    The target may contain raw spaces ("GET /example space/ HTTP/1.1"), so it is everything between the
    first and the last space of the request line.
    """
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rpartition(" ")[0]
    headers: Headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            # RFC 7230 3.2.4: "replace each received obs-fold with one or more SP octets".
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line)
        elif line:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return HttpMessage(method, target, headers, body)


@dataclass(frozen=True)
class Case:
    name: str
    context: dict

    def read(self, name: str) -> str:
        return (VECTORS / self.name / name).read_bytes().decode("utf-8")

    def message(self, name: str) -> HttpMessage:
        return parse_http((VECTORS / self.name / name).read_bytes())

    @property
    def creds(self) -> dict:
        return self.context["credentials"]

    @property
    def amz_date(self) -> str:
        stamp = datetime.datetime.strptime(self.context["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        return stamp.strftime(AMZ_DATE_FORMAT)

    @property
    def scope(self) -> str:
        return sigv4a.credential_scope(self.amz_date[:8], self.context["service"])

    @property
    def signs_token(self) -> bool:
        return "token" in self.creds and not self.context.get("omit_session_token", False)

    def canonical_uri(self, message: HttpMessage) -> str:
        # The generic suite: double encoding, and normalisation as context.json says.
        return sigv4a.canonical_uri(message.path, s3=False, normalize=self.context["normalize"])


def load_case(name: str) -> Case:
    if name in SKIPPED_CASES:
        pytest.skip(SKIPPED_CASES[name])
    return Case(name, json.loads((VECTORS / name / "context.json").read_text()))


def header_request_as_signer_sees_it(case: Case) -> tuple[HttpMessage, list[str]]:
    """request.txt plus the headers a SigV4A header signer adds, and the names it signs."""
    message = case.message("request.txt")
    added = [("X-Amz-Date", case.amz_date), ("X-Amz-Region-Set", case.context["region"])]
    if case.context["sign_body"]:
        added.append(("x-amz-content-sha256", sigv4a.hashed_payload(message.body)))
    if case.signs_token:
        added.append(("X-Amz-Security-Token", case.creds["token"]))
    headers = message.headers + added
    return HttpMessage(message.method, message.target, headers, message.body), [k for k, _ in headers]


def query_request_as_signer_sees_it(case: Case) -> tuple[HttpMessage, list[str]]:
    """request.txt plus the X-Amz-* query parameters a SigV4A presigner adds, and the header names it signs."""
    message = case.message("request.txt")
    names = [k for k, _ in message.headers]
    params = [
        ("X-Amz-Algorithm", sigv4a.ALGORITHM_V4A),
        ("X-Amz-Credential", case.creds["access_key_id"] + "/" + case.scope),
        ("X-Amz-Date", case.amz_date),
        ("X-Amz-SignedHeaders", sigv4a.signed_headers(names)),
        ("X-Amz-Expires", str(case.context["expiration_in_seconds"])),
        ("X-Amz-Region-Set", case.context["region"]),
    ]
    if case.signs_token:
        params.append(("X-Amz-Security-Token", case.creds["token"]))
    query = "&".join(p for p in [message.query] if p)
    added = "&".join(k + "=" + sigv4a.uri_encode(v.encode(), keep_slash=False) for k, v in params)
    target = message.path + "?" + (query + "&" + added if query else added)
    return HttpMessage(message.method, target, message.headers, message.body), names


def build_canonical_request(case: Case, message: HttpMessage, query: str, signed: list[str]) -> str:
    return sigv4a.canonical_request(
        message.method,
        case.canonical_uri(message),
        sigv4a.canonical_query_string(query),
        sigv4a.canonical_headers(message.headers, signed),
        sigv4a.signed_headers(signed),
        sigv4a.hashed_payload(message.body),
    )


def authorization_parts(value: str) -> dict[str, str]:
    _, _, rest = value.partition(" ")
    return dict(part.strip().split("=", 1) for part in rest.split(","))


def query_params(query: str) -> dict[str, str]:
    return dict(piece.split("=", 1) for piece in query.split("&") if piece)


def flip_last_bit(text: str) -> str:
    return text[:-1] + chr(ord(text[-1]) ^ 1)


def flip_last_hex_bit(der_hex: str) -> str:
    """Flip the lowest bit of the last byte, which lies inside s: still valid DER, a different signature."""
    return der_hex[:-1] + format(int(der_hex[-1], 16) ^ 1, "x")


# --- the vectors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_derived_public_key_matches_vector(name: str) -> None:
    case = load_case(name)
    expected = json.loads(case.read("public-key.json"))
    numbers = sigv4a.public_key(case.creds["access_key_id"], case.creds["secret_access_key"]).public_numbers()
    assert (format(numbers.x, "064x"), format(numbers.y, "064x")) == (expected["X"], expected["Y"])


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_header_canonical_request_from_unsigned_request(name: str) -> None:
    case = load_case(name)
    message, signed = header_request_as_signer_sees_it(case)
    assert build_canonical_request(case, message, message.query, signed) == case.read("header-canonical-request.txt")


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_header_canonical_request_from_signed_request(name: str) -> None:
    case = load_case(name)
    message = case.message("header-signed-request.txt")
    signed = authorization_parts(message.header("Authorization"))["SignedHeaders"].split(";")
    assert build_canonical_request(case, message, message.query, signed) == case.read("header-canonical-request.txt")


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_query_canonical_request_from_unsigned_request(name: str) -> None:
    case = load_case(name)
    message, signed = query_request_as_signer_sees_it(case)
    assert build_canonical_request(case, message, message.query, signed) == case.read("query-canonical-request.txt")


def presigned_query_as_signed(case: Case, message: HttpMessage) -> str:
    query = sigv4a.query_without_signature(message.query)
    if case.context.get("omit_session_token"):
        # omit_session_token: the signer appended X-Amz-Security-Token after signing, so it is not in the signature.
        query = "&".join(p for p in query.split("&") if not p.startswith("X-Amz-Security-Token="))
    return query


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_query_canonical_request_from_signed_request(name: str) -> None:
    case = load_case(name)
    message = case.message("query-signed-request.txt")
    signed = query_params(message.query)["X-Amz-SignedHeaders"].replace("%3B", ";").split(";")
    creq = build_canonical_request(case, message, presigned_query_as_signed(case, message), signed)
    assert creq == case.read("query-canonical-request.txt")


@pytest.mark.parametrize("variant", ["header", "query"])
@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_string_to_sign_matches_vector(name: str, variant: str) -> None:
    case = load_case(name)
    creq = case.read(f"{variant}-canonical-request.txt")
    sts = sigv4a.string_to_sign(sigv4a.ALGORITHM_V4A, case.amz_date, case.scope, creq)
    assert sts == case.read(f"{variant}-string-to-sign.txt")


def vector_signatures(case: Case, variant: str) -> list[str]:
    """The standalone signature file and the signature inside the signed request (ECDSA: they differ)."""
    signed = case.message(f"{variant}-signed-request.txt")
    if variant == "header":
        embedded = authorization_parts(signed.header("Authorization"))["Signature"]
    else:
        embedded = query_params(signed.query)["X-Amz-Signature"]
    return [case.read(f"{variant}-signature.txt").strip(), embedded]


def own_string_to_sign(case: Case, variant: str) -> str:
    build = header_request_as_signer_sees_it if variant == "header" else query_request_as_signer_sees_it
    message, signed = build(case)
    creq = build_canonical_request(case, message, message.query, signed)
    return sigv4a.string_to_sign(sigv4a.ALGORITHM_V4A, case.amz_date, case.scope, creq)


@pytest.mark.parametrize("variant", ["header", "query"])
@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_vector_signatures_verify_with_derived_key(name: str, variant: str) -> None:
    case = load_case(name)
    key = sigv4a.public_key(case.creds["access_key_id"], case.creds["secret_access_key"])
    sts = own_string_to_sign(case, variant)
    for signature in vector_signatures(case, variant):
        assert sigv4a.verify_ecdsa(key, sts, signature)


@pytest.mark.parametrize("variant", ["header", "query"])
@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_one_bit_flips_are_rejected(name: str, variant: str) -> None:
    case = load_case(name)
    access_key, secret = case.creds["access_key_id"], case.creds["secret_access_key"]
    key = sigv4a.public_key(access_key, secret)
    sts = own_string_to_sign(case, variant)
    for signature in vector_signatures(case, variant):
        assert not sigv4a.verify_ecdsa(key, sts, flip_last_hex_bit(signature))
        assert not sigv4a.verify_ecdsa(key, flip_last_bit(sts), signature)
        assert not sigv4a.verify_ecdsa(sigv4a.public_key(access_key, flip_last_bit(secret)), sts, signature)
        assert not sigv4a.verify_ecdsa(sigv4a.public_key(flip_last_bit(access_key), secret), sts, signature)


def test_vector_set_is_complete() -> None:
    assert len(CASES) == 38


# --- S3 canonical URI, query and region set ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire_path", "canonical"),
    [
        ("/my key.txt", "/my%20key.txt"),
        ("/my%20key.txt", "/my%20key.txt"),
        ("/caf\u00e9/\u30ad\u30fc", "/caf%C3%A9/%E3%82%AD%E3%83%BC"),
        ("/caf%C3%A9", "/caf%C3%A9"),
        ("/a+b", "/a%2Bb"),
        ("/a%2Bb", "/a%2Bb"),
        ("/a(b)c:d@e!f*g'h,i$j~k", "/a%28b%29c%3Ad%40e%21f%2Ag%27h%2Ci%24j~k"),
        ("/a%28b%29c%3Ad%40e%21f%2Ag%27h%2Ci%24j~k", "/a%28b%29c%3Ad%40e%21f%2Ag%27h%2Ci%24j~k"),
        ("/dir%2Fkey", "/dir/key"),
        ("/a%3ab%c3%a9", "/a%3Ab%C3%A9"),
        ("/%41%7E", "/A~"),
        ("/a/../b//c/./d/", "/a/../b//c/./d/"),
        ("/%25", "/%25"),
    ],
    ids=[
        "raw space", "encoded space", "raw unicode", "encoded unicode", "raw plus is %2B", "encoded plus",
        "raw sub-delims", "encoded sub-delims", "%2F decodes to slash", "lower-case escapes become upper-case",
        "over-encoded unreserved is decoded", "dot segments and double slashes kept", "literal percent",
    ],
)
def test_s3_canonical_uri_decodes_once_and_encodes_once(wire_path: str, canonical: str) -> None:
    assert sigv4a.canonical_uri(wire_path, s3=True, normalize=False) == canonical


def test_generic_canonical_uri_double_encodes_where_s3_does_not() -> None:
    assert sigv4a.canonical_uri("/a%20b", s3=False, normalize=False) == "/a%2520b"
    assert sigv4a.canonical_uri("/a%20b", s3=True, normalize=False) == "/a%20b"


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("b=2&a=1&a=0", "a=0&a=1&b=2"),
        ("acl", "acl="),
        ("prefix=a/b&delimiter=/", "delimiter=%2F&prefix=a%2Fb"),
        ("k=a%2fb%7e", "k=a%2Fb~"),
        ("k=a b", "k=a%20b"),
        ("", ""),
    ],
    ids=["sorted by name then value", "empty value", "slash encoded", "re-encoded", "space", "no query"],
)
def test_canonical_query_string(query: str, canonical: str) -> None:
    assert sigv4a.canonical_query_string(query) == canonical


def test_trimall_collapses_inner_whitespace_runs() -> None:
    assert sigv4a.trimall('  "a   b \t c"  ') == '"a b c"'


@pytest.mark.parametrize(
    ("region_set", "covered"),
    [
        (("*",), True),
        (("eu-west-2",), True),
        (("us-east-1", "eu-west-2"), True),
        (("eu-*",), True),
        (("us-*",), False),
        (("eu-west-1",), False),
        (("eu-west-2x",), False),
    ],
)
def test_region_set_covers(region_set: tuple[str, ...], covered: bool) -> None:
    assert region_set_covers(region_set, "eu-west-2") is covered


# --- cross-check against botocore's S3 SigV4 signer --------------------------------------------------------------

REGION = "eu-west-2"
BUCKET_HOST = "example-bucket.s3.eu-west-2.amazonaws.com"
MRAP_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/+=="
SIGNED_AT = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
CREDS = Credentials(access_key_id=ACCESS_KEY, secret_access_key=SECRET)

# S3 GET targets already in S3's canonical form, as the edge function must put them on the wire.
S3_TARGETS = [
    "/photos/2024/cat.jpg",
    "/my%20key%20%28v2%29.txt",
    "/caf%C3%A9/a%2Bb%3Ac%40d",
    "/a/../b//c/./d",
    "/report.pdf?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    "&response-content-disposition=attachment%3B%20filename%3Da.pdf",
    "/?list-type=2&prefix=a%2Fb&delimiter=%2F",
    "/data.bin?acl",
]


def botocore_request(target: str, extra_headers: Headers = ()) -> AWSRequest:
    request = AWSRequest(method="GET", url="https://" + BUCKET_HOST + target, headers=dict(extra_headers))
    request.headers["X-Amz-Date"] = SIGNED_AT.strftime(AMZ_DATE_FORMAT)
    request.headers["X-Amz-Content-SHA256"] = sigv4a.EMPTY_SHA256
    return request


def wire_headers(request: AWSRequest) -> Headers:
    # botocore signs the Host derived from the URL without adding the header; HTTP puts it on the wire.
    return [("Host", BUCKET_HOST)] + list(request.headers.items())


@pytest.mark.parametrize("target", S3_TARGETS)
def test_canonical_request_equals_botocore_s3(target: str) -> None:
    request = botocore_request(target, [("Range", "bytes=0-99"), ("X-Amz-Cf-Id", "abc==")])
    signer = S3SigV4Auth(BotocoreCredentials(ACCESS_KEY, SECRET), "s3", REGION)
    signed = signer.signed_headers(signer.headers_to_sign(request)).split(";")
    ours = sigv4a.canonical_request(
        "GET",
        sigv4a.canonical_uri(target.partition("?")[0], s3=True, normalize=False),
        sigv4a.canonical_query_string(target.partition("?")[2]),
        sigv4a.canonical_headers(wire_headers(request), signed),
        sigv4a.signed_headers(signed),
        sigv4a.EMPTY_SHA256,
    )
    assert ours == signer.canonical_request(request)


def botocore_signed(target: str, token: str | None = None) -> Headers:
    request = AWSRequest(method="GET", url="https://" + BUCKET_HOST + target)
    signer = S3SigV4Auth(BotocoreCredentials(ACCESS_KEY, SECRET, token), "s3", REGION)
    signer.add_auth(request)
    return wire_headers(request)


def clock_for(headers: Headers) -> Callable[[], datetime.datetime]:
    """A clock frozen at the request's own X-Amz-Date, so no test depends on the real time."""
    amz_date = next(v for k, v in headers if k.lower() == "x-amz-date")
    frozen = datetime.datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
    return lambda: frozen


def v4_verifier(headers: Headers, **overrides: object) -> S3Verifier:
    settings: dict = {"credentials": [CREDS], "region": REGION, "expected_host": BUCKET_HOST,
                      "clock": clock_for(headers)}
    settings.update(overrides)
    return S3Verifier(**settings)


@pytest.mark.parametrize("target", S3_TARGETS)
def test_botocore_v4_request_is_accepted(target: str) -> None:
    headers = botocore_signed(target)
    result = v4_verifier(headers).verify(method="GET", target=target, headers=headers)
    assert result.algorithm == sigv4a.ALGORITHM_V4
    assert result.region_set is None
    assert "host" in result.signed_headers


def replace_header(headers: Headers, name: str, value: str) -> Headers:
    return [(k, value if k.lower() == name.lower() else v) for k, v in headers]


def test_botocore_v4_request_fails_when_tampered() -> None:
    target = "/report.pdf?versionId=1"
    headers = botocore_signed(target)
    verifier = v4_verifier(headers)
    tampered = [
        ("HEAD", target, headers),
        ("GET", "/report.pdX?versionId=1", headers),
        ("GET", "/report.pdf?versionId=2", headers),
        ("GET", target, replace_header(headers, "Authorization",
                                       flip_last_hex_bit(dict(headers)["Authorization"]))),
    ]
    for method, wire_target, wire in tampered:
        with pytest.raises(S3Refusal) as refused:
            verifier.verify(method=method, target=wire_target, headers=wire)
        assert refused.value.code == "SignatureDoesNotMatch"


# --- SigV4A requests signed by awscrt ----------------------------------------------------------------------------

TEMP_CREDS = Credentials(access_key_id="ASIDEXAMPLE", secret_access_key=SECRET[::-1], session_token=TOKEN)


def crt_signed(
    method: str,
    target: str,
    headers: Headers = (),
    *,
    creds: Credentials = CREDS,
    region_set: str = "*",
    body_hash: str | None = sigv4a.EMPTY_SHA256,
) -> Headers:
    """Sign like the edge function does: SigV4A, S3 settings, x-amz-content-sha256; returns the wire headers."""
    provider = crt_auth.AwsCredentialsProvider.new_static(
        creds.access_key_id, creds.secret_access_key, creds.session_token)
    config = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
        credentials_provider=provider,
        region=region_set,
        service="s3",
        date=SIGNED_AT,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
        signed_body_value=body_hash,
        signed_body_header_type=(crt_auth.AwsSignedBodyHeaderType.NONE if body_hash is None
                                 else crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256),
    )
    request = crt_http.HttpRequest(method, target, crt_http.HttpHeaders([("Host", MRAP_HOST), *headers]))
    return list(crt_auth.aws_sign_request(request, config).result().headers)


def mrap_verifier(**overrides: object) -> S3Verifier:
    settings: dict = {"credentials": [CREDS, TEMP_CREDS], "region": REGION, "expected_host": MRAP_HOST,
                      "clock": lambda: SIGNED_AT}
    settings.update(overrides)
    return S3Verifier(**settings)


@pytest.mark.parametrize("target", S3_TARGETS)
def test_awscrt_v4a_request_is_accepted(target: str) -> None:
    headers = crt_signed("GET", target, [("Range", "bytes=0-99"), ("X-Amz-Cf-Id", "abc==")])
    result = mrap_verifier().verify(method="GET", target=target, headers=headers)
    assert isinstance(result, VerifiedRequest)
    assert (result.algorithm, result.access_key_id, result.region_set) == (sigv4a.ALGORITHM_V4A, ACCESS_KEY, ("*",))
    assert result.signed_headers == ("host", "range", "x-amz-cf-id", "x-amz-content-sha256", "x-amz-date",
                                     "x-amz-region-set")
    assert result.string_to_sign.split("\n")[2] == "20240501/s3/aws4_request"


def test_awscrt_v4a_request_with_session_token_and_body_is_accepted() -> None:
    body = b'{"hello": "world"}'
    headers = crt_signed("PUT", "/upload.json", [("Content-Type", "application/json")], creds=TEMP_CREDS,
                         body_hash=sigv4a.hashed_payload(body))
    result = mrap_verifier().verify(method="PUT", target="/upload.json", headers=headers, body=body)
    assert "x-amz-security-token" in result.signed_headers
    assert "content-type" in result.signed_headers


TAMPER_TARGET = "/photos/my%20cat.jpg?versionId=7"
TAMPERS: dict[str, Callable[[str, str, Headers], tuple[str, str, Headers]]] = {
    "method": lambda m, t, h: ("HEAD", t, h),
    "path": lambda m, t, h: (m, t.replace("cat", "dog"), h),
    "query": lambda m, t, h: (m, t.replace("versionId=7", "versionId=8"), h),
    "x-amz-date": lambda m, t, h: (m, t, replace_header(h, "X-Amz-Date", "20240501T120001Z")),
    "region set": lambda m, t, h: (m, t, replace_header(h, "X-Amz-Region-Set", "eu-west-2")),
    "content sha256": lambda m, t, h: (m, t, replace_header(h, "x-amz-content-sha256", sigv4a.UNSIGNED_PAYLOAD)),
    "range": lambda m, t, h: (m, t, replace_header(h, "Range", "bytes=0-100")),
    "x-amz-cf-id": lambda m, t, h: (m, t, replace_header(h, "X-Amz-Cf-Id", "abd==")),
    "host": lambda m, t, h: (m, t, replace_header(h, "Host", MRAP_HOST.upper())),
    "signature": lambda m, t, h: (m, t, replace_header(h, "Authorization",
                                                       flip_last_hex_bit(dict(h)["Authorization"]))),
}


@pytest.mark.parametrize("part", list(TAMPERS))
def test_awscrt_v4a_request_fails_when_a_signed_part_is_tampered(part: str) -> None:
    headers = crt_signed("GET", TAMPER_TARGET, [("Range", "bytes=0-99"), ("X-Amz-Cf-Id", "abc==")])
    mrap_verifier().verify(method="GET", target=TAMPER_TARGET, headers=headers)  # untampered: accepted
    method, target, tampered = TAMPERS[part]("GET", TAMPER_TARGET, headers)
    with pytest.raises(S3Refusal) as refused:
        mrap_verifier().verify(method=method, target=target, headers=tampered)
    assert refused.value.code == "SignatureDoesNotMatch"


def test_path_signed_verbatim_in_non_canonical_form_is_refused() -> None:
    # awscrt with use_double_uri_encode=False signs the path as given; S3 re-encodes "(" and ")".
    headers = crt_signed("GET", "/a(b).txt")
    with pytest.raises(S3Refusal) as refused:
        mrap_verifier().verify(method="GET", target="/a(b).txt", headers=headers)
    assert refused.value.details["CanonicalRequest"].split("\n")[1] == "/a%28b%29.txt"


# --- refusals and their XML --------------------------------------------------------------------------------------


def refused(verifier: S3Verifier, method: str, target: str, headers: Headers, body: bytes = b"") -> dict[str, str]:
    """Run a request that must be refused; return the error XML parsed back as {element: text}."""
    with pytest.raises(S3Refusal) as caught:
        verifier.verify(method=method, target=target, headers=headers, body=body)
    refusal = caught.value
    xml = refusal.to_xml()
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>')
    root = ET.fromstring(xml)
    assert root.tag == "Error"
    elements = {child.tag: child.text or "" for child in root}
    assert list(elements)[:2] == ["Code", "Message"] and list(elements)[-1] == "RequestId"
    assert elements["Code"] == refusal.code and elements["Message"] == refusal.message
    assert {k: elements[k] for k in refusal.details} == refusal.details
    elements["Status"] = str(refusal.status)
    return elements


def with_authorization(headers: Headers, edit: Callable[[str], str]) -> Headers:
    return replace_header(headers, "Authorization", edit(dict(headers)["Authorization"]))


def test_missing_authorization_is_access_denied() -> None:
    headers = [(k, v) for k, v in crt_signed("GET", "/k") if k != "Authorization"]
    error = refused(mrap_verifier(), "GET", "/k", headers)
    assert (error["Status"], error["Code"]) == ("403", "AccessDenied")


@pytest.mark.parametrize(
    "edit",
    [
        lambda a: a.split(", Signature=")[0],
        lambda a: a.replace("/20240501/s3/", "/20240501/eu-west-2/s3/"),
        lambda a: a.replace("/s3/aws4_request", "/ec2/aws4_request"),
        lambda a: a.replace("aws4_request", "aws5_request"),
    ],
    ids=["no signature", "v4a scope with a region", "wrong service", "wrong terminator"],
)
def test_malformed_authorization(edit: Callable[[str], str]) -> None:
    error = refused(mrap_verifier(), "GET", "/k", with_authorization(crt_signed("GET", "/k"), edit))
    assert (error["Status"], error["Code"]) == ("400", "AuthorizationHeaderMalformed")


def test_unsupported_algorithm_is_invalid_argument() -> None:
    headers = with_authorization(crt_signed("GET", "/k"), lambda a: "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
    error = refused(mrap_verifier(), "GET", "/k", headers)
    assert (error["Status"], error["Code"], error["ArgumentName"]) == ("400", "InvalidArgument", "Authorization")


def test_unknown_access_key() -> None:
    stranger = Credentials(access_key_id="AKIDSTRANGER", secret_access_key=SECRET)
    error = refused(mrap_verifier(), "GET", "/k", crt_signed("GET", "/k", creds=stranger))
    assert (error["Status"], error["Code"], error["AWSAccessKeyId"]) == ("403", "InvalidAccessKeyId", "AKIDSTRANGER")


def test_v4_signature_to_an_mrap_is_refused() -> None:
    headers = replace_header(botocore_signed("/k"), "Host", MRAP_HOST)
    error = refused(v4_verifier(headers, expected_host=MRAP_HOST), "GET", "/k", headers)
    assert (error["Status"], error["Code"]) == ("400", "AuthorizationHeaderMalformed")
    assert "SigV4A" in error["Message"]


def test_v4_signature_for_another_region_is_refused() -> None:
    headers = botocore_signed("/k")
    error = refused(v4_verifier(headers, region="us-east-1"), "GET", "/k", headers)
    assert (error["Status"], error["Code"], error["Region"]) == ("400", "AuthorizationHeaderMalformed", "us-east-1")


@pytest.mark.parametrize(
    ("make_headers", "not_signed"),
    [
        (lambda: crt_signed("GET", "/k") + [("X-Amz-Cf-Id", "abc==")], "x-amz-cf-id"),
        (lambda: crt_signed("GET", "/k") + [("Content-Type", "text/plain"), ("x-amz-meta-a", "1")],
         "content-type, x-amz-meta-a"),
        (lambda: with_authorization(crt_signed("GET", "/k"), lambda a: a.replace("=host;", "=")), "host"),
        (lambda: with_authorization(crt_signed("GET", "/k"), lambda a: a.replace(";x-amz-region-set", "")),
         "x-amz-region-set"),
    ],
    ids=["x-amz-cf-id added after signing", "content-type and x-amz-meta", "host", "region set"],
)
def test_unsigned_headers_are_access_denied(make_headers: Callable[[], Headers], not_signed: str) -> None:
    error = refused(mrap_verifier(), "GET", "/k", make_headers())
    assert (error["Status"], error["Code"], error["HeadersNotSigned"]) == ("403", "AccessDenied", not_signed)


@pytest.mark.parametrize("region_set", ["eu-*", "us-east-1,eu-west-2", "eu-west-2"])
def test_region_set_covering_the_region_is_accepted(region_set: str) -> None:
    headers = crt_signed("GET", "/k", region_set=region_set)
    assert mrap_verifier().verify(method="GET", target="/k", headers=headers).region_set == tuple(
        region_set.split(","))


def test_region_set_not_covering_the_region_is_refused() -> None:
    error = refused(mrap_verifier(), "GET", "/k", crt_signed("GET", "/k", region_set="us-*"))
    assert (error["Status"], error["Code"], error["Region"]) == ("400", "AuthorizationHeaderMalformed", REGION)


def test_missing_content_sha256_is_invalid_request() -> None:
    error = refused(mrap_verifier(), "GET", "/k", crt_signed("GET", "/k", body_hash=None))
    assert (error["Status"], error["Code"]) == ("400", "InvalidRequest")
    assert "x-amz-content-sha256" in error["Message"]


def test_content_sha256_not_matching_the_body() -> None:
    headers = crt_signed("PUT", "/k", body_hash=sigv4a.hashed_payload(b"hello"))
    error = refused(mrap_verifier(), "PUT", "/k", headers, body=b"hellO")
    assert (error["Status"], error["Code"]) == ("400", "XAmzContentSHA256Mismatch")
    assert error["ClientComputedContentSHA256"] == sigv4a.hashed_payload(b"hello")
    assert error["S3ComputedContentSHA256"] == sigv4a.hashed_payload(b"hellO")


def test_content_sha256_that_is_no_hash_is_invalid_argument() -> None:
    error = refused(mrap_verifier(), "PUT", "/k", crt_signed("PUT", "/k", body_hash="not-a-hash"))
    assert (error["Status"], error["Code"]) == ("400", "InvalidArgument")


def test_unsigned_payload_accepts_any_body() -> None:
    headers = crt_signed("PUT", "/k", body_hash=sigv4a.UNSIGNED_PAYLOAD)
    assert mrap_verifier().verify(method="PUT", target="/k", headers=headers, body=b"anything")


def test_missing_x_amz_date_is_access_denied() -> None:
    headers = [(k, v) for k, v in crt_signed("GET", "/k") if k.lower() != "x-amz-date"]
    error = refused(mrap_verifier(), "GET", "/k", headers)
    assert (error["Status"], error["Code"]) == ("403", "AccessDenied")


@pytest.mark.parametrize("offset_minutes", [16, -16])
def test_request_time_too_skewed(offset_minutes: int) -> None:
    now = SIGNED_AT + datetime.timedelta(minutes=offset_minutes)
    error = refused(mrap_verifier(clock=lambda: now), "GET", "/k", crt_signed("GET", "/k"))
    assert (error["Status"], error["Code"]) == ("403", "RequestTimeTooSkewed")
    assert error["RequestTime"] == "20240501T120000Z"
    assert error["ServerTime"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert error["MaxAllowedSkewMilliseconds"] == "900000"


@pytest.mark.parametrize("offset_minutes", [14, -14])
def test_skew_within_the_limit_is_accepted(offset_minutes: int) -> None:
    now = SIGNED_AT + datetime.timedelta(minutes=offset_minutes)
    assert mrap_verifier(clock=lambda: now).verify(method="GET", target="/k", headers=crt_signed("GET", "/k"))


def test_scope_date_other_than_x_amz_date_is_malformed() -> None:
    headers = with_authorization(crt_signed("GET", "/k"), lambda a: a.replace("/20240501/", "/20240430/"))
    error = refused(mrap_verifier(), "GET", "/k", headers)
    assert (error["Status"], error["Code"]) == ("400", "AuthorizationHeaderMalformed")


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda: crt_signed("GET", "/k", creds=Credentials(TEMP_CREDS.access_key_id, TEMP_CREDS.secret_access_key)),
        lambda: crt_signed("GET", "/k", creds=Credentials(TEMP_CREDS.access_key_id, TEMP_CREDS.secret_access_key,
                                                          TOKEN + "x")),
        lambda: with_authorization(crt_signed("GET", "/k", creds=TEMP_CREDS),
                                   lambda a: a.replace(";x-amz-security-token", "")),
        lambda: crt_signed("GET", "/k", creds=Credentials(ACCESS_KEY, SECRET, TOKEN)),
    ],
    ids=["token missing", "token wrong", "token not signed", "token sent for long-term credentials"],
)
def test_session_token_problems_are_invalid_token(make_headers: Callable[[], Headers]) -> None:
    error = refused(mrap_verifier(), "GET", "/k", make_headers())
    assert (error["Status"], error["Code"]) == ("403", "InvalidToken")


def test_host_other_than_expected_is_refused() -> None:
    headers = replace_header(crt_signed("GET", "/k"), "Host", "other.mrap.accesspoint.s3-global.amazonaws.com")
    error = refused(mrap_verifier(), "GET", "/k", headers)
    assert (error["Status"], error["Code"]) == ("400", "InvalidRequest")
    assert (error["Host"], error["ExpectedHost"]) == ("other.mrap.accesspoint.s3-global.amazonaws.com", MRAP_HOST)


def test_two_host_headers_are_refused() -> None:
    headers = crt_signed("GET", "/k") + [("Host", MRAP_HOST)]
    assert refused(mrap_verifier(), "GET", "/k", headers)["Code"] == "InvalidRequest"


def test_signature_mismatch_echoes_what_s3_computed() -> None:
    headers = crt_signed("GET", "/a%26b?x=1&y=%3C")
    error = refused(mrap_verifier(), "GET", "/a%26c?x=1&y=%3C", headers)
    assert (error["Status"], error["Code"]) == ("403", "SignatureDoesNotMatch")
    creq = error["CanonicalRequest"]
    assert creq.split("\n")[:3] == ["GET", "/a%26c", "x=1&y=%3C"]
    assert error["StringToSign"].split("\n") == [
        sigv4a.ALGORITHM_V4A, "20240501T120000Z", "20240501/s3/aws4_request",
        sigv4a.hashed_payload(creq.encode()),
    ]
    assert error["SignatureProvided"] == authorization_parts(dict(headers)["Authorization"])["Signature"]
    assert bytes.fromhex(error["CanonicalRequestBytes"].replace(" ", "")) == creq.encode()
