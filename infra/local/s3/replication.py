"""S3 replication between the Regional buckets, as the deploy tooling configures it, and the backfill job that
copies what existed before the rules (S3 Batch Replication).

The rules are the ones `infra.aws.buckets.replication_configuration` writes for each source bucket (all-to-all,
the probe prefix kept out by a higher-priority disabled rule, delete markers replicated), read here rule by rule:
for a key and a destination the enabled-or-not rule with the highest priority whose prefix matches decides.

What is modelled, as S3 does it (S3 User Guide, "Replicating objects"):
- only writes made after the rules exist are replicated, each after `lag_s` (0: before the write returns);
- a replica keeps the source's version id (see `versions.VersionLedger`), bytes, system metadata (Content-Type,
  Cache-Control, Content-Encoding: a pre-gzipped object stays gzipped), user metadata, tags and storage class;
- SSE-KMS objects are not replicated unless the rule opts in ("By default, Amazon S3 doesn't replicate objects
  that are stored at rest using server-side encryption with AWS KMS keys": `SourceSelectionCriteria.
  SseKmsEncryptedObjects`), and objects in S3 Glacier Flexible Retrieval or Deep Archive never are;
- a replica is not replicated again (no replica modification sync);
- a simple DELETE's delete marker is replicated only when the rule has `DeleteMarkerReplication` enabled; a DELETE
  of a specific version is never replicated;
- the backfill job (`BackfillJob`) replicates the source's versions whose replication status is NONE (written
  before the rules) or FAILED, oldest first, with `ProgressSummary` counts shaped like s3control DescribeJob's.
  Delete markers are part of it when the rule replicates delete markers (inferred from the live rule).

Not modelled: replication failures (every copy succeeds), Replication Time Control, metrics, the order of versions
when a backfill copies an older version after a live write of a newer one (S3 keeps the source's order; moto keeps
write order), ACLs, the replica's encryption key (`ReplicaKmsKeyID`), object lock, Last-Modified of replicas.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Literal, Optional, Sequence, Tuple

from infra.aws.buckets import replication_configuration
from infra.aws.regions import Bucket
from infra.local.s3.buckets import BucketServers
from infra.local.s3.versions import ARCHIVE_CLASSES, StoredVersion

__all__ = ["Rule", "rules_for", "deciding_rule", "Replication", "BackfillJob", "JobStatus"]

# The values of DescribeJob's Job.Status a backfill goes through.
JobStatus = Literal["New", "Active", "Complete"]

# The role the deploy tooling creates; S3 assumes it to replicate. Only its name matters here.
_ROLE_ARN = "arn:aws:iam::123456789012:role/mrap-edge-replication"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    priority: int
    enabled: bool
    prefix: str
    delete_markers: bool
    destination: str  # Region
    sse_kms: bool = False  # SourceSelectionCriteria.SseKmsEncryptedObjects enabled: SSE-KMS objects replicate


def rules_for(buckets: BucketServers, source_region: str) -> List[Rule]:
    """The replication rules the deploy tooling puts on the source Region's bucket."""
    deployed = [Bucket(b.bucket, b.region) for b in buckets.buckets.values()]
    by_arn = {f"arn:aws:s3:::{b.bucket}": b.region for b in buckets.buckets.values()}
    source = next(b for b in deployed if b.region == source_region)
    configuration = replication_configuration(source, deployed, _ROLE_ARN, rtc=False)
    return [
        Rule(
            rule_id=rule["ID"],
            priority=int(rule["Priority"]),
            enabled=rule["Status"] == "Enabled",
            prefix=(rule.get("Filter") or {}).get("Prefix", ""),
            delete_markers=(rule.get("DeleteMarkerReplication") or {}).get("Status") == "Enabled",
            destination=by_arn[rule["Destination"]["Bucket"]],
            sse_kms=((rule.get("SourceSelectionCriteria") or {}).get("SseKmsEncryptedObjects") or {})
            .get("Status") == "Enabled",
        )
        for rule in configuration["Rules"]
    ]


