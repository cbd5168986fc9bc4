"""The backfill's S3 Batch Replication jobs as AWS lists them: which are this stack's, what each copies, one meaning
of "running" (rules.JOB_RUNNING_STATES: a Paused or Suspended job will still copy) and of "clean" (Complete with no
failed task), and one progress line. Every command reads jobs through here.

Jobs are named so that other tools find them: their Description starts with `mrap-edge backfill <stack-name> `
(JOB_DESCRIPTION_PREFIX), followed by the source bucket, `to`, and the destinations."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from .clients import ClientFactory
from .errors import ToolError, refusal
from .regions import Bucket
from .rules import JOB_RUNNING_STATES, MAX_JOB_DESCRIPTION

__all__ = ["JOB_DESCRIPTION_PREFIX", "RUNNING_STATES", "Job", "job_description", "stack_job_prefix",
           "parse_description", "list_stack_jobs", "describe_job", "progress_line", "wait_for_jobs"]

Say = Callable[[str], None]
Sleep = Callable[[float], None]

JOB_DESCRIPTION_PREFIX = "mrap-edge backfill"
RUNNING_STATES = set(JOB_RUNNING_STATES)


def stack_job_prefix(stack_name: str) -> str:
    return f"{JOB_DESCRIPTION_PREFIX} {stack_name} "


def job_description(stack_name: str, source: Bucket, destinations: Sequence[Bucket]) -> str:
    text = f"{stack_job_prefix(stack_name)}{source.name} to {','.join(d.name for d in destinations)}"
    return text[:MAX_JOB_DESCRIPTION]


def parse_description(stack_name: str, description: str) -> Optional[Tuple[str, List[str]]]:
    """(source bucket, destination buckets) of one of this stack's jobs, or None for any other job."""
    prefix = stack_job_prefix(stack_name)
    if not description.startswith(prefix):
        return None
    source, _, destinations = description[len(prefix):].partition(" to ")
    if not source or " " in source:
        return None
    return source, [d for d in destinations.split(",") if d]


@dataclass(frozen=True)
class Job:
    job_id: str
    region: str
    source: str
    destinations: Tuple[str, ...]
    status: str
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    elapsed_s: int = 0
    created: Optional[datetime] = None
    reasons: Tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        return self.status in RUNNING_STATES

    @property
    def clean(self) -> bool:
        """Complete with every task succeeded: the destinations hold every object the source had."""
        return self.status == "Complete" and self.failed == 0

    @property
    def broken(self) -> bool:
        return not self.running and not self.clean


def _job(stack_name: str, region: str, item: Dict[str, Any]) -> Optional[Job]:
    parsed = parse_description(stack_name, str(item.get("Description", "")))
    if parsed is None:
        return None
    progress = item.get("ProgressSummary") or {}
    reasons = tuple(f"{r.get('FailureCode', '')}: {r.get('FailureReason', '')}".strip(": ")
                    for r in item.get("FailureReasons", []) or [])
    if item.get("StatusUpdateReason") and not reasons and item.get("Status") in ("Failed", "Cancelled"):
        reasons = (str(item["StatusUpdateReason"]),)
    return Job(job_id=str(item["JobId"]), region=region, source=parsed[0], destinations=tuple(parsed[1]),
               status=str(item.get("Status", "")), total=int(progress.get("TotalNumberOfTasks", 0)),
               succeeded=int(progress.get("NumberOfTasksSucceeded", 0)),
               failed=int(progress.get("NumberOfTasksFailed", 0)),
               elapsed_s=int((progress.get("Timers") or {}).get("ElapsedTimeInActiveSeconds", 0)),
               created=item.get("CreationTime"), reasons=reasons)


def list_stack_jobs(clients: ClientFactory, account_id: str, stack_name: str, regions: Sequence[str]) -> List[Job]:
    """This stack's Batch Replication jobs in `regions` (a job lives in its source bucket's Region), newest first.

    ListJobs returns the jobs of the last 90 days."""
    jobs: List[Job] = []
    for region in dict.fromkeys(regions):
        s3control = clients("s3control", region)
        token: Optional[str] = None
        while True:
            params: Dict[str, Any] = {"AccountId": account_id}
            if token:
                params["NextToken"] = token
            try:
                page = s3control.list_jobs(**params)
            except ClientError as error:
                raise refusal(f"list the Batch Operations jobs in {region}", error,
                              "the caller needs s3:ListJobs") from None
            for item in page.get("Jobs", []):
                if item.get("Operation") in (None, "S3ReplicateObject"):
                    job = _job(stack_name, region, item)
                    if job is not None:
                        jobs.append(job)
            token = page.get("NextToken")
            if not token:
                break
    return sorted(jobs, key=lambda j: j.created.timestamp() if j.created else 0.0, reverse=True)


def describe_job(clients: ClientFactory, account_id: str, stack_name: str, region: str, job_id: str) -> Job:
    try:
        item = clients("s3control", region).describe_job(AccountId=account_id, JobId=job_id)["Job"]
    except ClientError as error:
        raise refusal(f"read Batch Operations job {job_id} in {region}", error,
                      "the caller needs s3:DescribeJob") from None
    job = _job(stack_name, region, item)
    if job is None:
        raise ToolError(f"unable to read job {job_id}: it is not a backfill job of stack {stack_name}")
    return job


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_line(job: Job) -> str:
    """One line from DescribeJob's ProgressSummary: done of total, failures, rate and an estimate of what is left."""
    head = f"backfill {job.source} -> {','.join(job.destinations)} (job {job.job_id}, {job.region}): {job.status}"
    if job.status in ("New", "Preparing") and not job.total:
        return head + ", S3 is listing the objects to copy"
    done = job.succeeded + job.failed
    line = f"{head}, {done:,} of {job.total:,} objects"
    if job.total:
        line += f" ({100.0 * done / job.total:.1f}%)"
    line += f", {job.failed:,} failed"
    if job.running and job.elapsed_s > 0 and done:
        rate = done / job.elapsed_s
        line += f", {rate:,.1f} objects/s, about {_duration((job.total - done) / rate)} left"
    elif not job.running and job.elapsed_s:
        line += f", in {_duration(job.elapsed_s)}"
    if job.reasons:
        line += f"; {'; '.join(job.reasons)}"
    return line


def wait_for_jobs(clients: ClientFactory, account_id: str, stack_name: str, jobs: Sequence[Job], say: Say,
                  sleep: Sleep = time.sleep, poll: float = 60.0, timeout: Optional[float] = None) -> List[Job]:
    """Describe each job every `poll` seconds, printing its progress line, until all are final (or `timeout`)."""
    current = list(jobs)
    waited = 0.0
    while True:
        current = [describe_job(clients, account_id, stack_name, j.region, j.job_id) if j.running else j
                   for j in current]
        for job in current:
            say(progress_line(job))
        if not any(j.running for j in current):
            return current
        if timeout is not None and waited >= timeout:
            return current
        sleep(poll)
        waited += poll
