"""Objects that existed before replication: S3 Batch Replication jobs, their progress, and which buckets are complete.

Replication copies only objects written after its rules exist, so a new Ohio bucket next to a full London bucket
starts empty, and the MRAP (which routes by proximity, not by key) would answer 403 for every existing image from
Ohio. Deploy therefore starts one Batch Replication job per source bucket that holds objects (s3control CreateJob,
`S3ReplicateObject`, a manifest S3 generates from the objects eligible for replication that were never replicated
or failed), and keeps every destination of such a job **passive** in the MRAP routes until the job has completed
without a failed task; then it makes the destination active.

Which pairs are complete is recorded in the deployables bucket (`mrap-edge/backfill/<stack>.json`): a pair
source -> destination is complete when the source held no object once our rules were in place, or when a job for it
ended Complete with no failed task. Jobs alone would not do: ListJobs forgets them after 90 days, and a bucket full
of replicas is not a bucket that needs a backfill.

Jobs are named so that other tools find them: their Description starts with `mrap-edge backfill <stack-name> `
(JOB_DESCRIPTION_PREFIX), followed by the source bucket, `to`, and the destinations; `list_stack_jobs` reads them.
Manifests and completion reports (failed tasks only) go to the source bucket under BACKFILL_PREFIX, which the
replication rules keep out of replication as they do the probe.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from botocore.exceptions import ClientError

from . import encryption
from .clients import HOME_REGION, ClientFactory
from .errors import error_code, error_message, refusal
from .record import Record, delete_record, load_record, save_record
from .jobs import (JOB_DESCRIPTION_PREFIX, RUNNING_STATES, Job, describe_job, job_description, list_stack_jobs,
                   parse_description, progress_line, stack_job_prefix, wait_for_jobs)
from .regions import Bucket
from .replication import (BACKFILL_PREFIX, LOCAL_PREFIXES, current_replication, ensure_role, replication_role_name,
                          role_arn_for)
from .replication import their_rules as _their_rules
from .routes import Route, change_routes, get_routes, plan_routes
from .rules import ACTIVE, PASSIVE, manifest_statuses

__all__ = [
    "JOB_DESCRIPTION_PREFIX",
    "RUNNING_STATES",
    "Job",
    "job_description",
    "stack_job_prefix",
    "parse_description",
    "list_stack_jobs",
    "describe_job",
    "progress_line",
    "batch_role_name",
    "batch_role_policy",
    "ensure_batch_role",
    "holds_objects",
    "start_job",
    "wait_for_jobs",
    "Record",
    "load_record",
    "save_record",
    "delete_record",
    "BackfillPlan",
    "plan_backfill",
    "wanted_routes",
    "sources_of",
    "recopy_cost",
    "routes_for",
    "apply_routes",
    "creation_dates",
    "their_rules",
    "resume",
    "status",
]

REPORT_PREFIX = BACKFILL_PREFIX + "reports"
MANIFEST_PREFIX = BACKFILL_PREFIX + "manifests"
# Errors from CreateJob that mean a just-created role is not usable yet (IAM is eventually consistent).
_ROLE_NOT_READY = ("assume", "role")

Say = Callable[[str], None]
Sleep = Callable[[float], None]


def batch_role_name(stack_name: str) -> str:
    return f"{stack_name}-backfill"


def batch_role_policy(sources: Sequence[Bucket]) -> Dict[str, Any]:
    """The permissions S3 documents for Batch Replication with a generated, stored manifest ("Configuring an IAM role
    for S3 Batch Replication"): initiate replication of the source's objects, read its replication configuration and
    put the inventory configuration that generates the manifest, read the manifest, write the manifest and the
    completion report. The manifest and report bucket is the source itself, narrowed to BACKFILL_PREFIX."""
    arns = [f"arn:aws:s3:::{b.name}" for b in sources]
    ours = [f"{arn}/{BACKFILL_PREFIX}*" for arn in arns]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:InitiateReplication"], "Resource": [f"{arn}/*" for arn in arns]},
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
             "Resource": arns},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": ours},
            {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ours},
        ],
    }


def ensure_batch_role(clients: ClientFactory, account_id: str, stack_name: str, sources: Sequence[Bucket],
                      say: Say, dry_run: bool = False) -> Tuple[str, bool]:
    """The role S3 Batch Operations assumes for the backfill jobs; returns (ARN, created now)."""
    policy = batch_role_policy(sources)
    policy["Statement"] += encryption.batch_role_kms_statements(clients, sources)  # manifests in an SSE-KMS source
    return ensure_role(clients, account_id, batch_role_name(stack_name), "batchoperations.s3.amazonaws.com",
                       "S3 Batch Replication of the objects that existed before mrap-edge's replication rules",
                       "batch-replicate-existing-objects", policy, say, dry_run)


def holds_objects(clients: ClientFactory, bucket: Bucket) -> bool:
    """True when the bucket has an object other than our own (probe, backfill manifests and reports)."""
    s3 = clients("s3", bucket.region)
    token: Optional[str] = None
    while True:
        params: Dict[str, Any] = {"Bucket": bucket.name, "MaxKeys": 1000}
        if token:
            params["ContinuationToken"] = token
        try:
            page = s3.list_objects_v2(**params)
        except ClientError as error:
            if error_code(error) == "NoSuchBucket":  # a dry run, before the bucket is created
                return False
            raise refusal(f"list the objects of {bucket.name}", error, "the caller needs s3:ListBucket") from None
        if any(not str(o["Key"]).startswith(LOCAL_PREFIXES) for o in page.get("Contents", [])):
            return True
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return False


def their_rules(clients: ClientFactory, account_id: str, stack_name: str, source: Bucket) -> List[str]:
    """The ids of the user's enabled rules on `source`."""
    config = current_replication(clients, source)
    role = role_arn_for(account_id, replication_role_name(stack_name))
    return [str(r.get("ID")) for r in _their_rules(config, stack_name, role) if r.get("Status") == "Enabled"]


def recopy_cost(clients: ClientFactory, source: Bucket, limit: int = 100_000) -> str:
    """What including COMPLETED objects costs, for the dry run: S3 copies every eligible version again, to every
    destination of the source's rules, those that already hold it included."""
    count, more = 0, False
    try:
        for page in clients("s3", source.region).get_paginator("list_object_versions").paginate(Bucket=source.name):
            count += sum(1 for v in page.get("Versions", []) if not str(v["Key"]).startswith(LOCAL_PREFIXES))
            if count >= limit:
                more = True
                break
    except ClientError as error:
        if error_code(error) == "NoSuchBucket":
            return f"{source.name} does not exist yet: nothing to copy again"
        raise refusal(f"list the object versions of {source.name}", error,
                      "the caller needs s3:ListBucketVersions") from None
    return (f"objects already replicated are included (COMPLETED): of the {count:,}{'+' if more else ''} object "
            f"versions of {source.name}, S3 copies those it already replicated again, to every destination of its "
            "rules, those that hold them included; each copy is billed as replication (a request and the data "
            "transfer)")


def start_job(clients: ClientFactory, account_id: str, stack_name: str, source: Bucket,
              destinations: Sequence[Bucket], role_arn: str, say: Say, sleep: Sleep = time.sleep,
              role_is_new: bool = False, statuses: Optional[Sequence[str]] = None) -> Job:
    """CreateJob: replicate the source's objects with the given replication statuses (manifest_statuses: never
    replicated or failed, plus COMPLETED/REPLICA when a destination is filled after the source already replicated) to
    its rules' destinations.

    An object's replication status is one for all its destinations: when the source already replicates somewhere
    else with rules of the user's, its objects are COMPLETED (copied there) though not in the new bucket, so those
    are included too; S3 then copies them to every destination again (the user's included)."""
    source_arn = f"arn:aws:s3:::{source.name}"
    theirs = their_rules(clients, account_id, stack_name, source)
    if statuses is None:
        statuses = manifest_statuses(holds_replicas=False)
    request = {
        "AccountId": account_id,
        "ConfirmationRequired": False,
        "Operation": {"S3ReplicateObject": {}},
        "Report": {"Bucket": source_arn, "Format": "Report_CSV_20180820", "Enabled": True, "Prefix": REPORT_PREFIX,
                   "ReportScope": "FailedTasksOnly", "ExpectedBucketOwner": account_id},
        "ManifestGenerator": {"S3JobManifestGenerator": {
            "ExpectedBucketOwner": account_id,
            "SourceBucket": source_arn,
            "ManifestOutputLocation": {"ExpectedManifestBucketOwner": account_id, "Bucket": source_arn,
                                       "ManifestPrefix": MANIFEST_PREFIX,
                                       "ManifestFormat": "S3InventoryReport_CSV_20211130"},
            "Filter": {"EligibleForReplication": True, "ObjectReplicationStatuses": list(statuses)},
            "EnableManifestOutput": True,
        }},
        "Description": job_description(stack_name, source, destinations),
        "Priority": 10,
        "RoleArn": role_arn,
        "Tags": [{"Key": "mrap-edge:stack", "Value": stack_name}],
    }
    attempts = 6 if role_is_new else 1
    for attempt in range(1, attempts + 1):
        try:
            job_id = str(clients("s3control", source.region).create_job(
                ClientRequestToken=str(uuid.uuid4()), **request)["JobId"])
            break
        except ClientError as error:
            message = error_message(error).lower()
            not_ready = error_code(error) in ("AccessDenied", "InvalidRequest") and all(
                word in message for word in _ROLE_NOT_READY)
            if not_ready and attempt < attempts:
                sleep(10)  # a role is usable some seconds after CreateRole returns
                continue
            raise refusal(f"start the backfill of {source.name} (S3 Batch Replication)", error,
                          f"the caller needs s3:CreateJob in {source.region} and iam:PassRole on {role_arn}; then run "
                          f"scripts/backfill --stack-name {stack_name} --resume") from None
    say(f"backfill {source.name} -> {', '.join(d.name for d in destinations)}: job {job_id} started in "
        f"{source.region} (report of failed tasks: s3://{source.name}/{REPORT_PREFIX}/)")
    if "COMPLETED" in statuses and theirs:
        say(f"  objects your rules ({', '.join(theirs)}) already replicated are included: S3 copies them to every "
            "destination of the configuration again, yours too")
    return Job(job_id=job_id, region=source.region, source=source.name,
               destinations=tuple(d.name for d in destinations), status="New")


@dataclass
class BackfillPlan:
    to_start: List[Bucket] = field(default_factory=list)  # sources that need a new job
    running: List[Job] = field(default_factory=list)
    broken: List[Job] = field(default_factory=list)  # a source's latest job ended Failed, Cancelled or with failures
    incomplete: Set[str] = field(default_factory=set)  # destination bucket names still missing objects
    destinations: Dict[str, List[Bucket]] = field(default_factory=dict)  # source name -> the buckets it fills
    statuses: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # source name -> its manifest's statuses
    record: Optional[Record] = None

    def pending_destinations(self, buckets: Sequence[Bucket], source: Bucket, record: Record) -> List[Bucket]:
        return [d for d in buckets if d != source and not record.is_complete(source.name, d.name)]


def creation_dates(clients: ClientFactory) -> Dict[str, datetime]:
    """Each bucket's CreationDate (ListBuckets): a job created before its destination existed copied into another
    bucket of the same name, one deleted since (ListJobs remembers jobs for 90 days)."""
    try:
        listed = clients("s3", HOME_REGION).list_buckets().get("Buckets", [])
    except ClientError as error:
        raise refusal("list the buckets", error, "the caller needs s3:ListAllMyBuckets") from None
    return {str(b["Name"]): b["CreationDate"] for b in listed}


def _for_these_buckets(job: Job, source: Bucket, destinations: Sequence[Bucket], created: Dict[str, datetime]) -> bool:
    """The job copies `source` into every one of `destinations` as they are now: it names them and it was created
    after each of them (and after the source)."""
    if job.source != source.name or not {d.name for d in destinations} <= set(job.destinations):
        return False
    if job.created is None:
        return False
    return all(name not in created or job.created >= created[name]
               for name in [source.name, *(d.name for d in destinations)])


def plan_backfill(clients: ClientFactory, account_id: str, stack_name: str, buckets: Sequence[Bucket],
                  record: Record) -> BackfillPlan:
    """Decide, with the replication rules already in place, which pairs are complete (marking them in `record`),
    which sources need a job, and which jobs are still running or ended badly.

    One job from a bucket that holds everything fills every bucket still missing objects (a Region added later, say),
    with COMPLETED (and REPLICA) objects included once the source already replicated: otherwise the manifest is
    empty and S3 fails the job. Only when no such bucket exists (each holds something the others lack) does every
    source that holds objects get a job of its own."""
    plan = BackfillPlan(record=record)
    pending = {b.name: plan.pending_destinations(buckets, b, record) for b in buckets}
    if not any(pending.values()):
        return plan
    # A job whose rules leave SSE-KMS objects out ends Complete with no failure: never start or count one
    # (encryption.py).
    for source in buckets:
        if pending[source.name]:
            encryption.check_backfill_covers_kms(clients, source, pending[source.name],
                                                 current_replication(clients, source))
    created = creation_dates(clients)
    jobs = list_stack_jobs(clients, account_id, stack_name, [b.region for b in buckets])
    _mark_complete(clients, buckets, pending, jobs, created, record)
    missing = {d.name for b in buckets for d in pending[b.name] if not record.is_complete(b.name, d.name)}
    if not missing:
        return plan
    plan.incomplete = set(missing)
    holders = [b for b in buckets if b.name not in missing and holds_objects(clients, b)]
    sources = holders[:1] or [b for b in buckets if any(not record.is_complete(b.name, d.name) for d in buckets
                                                       if d != b)]
    for source in sources:
        destinations = [d for d in buckets if d.name in missing and d != source]
        if not destinations:
            continue
        plan.destinations[source.name] = destinations
        # With two-way replication a bucket that holds everything holds the other buckets' objects as replicas
        # (REPLICA), written there by live replication or an earlier backfill: a bucket beyond the source and the
        # destinations means there can be some.
        plan.statuses[source.name] = manifest_statuses(holds_replicas=len(buckets) - len(destinations) > 1)
        job = next((j for j in jobs if _for_these_buckets(j, source, destinations, created)), None)
        if job is not None and job.running:
            plan.running.append(job)
        elif job is not None and not job.clean:
            plan.broken.append(job)
        else:
            plan.to_start.append(source)
    return plan


def _mark_complete(clients: ClientFactory, buckets: Sequence[Bucket], pending: Dict[str, List[Bucket]],
                   jobs: Sequence[Job], created: Dict[str, datetime], record: Record) -> None:
    """Mark the pairs a clean job of these buckets completed, and those whose source held nothing once replication
    was in place. A clean job from a bucket every other bucket had already been copied into completes every pair into
    its destinations."""
    for source in buckets:
        open_pairs = [d for d in pending[source.name] if not record.is_complete(source.name, d.name)]
        if open_pairs and not holds_objects(clients, source):
            for destination in open_pairs:
                record.mark(source.name, destination.name, "source empty once replication was set up")
    for source in buckets:
        for destination in pending[source.name]:
            job = next((j for j in jobs if _for_these_buckets(j, source, [destination], created)), None)
            if job is not None and job.clean:
                record.mark(source.name, destination.name, f"job {job.job_id} complete")
                if all(record.is_complete(o.name, source.name) for o in buckets if o != source):
                    for other in buckets:
                        if other not in (source, destination):
                            record.mark(other.name, destination.name, f"job {job.job_id} complete (from "
                                                                      f"{source.name}, which held everything)")


def wanted_routes(buckets: Sequence[Bucket], incomplete: Set[str], sources: Sequence[str]) -> Dict[str, int]:
    """Traffic dials: 0 (passive) for a bucket still missing objects, 100 (active) for the others. At least one
    Region stays active: when every bucket is missing something, the first bucket (in --buckets order) that holds
    data keeps serving, or the first bucket when in doubt."""
    wanted = {b.region: PASSIVE if b.name in incomplete else ACTIVE for b in buckets}
    if not any(wanted.values()):
        keep = next((b for b in buckets if b.name in sources), buckets[0])
        wanted[keep.region] = ACTIVE
    return wanted


def sources_of(plan: BackfillPlan) -> List[str]:
    return [job.source for job in plan.running + plan.broken] + [b.name for b in plan.to_start]


def routes_for(buckets: Sequence[Bucket], plan: BackfillPlan, current: Sequence[Route],
               record: Record) -> Tuple[Dict[str, int], List[str]]:
    """The dials to set, and warnings: a Region missing objects is made passive (and recorded so); a complete Region
    is made active only if deploy or the backfill made it passive; any other passive Region was made so by someone
    else (an operator's failover) and is left alone, with a warning."""
    wanted = wanted_routes(buckets, plan.incomplete, sources_of(plan))
    warnings = []
    for route in current:
        if route.region not in wanted:
            continue
        if wanted[route.region] == ACTIVE and not route.active and route.region not in record.made_passive:
            wanted[route.region] = route.traffic_dial
            warnings.append(f"{route.region} ({route.bucket}) is passive and was not made so by deploy (a failover "
                            f"with scripts/routes?): left passive; make it active with scripts/routes --activate "
                            f"{route.region}")
    return wanted, warnings


def apply_routes(clients: ClientFactory, account_id: str, mrap_arn: str, buckets: Sequence[Bucket],
                 plan: BackfillPlan, record: Record, say: Say, sleep: Sleep = time.sleep, dry_run: bool = False,
                 wait: bool = True) -> bool:
    """Routes as the backfill state says (routes_for), recorded, then saved with the record; True when a change was
    submitted."""
    current = get_routes(clients, account_id, mrap_arn)
    wanted, warnings = routes_for(buckets, plan, current, record)
    for warning in warnings:
        say(f"warning: {warning}")
    if not plan_routes(current, wanted):
        say("routes: no change")
        return False
    change_routes(clients, account_id, mrap_arn, wanted, say, dry_run=dry_run, wait=wait, sleep=sleep)
    if dry_run:
        return False
    for region, dial in wanted.items():
        record.set_passive(region, dial == PASSIVE)
    save_record(clients, record)
    return True


def resume(clients: ClientFactory, account_id: str, stack_name: str, buckets: Sequence[Bucket], record: Record,
           mrap_arn: str, say: Say, sleep: Sleep = time.sleep, poll: float = 60.0,
           timeout: Optional[float] = None) -> BackfillPlan:
    """Start a job for every source not yet copied (a failed or cancelled job is replaced: its FAILED objects are
    retried, the copied ones are not copied again), wait for the running ones with their progress, record what is
    complete, and set the routes."""
    plan = plan_backfill(clients, account_id, stack_name, buckets, record)
    by_name = {b.name: b for b in buckets}
    restart = plan.to_start + [by_name[job.source] for job in plan.broken if job.source in by_name]
    if restart:
        role_arn, created = ensure_batch_role(clients, account_id, stack_name, buckets, say)
        for source in restart:
            plan.running.append(start_job(clients, account_id, stack_name, source, plan.destinations[source.name],
                                          role_arn, say, sleep, role_is_new=created,
                                          statuses=plan.statuses[source.name]))
    save_record(clients, record)
    if plan.running:
        wait_for_jobs(clients, account_id, stack_name, plan.running, say, sleep, poll, timeout)
    plan = plan_backfill(clients, account_id, stack_name, buckets, record)
    save_record(clients, record)
    if mrap_arn:
        apply_routes(clients, account_id, mrap_arn, buckets, plan, record, say, sleep)
    return plan


def status(clients: ClientFactory, account_id: str, stack_name: str, buckets: Sequence[Bucket], record: Record,
           say: Say) -> bool:
    """Print each pair's state and each job's progress; True when every pair is complete. Reads only."""
    jobs = list_stack_jobs(clients, account_id, stack_name, [b.region for b in buckets])
    latest: Dict[str, Job] = {}
    for job in jobs:
        latest.setdefault(job.source, job)
    complete = True
    for source in buckets:
        for destination in (b for b in buckets if b != source):
            if record.is_complete(source.name, destination.name):
                how = record.complete[record.pair(source.name, destination.name)]
                say(f"{source.name} -> {destination.name}: complete ({how})")
            else:
                complete = False
                say(f"{source.name} -> {destination.name}: not recorded complete")
    for job in latest.values():
        say(progress_line(job))
    if not complete:
        say(f"run scripts/backfill --stack-name {stack_name} --resume to copy what is missing, wait, and activate")
    return complete