def deciding_rule(rules: Sequence[Rule], key: str, destination: str) -> Optional[Rule]:
    """The rule S3 applies to `key` towards `destination`: the highest priority among those whose filter matches;
    None when it is disabled or none matches."""
    matching = [r for r in rules if r.destination == destination and key.startswith(r.prefix)]
    if not matching:
        return None
    rule = max(matching, key=lambda r: r.priority)
    return rule if rule.enabled else None


@dataclass(frozen=True)
class _Copy:
    source: StoredVersion
    destination: str


class Replication:
    """Live replication of new writes between every pair of Regional buckets; `write`/`delete` are a user's
    writes to one Region (what the app would do) that the rules then copy."""

    def __init__(self, buckets: BucketServers, lag_s: float = 0.0) -> None:
        self.buckets = buckets
        self.lag_s = lag_s
        self.rules: Dict[str, List[Rule]] = {region: rules_for(buckets, region) for region in buckets.buckets}
        self._queue: List[Tuple[float, int, _Copy]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._in_flight = 0
        self._stopped = False
        self._thread: Optional[threading.Thread] = None
        # (destination Region, version id) -> source Region, for copies made by replication or a backfill
        self._replicated: Dict[Tuple[str, str], str] = {}
        self._copying: set = set()
        self._copy_lock = threading.Lock()

    # --- writes ----------------------------------------------------------------------------------------------------
    def write(self, region: str, key: str, body: bytes, cache_control: Optional[str] = None,
              content_type: Optional[str] = None) -> str:
        """PUT to one Region's bucket; the rules copy it to the others. Returns the version id."""
        version_id = self.buckets.put(region, key, body, cache_control=cache_control, content_type=content_type)
        self._replicate(self._stored(region, version_id))
        return version_id

    def delete(self, region: str, key: str) -> str:
        """A simple DELETE (a delete marker), replicated where the rule replicates delete markers."""
        marker_id = self.buckets.delete(region, key)
        self._replicate(self._stored(region, marker_id))
        return marker_id

    def _stored(self, region: str, version_id: str) -> StoredVersion:
        return next(v for v in reversed(self.buckets.ledger.versions(region)) if v.version_id == version_id)

    def _replicate(self, version: StoredVersion) -> None:
        copies = [_Copy(version, d) for d in self.buckets.buckets if d != version.region
                  and self.eligible(version, d)]
        if self.lag_s <= 0:
            for copy in copies:
                self.copy(copy.source, copy.destination)
            return
        due = time.monotonic() + self.lag_s
        with self._condition:
            for copy in copies:
                heapq.heappush(self._queue, (due, next(self._order), copy))
            self._start_thread()
            self._condition.notify_all()

    def eligible(self, version: StoredVersion, destination: str) -> bool:
        """Whether the rules copy this version to `destination` (replicas are never copied again)."""
        if version.replica_of is not None or destination == version.region:
            return False
        rule = deciding_rule(self.rules[version.region], version.key, destination)
        if rule is None or version.storage_class in ARCHIVE_CLASSES:
            return False
        if version.kms_key_id is not None and not rule.sse_kms:
            return False
        return rule.delete_markers if version.delete_marker else True

    def replicated(self, version: StoredVersion, destination: str) -> bool:
        with self._copy_lock:
            return (destination, version.version_id) in self._replicated

    def copy(self, version: StoredVersion, destination: str) -> None:
        """Copy one version to `destination` keeping its version id (what S3 does per replicated version); a
        version already copied there (live replication and a backfill may both reach it) is left alone."""
        task = (destination, version.version_id)
        with self._copy_lock:
            if task in self._replicated or task in self._copying:
                return
            self._copying.add(task)
        try:
            if version.delete_marker:
                self.buckets.delete(destination, version.key, version_id=version.version_id,
                                    replica_of=version.region)
            else:
                body, kept = self.buckets.read_version(version.region, version.key, version.version_id)
                self.buckets.put(destination, version.key, body, version_id=version.version_id,
                                 replica_of=version.region, storage_class=version.storage_class, **kept)
            with self._copy_lock:
                self._replicated[task] = version.region
        finally:
            with self._copy_lock:
                self._copying.discard(task)

    # --- the lag ---------------------------------------------------------------------------------------------------
    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="replication", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = None if not self._queue else max(0.0, self._queue[0][0] - time.monotonic())
                    self._condition.wait(timeout)
                if self._stopped:
                    return
                _, _, task = heapq.heappop(self._queue)
                self._in_flight += 1
            try:
                self.copy(task.source, task.destination)
            finally:
                with self._condition:
                    self._in_flight -= 1
                    self._condition.notify_all()

    def pending(self) -> int:
        with self._condition:
            return len(self._queue) + self._in_flight

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Until every scheduled copy is done; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
        return True

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the backfill ----------------------------------------------------------------------------------------------
    def backfill(self, source: str, destinations: Optional[Sequence[str]] = None,
                 task_delay_s: float = 0.0) -> "BackfillJob":
        """A Batch Replication job for the source Region's bucket: a manifest of what is eligible and not yet
        replicated (status NONE or FAILED), then one task per version and destination. Not started."""
        targets = [d for d in (destinations or self.buckets.buckets) if d != source]
        manifest = [_Copy(v, d) for v in self.buckets.ledger.versions(source) for d in targets
                    if self.eligible(v, d) and not self.replicated(v, d)]
        return BackfillJob(self, source, tuple(targets), manifest, task_delay_s)


class BackfillJob:
    """One S3 Batch Replication job (s3control CreateJob with `S3ReplicateObject`), run in a thread."""

    _ids = itertools.count(1)

    def __init__(self, replication: Replication, source: str, destinations: Tuple[str, ...],
                 manifest: List[_Copy], task_delay_s: float) -> None:
        self.job_id = f"local-backfill-{next(self._ids):04d}"
        self.source = source
        self.destinations = destinations
        self.status: JobStatus = "New"  # New -> Active -> Complete
        self.total = len(manifest)
        self.succeeded = 0
        self.failed = 0
        self._replication = replication
        self._manifest = manifest
        self._task_delay_s = task_delay_s
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._on_complete: List[Callable[["BackfillJob"], None]] = []
        self._thread: Optional[threading.Thread] = None

    @property
    def manifest(self) -> Tuple[Tuple[str, str, str], ...]:
        """(key, version id, destination Region) of each task, in order."""
        return tuple((t.source.key, t.source.version_id, t.destination) for t in self._manifest)

    def on_complete(self, callback: Callable[["BackfillJob"], None]) -> None:
        self._on_complete.append(callback)

    def progress_summary(self) -> Dict[str, int]:
        """As DescribeJob's Job.ProgressSummary."""
        with self._lock:
            return {"TotalNumberOfTasks": self.total, "NumberOfTasksSucceeded": self.succeeded,
                    "NumberOfTasksFailed": self.failed}

    def start(self) -> "BackfillJob":
        self.status = "Active"
        self._thread = threading.Thread(target=self._run, name=self.job_id, daemon=True)
        self._thread.start()
        return self

    def run(self) -> "BackfillJob":
        """Run to completion in the caller's thread."""
        self.status = "Active"
        self._run()
        return self

    def _run(self) -> None:
        for task in self._manifest:
            if self._task_delay_s:
                time.sleep(self._task_delay_s)
            try:
                self._replication.copy(task.source, task.destination)
                with self._lock:
                    self.succeeded += 1
            except Exception:  # a task failure is counted, as a job report would list it
                with self._lock:
                    self.failed += 1
        self.status = "Complete"  # as S3: a job with failed tasks completes too; its report lists them
        for callback in self._on_complete:
            callback(self)
        self._done.set()

    def wait(self, timeout_s: float = 30.0) -> bool:
        return self._done.wait(timeout_s)
