"""The page CloudFront shows instead of S3's error bodies, and the one object deploy writes for it.

S3's 403 `SignatureDoesNotMatch` echoes the canonical request (the function role's access key id and session token)
and its 400 `ExpiredToken` echoes the token; CloudFront passes an origin's error body to the viewer unless a custom
error response replaces it. The template's custom error responses fetch this page from the failover bucket through a
cache behaviour that runs no function, so the page is served even when signing is what failed.

The object is ours alone: deploy reads before it writes, marks what it writes, rewrites only its own page, and refuses
to replace an object under that key that it did not create.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable

from botocore.exceptions import ClientError

from .clients import ClientFactory
from .errors import ToolError, error_code, refusal
from .regions import Bucket

__all__ = ["ERROR_PAGE_KEY", "ERROR_PAGE", "MARKER", "ensure_error_page"]

Say = Callable[[str], None]

# The template's CacheBehaviors route /_mrap-edge/errors/* to the failover bucket; CustomErrorResponses point here.
ERROR_PAGE_KEY = "_mrap-edge/errors/error.html"
# Object metadata that says deploy wrote the page (x-amz-meta-mrap-edge), and which version of it (sha256).
MARKER = "mrap-edge"
MARKER_VALUE = "error-page"
DIGEST = "mrap-edge-sha256"

# Generic on purpose: no request detail, nothing from the origin, no external resources. The status line and the
# X-Amz-Cf-Id response header are what an operator needs to find the request in the logs.
ERROR_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Unavailable</title></head>
<body>
<h1>This file cannot be shown right now</h1>
<p>It may not exist, or it may not be available yet. Try again in a few minutes.</p>
<p>If it keeps happening, send the time and the <code>X-Amz-Cf-Id</code> response header to the people who run
this site.</p>
</body>
</html>
"""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _head(s3: Any, bucket: Bucket) -> Any:
    """HeadObject's answer, or None when there is no object under the key."""
    try:
        return s3.head_object(Bucket=bucket.name, Key=ERROR_PAGE_KEY)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise refusal(f"read s3://{bucket.name}/{ERROR_PAGE_KEY}", error,
                      "the deploying identity needs s3:GetObject on the failover bucket") from None


def ensure_error_page(clients: ClientFactory, bucket: Bucket, say: Say, page: bytes = ERROR_PAGE) -> str:
    """Write the error page into `bucket` unless it is already there; "created", "updated" or "unchanged"."""
    s3 = clients("s3", bucket.region)
    head = _head(s3, bucket)
    digest = _sha256(page)
    where = f"s3://{bucket.name}/{ERROR_PAGE_KEY}"
    if head is not None:
        metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        if metadata.get(MARKER) != MARKER_VALUE:
            raise ToolError(
                f"unable to write the error page: {where} exists and deploy did not write it; move that object "
                "(the prefix _mrap-edge/errors/ is the distribution's error pages) and deploy again")
        if metadata.get(DIGEST) == digest:
            say(f"error page {where}: unchanged")
            return "unchanged"
    try:
        s3.put_object(Bucket=bucket.name, Key=ERROR_PAGE_KEY, Body=page, ContentType="text/html; charset=utf-8",
                      CacheControl="max-age=300", Metadata={MARKER: MARKER_VALUE, DIGEST: digest})
    except ClientError as error:
        raise refusal(f"write {where}", error, "the deploying identity needs s3:PutObject on the failover bucket") \
            from None
    outcome = "created" if head is None else "updated"
    say(f"error page {where}: {outcome}")
    return outcome
