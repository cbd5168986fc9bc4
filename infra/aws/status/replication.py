"""The buckets behind the MRAP and their replication: versioning on each; an enabled rule from every bucket to every
other one, covering every key but the probe, with replication metrics; the rules of others kept; the replication
metrics of the last hour; the backfill jobs; and a spot check that the newest keys of each bucket are in all others.
"""
from __future__ import annotations

import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from ..clients import ClientFactory
from ..errors import error_code
from ..regions import Bucket
from .backfill import BackfillJob
from .checklist import AWS_ERRORS, Area, Check, failed, passed, refused, verdict
from .request_path import PROBE_KEY

__all__ = ["replication_checks", "versioning_checks", "rule_checks", "metric_checks", "backfill_checks",
           "spot_checks", "covering_rule"]

AREA: Area = "buckets and replication"
WINDOW = datetime.timedelta(hours=1)
SPOT_KEYS = 3
# Replication usually lands in seconds, 99.99% within 15 minutes with RTC: a younger missing key may be in flight.
IN_FLIGHT = datetime.timedelta(minutes=15)


def replication_checks(clients: ClientFactory, buckets: Sequence[Bucket], jobs: Optional[Sequence[BackfillJob]],
                       jobs_error: str, now: Optional[datetime.datetime] = None) -> List[Check]:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    checks = versioning_checks(clients, buckets)
    rules, rule_results = rule_checks(clients, buckets)
    checks += rule_results
    checks += metric_checks(clients, buckets, rules, now)
    checks += backfill_checks(buckets, jobs, jobs_error)
    checks += spot_checks(clients, buckets, now)
    return checks


def versioning_checks(clients: ClientFactory, buckets: Sequence[Bucket]) -> List[Check]:
    checks = []
    for bucket in buckets:
        name = f"versioning on {bucket.name} ({bucket.region})"
        try:
            status = clients("s3", bucket.region).get_bucket_versioning(Bucket=bucket.name).get("Status", "")
        except AWS_ERRORS as error:
            checks.append(refused(AREA, name, error, "s3:GetBucketVersioning"))
            continue
        checks.append(verdict(AREA, name, status == "Enabled", status or "never enabled",
                              f"aws s3api put-bucket-versioning --bucket {bucket.name} --versioning-configuration "
                              "Status=Enabled (replication and ?versionId= reads need it)"))
    return checks


def _covers_every_key(rule: Dict[str, Any]) -> bool:
    if "Filter" not in rule:
        return not rule.get("Prefix")  # the legacy form: Prefix at the rule's top level
    rule_filter = rule.get("Filter") or {}
    return not rule_filter.get("Prefix") and "Tag" not in rule_filter and "And" not in rule_filter


def _covers(rule: Dict[str, Any], key: str) -> bool:
    rule_filter = rule.get("Filter")
    if rule_filter is None:
        return key.startswith(rule.get("Prefix", ""))
    if "Tag" in rule_filter:
        return False
    prefix = rule_filter.get("Prefix", (rule_filter.get("And") or {}).get("Prefix", ""))
    return key.startswith(prefix or "")


def covering_rule(rules: Sequence[Dict[str, Any]], destination: Bucket, key: str) -> Optional[Dict[str, Any]]:
    """The rule S3 applies to `key` for `destination`: among the rules to it whose filter matches, the one with the
    highest priority."""
    arn = f"arn:aws:s3:::{destination.name}"
    matching = [r for r in rules if (r.get("Destination") or {}).get("Bucket") == arn and _covers(r, key)]
    return max(matching, key=lambda r: int(r.get("Priority", 0)), default=None)


