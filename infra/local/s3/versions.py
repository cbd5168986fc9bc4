"""What each Region's bucket holds, version by version, as S3 shows it.

moto gives every write its own version id, while S3 replication keeps the source's. Every write goes through
`BucketServers`, which records it here: the version id S3 would show (the id given where the object was first
written), moto's id for that copy, whether it is a delete marker, and when it was written.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

__all__ = ["StoredVersion", "VersionLedger", "ARCHIVE_CLASSES"]

# Storage classes whose objects must be restored before a read, and which replication does not copy (S3 User
# Guide: "Objects stored in the S3 Glacier Flexible Retrieval or S3 Glacier Deep Archive storage classes").
ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})


@dataclass(frozen=True)
class StoredVersion:
    """One version of one key in one Region's bucket, in write order (`sequence`)."""

    sequence: int
    region: str
    key: str
    version_id: str  # as S3 shows it: the id given where the version was first written
    moto_id: str  # moto's id for this Region's copy
    delete_marker: bool
    replica_of: Optional[str] = None  # source Region when replication (or a backfill) wrote it
    written_at: float = field(default_factory=time.time)  # seconds since the epoch (Last-Modified)
    storage_class: str = "STANDARD"
    kms_key_id: Optional[str] = None  # the KMS key's ARN of an SSE-KMS object


class VersionLedger:
    """What each Region's bucket holds, in write order, and the version-id translation in both directions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: List[StoredVersion] = []
        self._to_moto: Dict[Tuple[str, str], str] = {}
        self._to_s3: Dict[Tuple[str, str], str] = {}

    def record(self, region: str, key: str, version_id: Optional[str], moto_id: str, delete_marker: bool = False,
               replica_of: Optional[str] = None, storage_class: str = "STANDARD",
               kms_key_id: Optional[str] = None) -> StoredVersion:
        with self._lock:
            stored = StoredVersion(len(self._versions) + 1, region, key, version_id or moto_id, moto_id,
                                   delete_marker, replica_of, storage_class=storage_class, kms_key_id=kms_key_id)
            self._versions.append(stored)
            self._to_moto[(region, stored.version_id)] = moto_id
            self._to_s3[(region, moto_id)] = stored.version_id
            return stored

    def to_moto(self, region: str, version_id: str) -> str:
        with self._lock:
            return self._to_moto.get((region, version_id), version_id)

    def to_s3(self, region: str, moto_id: str) -> str:
        with self._lock:
            return self._to_s3.get((region, moto_id), moto_id)

    def versions(self, region: Optional[str] = None) -> List[StoredVersion]:
        with self._lock:
            return [v for v in self._versions if region is None or v.region == region]

    def find(self, region: str, key: str, version_id: str) -> Optional[StoredVersion]:
        """The version of `key` with S3's id `version_id` in that Region's bucket (None: it has none)."""
        with self._lock:
            return next((v for v in reversed(self._versions)
                         if v.region == region and v.key == key and v.version_id == version_id), None)

    def current(self, region: str, key: str) -> Optional[StoredVersion]:
        """The latest version of `key` in that Region's bucket (a delete marker when it was deleted last)."""
        with self._lock:
            return next((v for v in reversed(self._versions) if v.region == region and v.key == key), None)

    def holds(self, region: str, version_id: str) -> bool:
        with self._lock:
            return (region, version_id) in self._to_moto
