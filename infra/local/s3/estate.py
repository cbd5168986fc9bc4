"""The account's real bucket states: what a production bucket holds besides plain objects, for the brownfield
stack to start from (`StackOptions.estate`) and the demo to show.

The seed user's London bucket is years old: some objects are SSE-KMS encrypted with a key whose policy names only
the people who may read them; old images were moved to S3 Glacier Flexible Retrieval; the front end's scripts are
stored pre-gzipped with `Content-Encoding: gzip`, user metadata and tags; and the bucket policy denies reads of
the internal prefix to anything not coming through the company's VPC endpoint. Each has a rule in S3 or IAM that
the local stack applies (`s3_reads`, `access`, `replication`), so the demo shows what AWS would answer.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from infra.local.s3.access import ACCOUNT_ID
from infra.local.s3.versions import ARCHIVE_CLASSES
from infra.local.samples import png

__all__ = ["EstateObject", "Estate", "brownfield_estate"]


@dataclass(frozen=True)
class EstateObject:
    key: str
    body: bytes
    content_type: str
    storage_class: str = "STANDARD"
    kms_key_id: Optional[str] = None
    content_encoding: Optional[str] = None
    metadata: Tuple[Tuple[str, str], ...] = ()
    tags: Tuple[Tuple[str, str], ...] = ()
    status: int = 200  # what the function's role gets through the MRAP
    error: Optional[str] = None  # and S3's error code
    why: str = ""  # in words, for the demo

    @property
    def replicated(self) -> bool:
        """Whether the deploy tooling's rules copy it (no SSE-KMS opt-in; archived objects never)."""
        return self.kms_key_id is None and self.storage_class not in ARCHIVE_CLASSES


@dataclass(frozen=True)
class Estate:
    """Objects with their states, the bucket policy's existing statements (`{bucket}` stands for the bucket's
    name) and the KMS keys' policies, for the data Region's bucket."""

    objects: Tuple[EstateObject, ...]
    bucket_statements: Tuple[Mapping[str, Any], ...] = ()
    kms_key_policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def statements_for(self, bucket: str) -> List[Dict[str, Any]]:
        return [_substituted(statement, bucket) for statement in self.bucket_statements]


def _substituted(node: Any, bucket: str) -> Any:
    if isinstance(node, str):
        return node.replace("{bucket}", bucket)
    if isinstance(node, list):
        return [_substituted(item, bucket) for item in node]
    if isinstance(node, Mapping):
        return {key: _substituted(value, bucket) for key, value in node.items()}
    return node


PAYROLL_KEY = f"arn:aws:kms:eu-west-2:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
COMPANY_ENDPOINT = "vpce-0a1b2c3d4e5f60718"


def brownfield_estate() -> Estate:
    script = b"console.log('served as stored: gzip');\n" * 8
    return Estate(
        objects=(
            EstateObject("payroll/summary.png", png(4, 4, (200, 30, 30)), "image/png", kms_key_id=PAYROLL_KEY,
                         status=403, error="AccessDenied",
                         why="the role has no kms:Decrypt on the payroll key"),
            EstateObject("archive/2019/launch.png", png(4, 4, (90, 90, 90)), "image/png", storage_class="GLACIER",
                         status=403, error="InvalidObjectState",
                         why="archived in Glacier Flexible Retrieval"),
            EstateObject("internal/roadmap.png", png(4, 4, (30, 30, 200)), "image/png",
                         status=403, error="AccessDenied",
                         why="the bucket policy denies reads not from the company's VPC endpoint"),
            EstateObject("assets/app.js", gzip.compress(script, mtime=0), "application/javascript",
                         content_encoding="gzip", metadata=(("build", "2019.4"),), tags=(("team", "web"),),
                         why="stored pre-gzipped, with its metadata and tags"),
        ),
        bucket_statements=({
            "Sid": "CompanyNetworkOnlyForInternal",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject*",
            "Resource": "arn:aws:s3:::{bucket}/internal/*",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": COMPANY_ENDPOINT}},
        },),
        kms_key_policies={PAYROLL_KEY: {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "PayrollTeamOnly",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/payroll"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }],
        }},
    )
