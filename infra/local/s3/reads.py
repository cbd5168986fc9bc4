"""S3's answers to a reader (GetObject, HeadObject) that moto does not give: the checks S3 makes before it looks
for the object, the answers it gives by its own error code, and the headers a viewer may see.

Sources: S3 API reference, "GetObject" and "Error responses" (error codes and their statuses).
- A key is at most 1,024 bytes (UTF-8): 400 `KeyTooLongError`.
- `partNumber` is "a positive integer between 1 and 10,000": else 400 `InvalidArgument`; a part the object does not
  have is 416 `InvalidPartNumber` (objects here are never multipart uploads: one part).
- `versionId`: an id S3 cannot read is 400 `InvalidArgument` ("Invalid version id specified"). S3 does not document
  its id format; here an id is readable when it has the form this store hands out, or is `null` (inferred).
- "If the specified version is a delete marker, the response returns a 405 Method Not Allowed error and the
  Last-Modified: timestamp response header", with `x-amz-delete-marker: true`.
- "If the current version of the object is a delete marker, Amazon S3 behaves as if the object was deleted and
  includes x-amz-delete-marker: true in the response"; a missing key or version is 404 `NoSuchKey` /
  `NoSuchVersion` for a reader with `s3:ListBucket`, else 403 `AccessDenied` ("If you have the s3:ListBucket
  permission on the bucket, Amazon S3 returns an HTTP status code 404 Not Found error. If you don't have the
  s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access Denied error", GetObject).
- An object in S3 Glacier Flexible Retrieval or Deep Archive, not restored, is 403 `InvalidObjectState` ("The
  operation is not valid for the object's storage class").
- An SSE-KMS object needs `kms:Decrypt` on its key: without it S3 answers 403 `AccessDenied` with KMS's message
  (seen; the exact text is KMS's, not documented by S3).
- A `Range` in a unit other than `bytes` is ignored (RFC 9110, 14.2: an unknown range unit is ignored; S3 supports
  only `bytes`).
Everything else moto answers is passed on by S3's error code, without what moto adds of its own (its request id,
the body hash and SDK checksum headers, its server and CORS headers).
"""
from __future__ import annotations

import email.utils
import re
import secrets
from typing import Callable, List, Optional, Sequence, Tuple
from urllib.parse import unquote, unquote_to_bytes

from infra.local.s3.verifier import S3Refusal
from infra.local.s3.versions import ARCHIVE_CLASSES, StoredVersion, VersionLedger

__all__ = ["MAX_KEY_BYTES", "MAX_PART_NUMBER", "refusal_before_reading", "refusal_for_version",
           "kept_request_headers", "reader_answer", "error_code", "error_headers", "access_denied", "viewer_headers"]

MAX_KEY_BYTES = 1024
MAX_PART_NUMBER = 10000
# The version ids this store hands out (moto's form), and S3's id of the version written while versioning was off.
_READABLE_VERSION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|null")
_ERROR_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_ERROR_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")
# What moto adds that S3 does not send to a reader.
_MOTO_LEFTOVERS = frozenset({"date", "access-control-allow-origin", "x-amz-content-sha256",
                             "x-amz-sdk-checksum-algorithm", "connection", "keep-alive", "transfer-encoding"})
Answer = Tuple[int, List[Tuple[str, str]], bytes]


def access_denied() -> S3Refusal:
    return S3Refusal(403, "AccessDenied", "Access Denied")


def error_code(status: int, body: bytes) -> Optional[str]:
    """The S3 error code of an answer (None for a success; AccessDenied for a HEAD's bodiless 403)."""
    if status < 400:
        return None
    match = _ERROR_CODE.search(body)
    return match.group(1).decode() if match else ("AccessDenied" if status == 403 else None)


def error_headers(refusal: S3Refusal) -> List[Tuple[str, str]]:
    return [("Content-Type", "application/xml"), ("x-amz-request-id", refusal.request_id), ("Server", "AmazonS3")]


def _query_values(query: str, name: str) -> List[str]:
    return [unquote(pair.partition("=")[2]) for pair in query.split("&") if pair.partition("=")[0] == name]


def refusal_before_reading(path: str, query: str) -> Optional[S3Refusal]:
    """S3's refusal of a read it can judge without the object: the key's length, partNumber, versionId."""
    key = unquote_to_bytes(path[1:])
    if len(key) > MAX_KEY_BYTES:
        return S3Refusal(400, "KeyTooLongError", "Your key is too long",
                         {"Size": str(len(key)), "MaxSizeAllowed": str(MAX_KEY_BYTES)})
    for part in _query_values(query, "partNumber"):
        if not part.isdigit() or not 1 <= int(part) <= MAX_PART_NUMBER:
            return S3Refusal(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive",
                             {"ArgumentName": "partNumber", "ArgumentValue": part})
        if int(part) > 1:
            return S3Refusal(416, "InvalidPartNumber", "The requested partnumber is not satisfiable",
                             {"PartNumberRequested": part, "ActualPartCount": "1"})
    for version_id in _query_values(query, "versionId"):
        if not _READABLE_VERSION_ID.fullmatch(version_id):
            return S3Refusal(400, "InvalidArgument", "Invalid version id specified",
                             {"ArgumentName": "versionId", "ArgumentValue": version_id})
    return None


