"""Only object reads reach S3: the requests that would select another S3 operation, refused before signing.

The function signs GetObject and HeadObject. The same method on another target is another operation, and another
permission: `GET /` on the MRAP is ListObjects ("ListObjectsV2 ... GET /?list-type=2", S3 API reference; without
`list-type` it is the original ListObjects), and a GET on a key with a subresource such as `?acl`, `?tagging` or
`?uploadId=` is GetObjectAcl, GetObjectTagging or ListParts. Without `s3:ListBucket` S3 refuses a listing with 403,
but a role granted it (so that a missing key is 404, not 403) must never list the bucket for a viewer. So:
- an empty key (the origin path and `uri` together are "/") is answered with a generated 404, as a missing object
  would be: the bucket root is not an object, and saying "list refused" would tell a viewer there is a bucket;
- a query parameter that selects another operation may never be allow-listed (the configuration is refused), so no
  allow-list can let one through; every other parameter is dropped by the allow-list anyway.
"""
from __future__ import annotations

from .errors import NotAnObject

__all__ = ["OPERATION_PARAMETERS", "check_object_read"]

# Query parameters that turn a GET or HEAD of a key or of the bucket into another operation (S3 API reference:
# the request syntax of ListObjects, ListObjectsV2, ListObjectVersions, ListMultipartUploads, ListParts,
# GetObjectAcl, GetObjectTagging, GetObjectAttributes, GetObjectTorrent, GetObjectLegalHold, GetObjectRetention),
# compared case-insensitively as a safety margin: S3's own names are lower case except uploadId.
OPERATION_PARAMETERS = frozenset({
    "list-type", "prefix", "delimiter", "marker", "max-keys", "encoding-type", "continuation-token", "fetch-owner",
    "start-after", "versions", "key-marker", "version-id-marker", "uploads", "upload-id-marker", "max-uploads",
    "uploadid", "max-parts", "part-number-marker", "acl", "tagging", "attributes", "torrent", "legal-hold",
    "retention",
})


def check_object_read(target_path: str) -> None:
    """Raise NotAnObject when the path S3 will receive (origin path + uri, canonical) names no object."""
    if target_path == "/":
        raise NotAnObject(reason="the request names no object: an empty key would list the bucket")
