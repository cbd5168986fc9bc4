"""What a backfill will meet in a source bucket, said before it starts: how many versions it copies and what that
costs, the archived objects it cannot copy (nor anyone read), and the lifecycle rules AWS asks to suspend.

The rules (S3 User Guide, "Replicating existing objects with Batch Replication" and its considerations):
- Batch Replication copies every *version* eligible for replication, not only the current objects, so the cost
  follows ListObjectVersions, not ListObjectsV2.
- Objects in S3 Glacier Flexible Retrieval (`GLACIER`) or S3 Glacier Deep Archive (`DEEP_ARCHIVE`) are not
  replicated, and a GetObject of one answers 403 `InvalidObjectState` ("Object is archived and inaccessible until
  restored", GetObject) until it is restored, through the MRAP too. S3 Glacier Instant Retrieval (`GLACIER_IR`) is
  read in milliseconds like Standard, so it is neither. Intelligent-Tiering objects in the opt-in Archive Access
  tiers are archived as well, but ListObjectVersions does not tell which: they are counted apart.
- "We recommend that you pause or suspend your lifecycle rules while your Batch Replication job runs": a rule that
  expires or transitions versions meanwhile makes tasks fail or copies what is about to go.

Prices (Amazon S3 pricing page, US East (N. Virginia), December 2026; other Regions differ a little): S3 Batch
Operations $0.25 per job and $1.00 per million object operations; replication is billed as the data transferred
between Regions ($0.02 per GB) and a PUT at the destination per version (S3 Standard, $0.005 per 1,000). Storage of
the replicas is not included.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from botocore.exceptions import ClientError

from .clients import ClientFactory
from .errors import error_code, refusal
from .regions import Bucket
from .replication import LOCAL_PREFIXES
from .rules import ARCHIVED_CLASSES

__all__ = ["ARCHIVED_CLASSES", "MAX_VERSIONS", "PRICES", "Survey", "survey", "enabled_lifecycle_rules",
           "estimated_cost", "backfill_lines"]

# Versions counted at most (1,000 a page): enough to price a job, bounded for a bucket of billions.
MAX_VERSIONS = 200_000
PRICES = {"job": 0.25, "per_million_operations": 1.00, "transfer_per_gb": 0.02, "put_per_thousand": 0.005}
_GB = 1024 ** 3

Say = Callable[[str], None]


@dataclass
class Survey:
    bucket: Bucket
    versions: int = 0  # object versions (delete markers apart), ours (probe, backfill reports) left out
    current: int = 0
    delete_markers: int = 0
    bytes: int = 0
    archived: Dict[str, int] = field(default_factory=dict)  # storage class -> versions
    archived_current: int = 0
    archived_bytes: int = 0
    intelligent_tiering: int = 0
    truncated: bool = False  # stopped counting at MAX_VERSIONS

    @property
    def eligible(self) -> int:
        """Versions a Batch Replication job copies (archived ones are not)."""
        return self.versions - sum(self.archived.values())

    @property
    def eligible_bytes(self) -> int:
        return self.bytes - self.archived_bytes


def _count_page(result: Survey, page: Dict[str, Any]) -> None:
    for version in page.get("Versions", []):
        if str(version["Key"]).startswith(LOCAL_PREFIXES):
            continue
        result.versions += 1
        result.bytes += int(version.get("Size", 0))
        result.current += bool(version.get("IsLatest"))
        storage = str(version.get("StorageClass", "STANDARD"))
        if storage in ARCHIVED_CLASSES:
            result.archived[storage] = result.archived.get(storage, 0) + 1
            result.archived_bytes += int(version.get("Size", 0))
            result.archived_current += bool(version.get("IsLatest"))
        elif storage == "INTELLIGENT_TIERING":
            result.intelligent_tiering += 1
    result.delete_markers += sum(1 for m in page.get("DeleteMarkers", [])
                                 if not str(m["Key"]).startswith(LOCAL_PREFIXES))


def survey(clients: ClientFactory, bucket: Bucket, max_versions: int = MAX_VERSIONS, page_size: int = 1000) -> Survey:
    """Count the bucket's versions by storage class (ListObjectVersions, paginated, at most `max_versions`)."""
    s3 = clients("s3", bucket.region)
    result = Survey(bucket)
    params: Dict[str, Any] = {"Bucket": bucket.name, "MaxKeys": page_size}
    while True:
        try:
            page = s3.list_object_versions(**params)
        except ClientError as error:
            if error_code(error) == "NoSuchBucket":  # a dry run, before the bucket is created
                return result
            raise refusal(f"list the object versions of {bucket.name}", error,
                          "the caller needs s3:ListBucketVersions") from None
        _count_page(result, page)
        if not page.get("IsTruncated"):
            return result
        if result.versions + result.delete_markers >= max_versions:
            result.truncated = True
            return result
        params.update(KeyMarker=page.get("NextKeyMarker"), VersionIdMarker=page.get("NextVersionIdMarker"))


