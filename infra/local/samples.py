"""Objects the demo and the tests put in the regional buckets: small images made here (no files shipped), keys that
need escaping on the wire, and the per-bucket probe object that says which bucket served a request."""
from __future__ import annotations

import json
import struct
import zlib
from typing import Dict, Tuple

__all__ = ["PROBE_KEY", "png", "probe_body", "sample_objects", "AWKWARD_KEYS"]

# scripts/check-regions reads this key through the distribution and prints the bucket named in its body; the name
# has one home, with the other names mrap-edge writes in an account.
from infra.aws.names import PROBE_KEY  # noqa: E402

# Keys whose wire form differs from their text: S3's canonical URI escapes all of these (a raw "+" even means space).
AWKWARD_KEYS: Tuple[str, ...] = (
    "photos/summer holiday 2024.png",
    "photos/café-ünïcödé-日本.png",
    "photos/a+b=c.png",
    "photos/(1):@!*',$~.png",
    "photos/%2F not a slash.png",
)


def png(width: int, height: int, rgb: Tuple[int, int, int]) -> bytes:
    """A valid truecolour PNG of one colour with a diagonal stripe, so different sizes give different bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type "None" for the row
        for x in range(width):
            rows += bytes((255 - c for c in rgb)) if x == y else bytes(rgb)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit depth, colour type 2 (RGB)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")


def probe_body(bucket: str, region: str) -> bytes:
    return json.dumps({"bucket": bucket, "region": region}, separators=(",", ":")).encode()


def sample_objects() -> Dict[str, bytes]:
    """The replicated sample set: the same bytes in every Region's bucket."""
    objects = {
        "images/red.png": png(16, 16, (200, 30, 30)),
        "images/blue-large.png": png(96, 96, (30, 60, 200)),
        "index.txt": b"mrap-edge local demo: objects are served through the CloudFront and MRAP stand-ins\n",
    }
    for index, key in enumerate(AWKWARD_KEYS):
        objects[key] = png(8 + index, 8, (20 * index, 120, 60))
    return objects