def rule_checks(clients: ClientFactory, buckets: Sequence[Bucket],
                ) -> Tuple[Dict[str, List[Dict[str, Any]]], List[Check]]:
    """One check per source bucket: a rule to every other bucket, and what else its configuration holds."""
    rules_of: Dict[str, List[Dict[str, Any]]] = {}
    checks = []
    arns = {f"arn:aws:s3:::{b.name}" for b in buckets}
    for source in buckets:
        name = f"replication from {source.name} ({source.region})"
        try:
            configuration = clients("s3", source.region).get_bucket_replication(Bucket=source.name)[
                "ReplicationConfiguration"]
        except ClientError as error:
            if error_code(error) == "ReplicationConfigurationNotFoundError":
                checks.append(failed(AREA, name, "no replication configuration",
                                     "scripts/deploy --create-buckets sets up two-way replication"))
                continue
            checks.append(refused(AREA, name, error, "s3:GetReplicationConfiguration"))
            continue
        except AWS_ERRORS as error:
            checks.append(refused(AREA, name, error, "s3:GetReplicationConfiguration"))
            continue
        rules = list(configuration.get("Rules", []))
        rules_of[source.name] = rules
        problems, ours = [], []
        for destination in buckets:
            if destination == source:
                continue
            everything = covering_rule(rules, destination, "any/key")
            if everything is None or everything.get("Status") != "Enabled" or not _covers_every_key(everything):
                problems.append(f"no enabled rule replicates every key to {destination.name}")
                continue
            ours.append(f"{everything.get('ID', '?')} -> {destination.region}")
            probe = covering_rule(rules, destination, PROBE_KEY)
            if probe is not None and probe.get("Status") == "Enabled":
                problems.append(f"{PROBE_KEY} replicates to {destination.name} (it would overwrite that bucket's "
                                "probe)")
            if (everything.get("Destination") or {}).get("Metrics", {}).get("Status") != "Enabled":
                problems.append(f"rule {everything.get('ID', '?')} has no replication metrics")
        foreign = [f"{r.get('ID', '?')} -> {(r.get('Destination') or {}).get('Bucket', '?').rsplit(':', 1)[-1]}"
                   for r in rules if (r.get("Destination") or {}).get("Bucket") not in arns]
        evidence = ", ".join(ours) or "no rule to the other buckets"
        if foreign:
            evidence += f"; other rules kept: {', '.join(foreign)}"
        if problems:
            checks.append(failed(AREA, name, evidence + "; " + "; ".join(problems),
                                 "scripts/deploy --create-buckets adds the missing rules and keeps the others"))
        else:
            checks.append(passed(AREA, name, evidence))
    return rules_of, checks


_METRICS = (("ReplicationLatency", "Maximum"), ("OperationsPendingReplication", "Maximum"),
            ("BytesPendingReplication", "Maximum"), ("OperationsFailedReplication", "Sum"))


def metric_checks(clients: ClientFactory, buckets: Sequence[Bucket], rules_of: Dict[str, List[Dict[str, Any]]],
                  now: datetime.datetime) -> List[Check]:
    """S3's replication metrics (namespace AWS/S3, in the source bucket's Region) per pair, for the last hour."""
    checks = []
    for source in buckets:
        rules = rules_of.get(source.name)
        if not rules:
            continue
        for destination in buckets:
            rule = covering_rule(rules, destination, "any/key") if destination != source else None
            if rule is None:
                continue
            name = f"replication {source.region} -> {destination.region} in the last hour"
            try:
                values = _replication_metrics(clients("cloudwatch", source.region), source, destination,
                                              str(rule.get("ID", "")), now)
            except AWS_ERRORS as error:
                checks.append(refused(AREA, name, error, "cloudwatch:GetMetricData"))
                continue
            if not any(v is not None for v in values.values()):
                checks.append(passed(AREA, name, "no data: nothing replicated in the last hour (or metrics off)"))
                continue
            latency, pending, pending_bytes, failures = (values[m] or 0.0 for m, _ in _METRICS)
            evidence = (f"max latency {latency:.0f} s, pending {pending:.0f} operations ({pending_bytes:.0f} bytes), "
                        f"{failures:.0f} failed")
            checks.append(verdict(AREA, name, failures == 0, evidence,
                                  "failed operations: check the replication role's permissions on both buckets "
                                  "(and KMS keys), then retry them with a Batch Replication job (scripts/deploy)"))
    return checks


