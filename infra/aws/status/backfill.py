"""The backfill: S3 Batch Replication jobs that copy the objects written before replication existed.

Deploy creates one job per source bucket that holds objects, in the source bucket's Region, with a Description
starting with BACKFILL_DESCRIPTION_PREFIX and the stack name. A Region whose bucket does not yet hold every object is
kept passive until the jobs copying into it are complete; so a Region's backfill is done when the newest job of every
other bucket is Complete with no failed task.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from ..backfill import JOB_DESCRIPTION_PREFIX
from ..clients import ClientFactory
from ..regions import Bucket

__all__ = ["BACKFILL_DESCRIPTION_PREFIX", "BackfillJob", "backfill_description_prefix", "find_jobs",
           "LISTED_STATUSES"]

# The Description prefix of the jobs deploy starts (infra/aws/backfill.py names them); followed by " <stack-name>".
BACKFILL_DESCRIPTION_PREFIX = JOB_DESCRIPTION_PREFIX
# Every status but the cancelled ones: a running, finished or failed backfill all matter to the routes.
LISTED_STATUSES = ["Active", "Complete", "Completing", "Failed", "Failing", "New", "Paused", "Pausing", "Preparing",
                   "Ready", "Suspended"]
_RUNNING = {"Active", "Completing", "New", "Preparing", "Ready"}


def backfill_description_prefix(stack_name: str) -> str:
    return f"{BACKFILL_DESCRIPTION_PREFIX} {stack_name}"


@dataclass(frozen=True)
class BackfillJob:
    job_id: str
    source: Bucket
    status: str
    total: int
    succeeded: int
    failed: int
    created: Optional[datetime]
    active_seconds: int
    reason: str = ""  # StatusUpdateReason / FailureReasons
    report: str = ""  # where the completion report goes

    @property
    def done_fraction(self) -> float:
        return (self.succeeded + self.failed) / self.total if self.total else 0.0

    @property
    def complete(self) -> bool:
        return self.status == "Complete" and self.failed == 0

    @property
    def running(self) -> bool:
        return self.status in _RUNNING

    def describe(self) -> str:
        if self.status in ("New", "Preparing") or (self.running and not self.total):
            progress = "preparing its manifest"
        else:
            progress = f"{self.done_fraction:.0%} done ({self.succeeded + self.failed} of {self.total} objects"
            progress += f", {self.failed} failed)" if self.failed else ")"
            if self.running and self.active_seconds and self.succeeded:
                rate = self.succeeded / self.active_seconds
                left = (self.total - self.succeeded - self.failed) / rate
                progress += f", {rate:.0f} objects/s, about {_duration(left)} left"
        return f"job {self.job_id} from {self.source.name} ({self.source.region}) {self.status}, {progress}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _is_ours(description: str, prefix: str) -> bool:
    # "mrap-edge backfill prod" must not claim the jobs of stack "prod-2".
    return description == prefix or description.startswith(prefix + " ")


def _source_of(job: Dict[str, Any], buckets: Sequence[Bucket]) -> Optional[Bucket]:
    generator = (job.get("ManifestGenerator") or {}).get("S3JobManifestGenerator") or {}
    name = str(generator.get("SourceBucket", "")).rsplit(":", 1)[-1]
    return next((b for b in buckets if b.name == name), None)


def find_jobs(clients: ClientFactory, account: str, stack_name: str, buckets: Sequence[Bucket]) -> List[BackfillJob]:
    """The newest backfill job of each source bucket that has one (ListJobs in each bucket's Region, DescribeJob for
    the progress and the source). Raises botocore's errors: the caller turns them into a failed check."""
    prefix = backfill_description_prefix(stack_name)
    newest: Dict[str, BackfillJob] = {}
    for region in sorted({b.region for b in buckets}):
        control = clients("s3control", region)
        listed: List[Dict[str, Any]] = []
        token: Optional[str] = None
        while True:
            kwargs: Dict[str, Any] = {"AccountId": account, "JobStatuses": LISTED_STATUSES}
            if token:
                kwargs["NextToken"] = token
            page = control.list_jobs(**kwargs)
            listed += [j for j in page.get("Jobs", []) if _is_ours(str(j.get("Description", "")), prefix)
                       and j.get("Operation", "S3ReplicateObject") == "S3ReplicateObject"]
            token = page.get("NextToken")
            if not token:
                break
        for summary in sorted(listed, key=lambda j: j.get("CreationTime") or datetime.min, reverse=True):
            job = control.describe_job(AccountId=account, JobId=summary["JobId"])["Job"]
            source = _source_of(job, buckets)
            if source is None or source.region != region or source.name in newest:
                continue
            progress = job.get("ProgressSummary") or {}
            reasons = "; ".join(f"{r.get('FailureCode', '')}: {r.get('FailureReason', '')}"
                                for r in job.get("FailureReasons", []) or [])
            report = job.get("Report") or {}
            newest[source.name] = BackfillJob(
                job_id=str(job["JobId"]), source=source, status=str(job.get("Status", "")),
                total=int(progress.get("TotalNumberOfTasks", 0)),
                succeeded=int(progress.get("NumberOfTasksSucceeded", 0)),
                failed=int(progress.get("NumberOfTasksFailed", 0)),
                created=job.get("CreationTime"),
                active_seconds=int((progress.get("Timers") or {}).get("ElapsedTimeInActiveSeconds", 0)),
                reason=reasons or str(job.get("StatusUpdateReason", "") or ""),
                report=(f"s3://{str(report.get('Bucket', '')).rsplit(':', 1)[-1]}/{report.get('Prefix', '')}"
                        if report.get("Enabled") else ""),
            )
    return [newest[b.name] for b in buckets if b.name in newest]


def jobs_into(region: str, jobs: Sequence[BackfillJob]) -> List[BackfillJob]:
    """The jobs that copy into `region`'s bucket: every other bucket's (replication is all-to-all)."""
    return [job for job in jobs if job.source.region != region]