def refusal_for_version(ledger: VersionLedger, region: str, path: str, query: str,
                        may_decrypt: Callable[[str], bool]) -> Optional[S3Refusal]:
    """S3's refusal of the version a read names (or the current one) for its state: archived, or encrypted with a
    key the reader may not use."""
    key = unquote(path[1:])
    asked = _query_values(query, "versionId")
    version = ledger.find(region, key, asked[0]) if asked else ledger.current(region, key)
    if version is None or version.delete_marker:
        return None
    if version.storage_class in ARCHIVE_CLASSES:
        return S3Refusal(403, "InvalidObjectState", "The operation is not valid for the object's storage class",
                         {"StorageClass": version.storage_class})
    if version.kms_key_id is not None and not may_decrypt(version.kms_key_id):
        return S3Refusal(403, "AccessDenied", f"not authorized to perform: kms:Decrypt on the resource associated "
                                              f"with this ciphertext ({version.kms_key_id})")
    return None


def kept_request_headers(headers: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """The reader's headers as S3 reads them: a Range in another unit than bytes is ignored."""
    return [(n, v) for n, v in headers if n.lower() != "range" or v.strip().lower().startswith("bytes=")]


def reader_answer(region: str, method: str, path: str, query: str, status: int, headers: List[Tuple[str, str]],
                  body: bytes, ledger: VersionLedger, may_list: Callable[[], bool] = lambda: False) -> Answer:
    """moto's answer turned into S3's, by S3's error code; `may_list()`: whether the reader has s3:ListBucket (asked
    only for a missing key or version)."""
    key = unquote(path[1:])
    if status < 400:
        return status, viewer_headers(headers, ledger, region), body
    code_match = _ERROR_CODE.search(body)
    code = code_match.group(1).decode() if code_match else ("NoSuchKey" if status == 404 else "")
    asked = _query_values(query, "versionId")
    marker = ledger.find(region, key, asked[0]) if asked else ledger.current(region, key)
    if marker is not None and marker.delete_marker:
        return _delete_marker_answer(method, marker, named=bool(asked), may_list=may_list)
    if code in ("NoSuchKey", "NoSuchVersion"):
        return _refused(method, _missing(code, key, asked, may_list))
    message = _ERROR_MESSAGE.search(body)
    text = message.group(1).decode() if message else ""
    return _refused(method, S3Refusal(status, code or "InternalError", text or "We encountered an internal error."))


def _missing(code: str, key: str, asked: Sequence[str], may_list: Callable[[], bool]) -> S3Refusal:
    """S3's answer for a key or version the bucket does not have: 404 for a reader who may list, else 403."""
    if not may_list():
        return access_denied()
    if code == "NoSuchVersion":
        return S3Refusal(404, code, "The specified version does not exist.",
                         {"Key": key, "VersionId": asked[0] if asked else ""})
    return S3Refusal(404, "NoSuchKey", "The specified key does not exist.", {"Key": key})


def _delete_marker_answer(method: str, marker: StoredVersion, named: bool,
                          may_list: Callable[[], bool] = lambda: False) -> Answer:
    marker_headers = [("x-amz-delete-marker", "true"), ("x-amz-version-id", marker.version_id)]
    if named:
        refusal = S3Refusal(405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                            {"Method": method, "ResourceType": "DeleteMarker"})
        marker_headers += [("Last-Modified", email.utils.formatdate(marker.written_at, usegmt=True)),
                           ("Allow", "DELETE")]
    else:
        refusal = _missing("NoSuchKey", marker.key, (), may_list)
    status, headers, body = _refused(method, refusal)
    return status, headers + marker_headers, body


def _refused(method: str, refusal: S3Refusal) -> Answer:
    return refusal.status, error_headers(refusal), refusal.to_xml() if method != "HEAD" else b""


def viewer_headers(headers: Sequence[Tuple[str, str]], ledger: VersionLedger, region: str) -> List[Tuple[str, str]]:
    """S3's headers for a served object: moto's own left out, S3's version id and request id in."""
    cleaned: List[Tuple[str, str]] = []
    for name, value in headers:
        lower = name.lower()
        if lower in _MOTO_LEFTOVERS or lower.startswith("x-amzn-"):
            continue
        if lower == "server":
            value = "AmazonS3"
        elif lower == "x-amz-version-id":
            value = ledger.to_s3(region, value)
        cleaned.append((name, value))
    cleaned.append(("x-amz-request-id", secrets.token_hex(8).upper()))
    return cleaned