def _replication_metrics(cloudwatch: Any, source: Bucket, destination: Bucket, rule_id: str,
                         now: datetime.datetime) -> Dict[str, Optional[float]]:
    dimensions = [{"Name": "SourceBucket", "Value": source.name},
                  {"Name": "DestinationBucket", "Value": destination.name},
                  {"Name": "RuleId", "Value": rule_id}]
    queries = [{"Id": f"m{index}", "MetricStat": {
        "Metric": {"Namespace": "AWS/S3", "MetricName": metric, "Dimensions": dimensions},
        "Period": 3600, "Stat": stat}, "ReturnData": True} for index, (metric, stat) in enumerate(_METRICS)]
    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=now - WINDOW, EndTime=now)
    values: Dict[str, Optional[float]] = {metric: None for metric, _ in _METRICS}
    for result in answer.get("MetricDataResults", []):
        metric, stat = _METRICS[int(result["Id"][1:])]
        found = result.get("Values", [])
        if found:
            values[metric] = max(found) if stat == "Maximum" else sum(found)
    return values


def backfill_checks(buckets: Sequence[Bucket], jobs: Optional[Sequence[BackfillJob]], jobs_error: str) -> List[Check]:
    if jobs is None:
        return [failed(AREA, "backfill jobs", f"unable to check: {jobs_error}",
                       "the caller needs s3:ListJobs and s3:DescribeJob in each bucket's Region")]
    if not jobs:
        return [passed(AREA, "backfill jobs", "none: no bucket held objects from before replication")]
    checks = []
    for job in jobs:
        name = f"backfill from {job.source.name} ({job.source.region})"
        text = job.describe() + (f"; {job.reason}" if job.reason else "")
        if job.complete or job.running:
            checks.append(passed(AREA, name, text))
        elif job.status == "Suspended":
            checks.append(failed(AREA, name, text, f"the job waits for confirmation: aws s3control update-job-status "
                                                   f"--region {job.source.region} --account-id ACCOUNT --job-id "
                                                   f"{job.job_id} --requested-job-status Ready"))
        else:
            report = f"; the failed objects are listed in {job.report}" if job.report else ""
            checks.append(failed(AREA, name, text, f"re-run the backfill (scripts/deploy resumes it){report}"))
    return checks


def _newest_keys(s3: Any, bucket: Bucket) -> List[Tuple[str, datetime.datetime]]:
    page = s3.list_objects_v2(Bucket=bucket.name, MaxKeys=1000)
    objects = [(o["Key"], o["LastModified"]) for o in page.get("Contents", []) if o["Key"] != PROBE_KEY]
    return sorted(objects, key=lambda item: item[1], reverse=True)[:SPOT_KEYS]


def spot_checks(clients: ClientFactory, buckets: Sequence[Bucket], now: datetime.datetime) -> List[Check]:
    """The newest keys (of the first 1,000 listed) of each bucket, looked up in every other bucket."""
    checks = []
    for source in buckets:
        name = f"newest keys of {source.name} are in every bucket"
        try:
            keys = _newest_keys(clients("s3", source.region), source)
        except AWS_ERRORS as error:
            checks.append(refused(AREA, name, error, "s3:ListBucket"))
            continue
        if not keys:
            checks.append(passed(AREA, name, "the bucket holds no object besides the probe"))
            continue
        missing, denied = [], []
        for key, modified in keys:
            for other in buckets:
                if other == source:
                    continue
                try:
                    clients("s3", other.region).head_object(Bucket=other.name, Key=key)
                except ClientError as error:
                    if error_code(error) in ("404", "NoSuchKey", "NotFound"):
                        age = now - modified
                        missing.append(f"{key} (written {_age(age)} ago) not in {other.name}"
                                       + (", may still be in flight" if age < IN_FLIGHT else ""))
                    else:
                        denied.append(f"{key} in {other.name}: {error_code(error)}")
                except AWS_ERRORS as error:
                    denied.append(f"{key} in {other.name}: {type(error).__name__}")
        checked = ", ".join(key for key, _ in keys)
        if missing:
            checks.append(failed(AREA, name, f"checked {checked}: " + "; ".join(missing),
                                 "see the replication rules and metrics above; objects from before replication "
                                 "need the backfill (scripts/deploy starts it)"))
        elif denied:
            checks.append(failed(AREA, name, f"checked {checked}: unable to look up " + "; ".join(denied),
                                 "the caller needs s3:GetObject, and s3:ListBucket to tell a missing key from a "
                                 "refusal"))
        else:
            checks.append(passed(AREA, name, f"{checked}: in all {len(buckets)} buckets"))
    return checks


def _age(delta: datetime.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