def enabled_lifecycle_rules(clients: ClientFactory, bucket: Bucket) -> List[str]:
    try:
        rules = clients("s3", bucket.region).get_bucket_lifecycle_configuration(Bucket=bucket.name)["Rules"]
    except ClientError as error:
        if error_code(error) in ("NoSuchLifecycleConfiguration", "NoSuchBucket"):
            return []
        raise refusal(f"read the lifecycle rules of {bucket.name}", error,
                      "the caller needs s3:GetLifecycleConfiguration") from None
    return [str(r.get("ID") or f"#{i}") for i, r in enumerate(rules) if r.get("Status") == "Enabled"]


def estimated_cost(found: Survey, destinations: int, jobs: int = 1) -> float:
    """US dollars for copying the eligible versions to `destinations` buckets with `jobs` Batch Replication jobs."""
    operations = found.eligible / 1e6 * PRICES["per_million_operations"]
    transfer = found.eligible_bytes / _GB * destinations * PRICES["transfer_per_gb"]
    puts = found.eligible * destinations / 1000 * PRICES["put_per_thousand"]
    return jobs * PRICES["job"] + operations + transfer + puts


def _archived_line(found: Survey) -> Optional[str]:
    if not found.archived:
        return None
    classes = ", ".join(f"{count:,} in {ARCHIVED_CLASSES[c]}" for c, count in sorted(found.archived.items()))
    return (f"  {sum(found.archived.values()):,} archived version(s) ({classes}; {found.archived_current:,} current) "
            "are excluded from Batch Replication, and readers get 403 InvalidObjectState for them until they are "
            "restored (aws s3api restore-object), through the MRAP too")


def backfill_lines(clients: ClientFactory, source: Bucket, destinations: Sequence[Bucket]) -> List[str]:
    """What deploy and its dry run print before a backfill of `source` starts. Reads only."""
    found = survey(clients, source)
    at_least = "at least " if found.truncated else ""
    names = ", ".join(d.name for d in destinations)
    current = found.current - found.archived_current
    lines = [f"backfill {source.name} -> {names}: {at_least}{found.eligible:,} version(s) to copy "
             f"({current:,} current object(s), {found.eligible_bytes / _GB:,.2f} GiB; every eligible version is "
             f"copied, not only current ones), {found.delete_markers:,} delete marker(s); estimated cost "
             f"{at_least}${estimated_cost(found, len(destinations)):,.2f} (S3 Batch Operations $0.25 a job + $1.00 "
             "per million objects, inter-Region transfer $0.02/GB, a PUT per version; us-east-1 list prices)"]
    archived = _archived_line(found)
    if archived:
        lines.append(archived)
    if found.intelligent_tiering:
        lines.append(f"  {found.intelligent_tiering:,} Intelligent-Tiering version(s): those in its opt-in Archive "
                     "Access tiers are archived too (excluded, 403 InvalidObjectState)")
    rules = enabled_lifecycle_rules(clients, source)
    if rules:
        lines.append(f"  warning: {source.name} has enabled lifecycle rules ({', '.join(rules)}); AWS recommends "
                     "suspending them while a Batch Replication job runs (a version expired or transitioned "
                     "meanwhile fails its task or is copied just before it goes)")
    return lines
