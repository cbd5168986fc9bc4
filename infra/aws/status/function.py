"""The Lambda@Edge function: the version the distribution runs (runtime, memory, timeout, architecture, state), its
packaged configuration read from that version's own zip, and its errors and throttles in the last hour in every
Region where edge locations ran it, with the newest error lines from its log there.

Lambda@Edge runs a replica in the Region nearest each edge location and writes its metrics (namespace AWS/Lambda,
function name `us-east-1.<function>`) and its log group `/aws/lambda/us-east-1.<function>` there, so each enabled
Region is looked at; a Region without the log group never ran it.
"""
from __future__ import annotations

import datetime
import hashlib
import base64
import io
import json
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from edge.config import Config
from edge.errors import ConfigError

from ..clients import HOME_REGION, ClientFactory
from .checklist import AWS_ERRORS, Area, Check, failed, passed, refused, skipped, verdict
from .facts import StackFacts

__all__ = ["PackagedFunction", "read_function", "edge_activity_checks", "log_group_name",
           "CONFIG_PATH", "RUNTIMES"]

AREA: Area = "function"
CONFIG_PATH = "edge/mrap-edge.json"  # edge.config.CONFIG_FILE inside the zip
HANDLER_PATH = "edge/handler.py"
# The runtimes the template allows (cloudformation.template, parameter Runtime).
RUNTIMES = ("python3.12", "python3.13")
# Lambda@Edge origin-request limits: 128 to 10,240 MB, at most 30 s.
MEMORY_RANGE, MAX_TIMEOUT = (128, 10240), 30
WINDOW = datetime.timedelta(hours=1)
NEWEST_LINES = 3
# Lines worth showing: the function's own JSON error lines, and what the Lambda runtime writes when it fails.
ERROR_TERMS = ("ERROR", "Task timed out", "Runtime exited", "Traceback")
ERROR_PATTERN = " ".join(f'?"{term}"' for term in ERROR_TERMS)  # any of the terms (CloudWatch Logs filter syntax)

Download = Callable[[str], bytes]


@dataclass(frozen=True)
class PackagedFunction:
    configuration: Dict[str, Any]
    config: Optional[Config]  # None when the zip could not be read
    config_source: str  # where the allow-list the distribution is compared with comes from


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/us-east-1.{function_name}"


def download(url: str, timeout: float = 30.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - a presigned https URL from Lambda
        return bytes(answer.read())


def read_function(clients: ClientFactory, facts: StackFacts, fetch_zip: Download = download,
                  ) -> Tuple[Optional[PackagedFunction], List[Check]]:
    """The version's configuration and its packaged Config, with the checks on both."""
    target = facts.function_version_arn or facts.function_name
    if not target:
        return None, [_unnamed()]
    try:
        answer = clients("lambda", HOME_REGION).get_function(FunctionName=target)
    except AWS_ERRORS as error:
        return None, [refused(AREA, f"function {target}", error, "lambda:GetFunction")]
    configuration = answer.get("Configuration", {})
    checks = [_settings(configuration)]
    config, source, check = _packaged_config(answer, configuration, fetch_zip, facts)
    checks.append(check)
    return PackagedFunction(configuration, config, source), checks


def _unnamed() -> Check:
    return failed(AREA, "the stack's function", "the stack has neither a FunctionName nor a FunctionVersionArn "
                                                "output: it names no function", "redeploy with scripts/deploy")


def _settings(configuration: Dict[str, Any]) -> Check:
    name = f"version {configuration.get('Version', '?')} settings"
    runtime, memory = configuration.get("Runtime", ""), int(configuration.get("MemorySize", 0))
    timeout, arch = int(configuration.get("Timeout", 0)), configuration.get("Architectures", ["x86_64"])
    evidence = (f"{configuration.get('FunctionArn', '')}: {runtime}, {memory} MB, {timeout} s, {'/'.join(arch)}, "
                f"{configuration.get('State', 'Active')}")
    problems = []
    if runtime not in RUNTIMES:
        problems.append(f"runtime {runtime} is not one the stack allows ({', '.join(RUNTIMES)})")
    if not MEMORY_RANGE[0] <= memory <= MEMORY_RANGE[1]:
        problems.append(f"memory {memory} MB outside Lambda@Edge's {MEMORY_RANGE[0]}-{MEMORY_RANGE[1]} MB")
    if timeout > MAX_TIMEOUT:
        problems.append(f"timeout {timeout} s over Lambda@Edge's {MAX_TIMEOUT} s for origin requests")
    if arch != ["x86_64"]:
        problems.append("Lambda@Edge runs x86_64 only")
    if configuration.get("State", "Active") != "Active":
        problems.append(f"state {configuration.get('State')}: {configuration.get('StateReason', '')}")
    if configuration.get("Version") in (None, "$LATEST"):
        problems.append("not a numbered version")
    if problems:
        return failed(AREA, name, evidence + "; " + "; ".join(problems),
                      "redeploy with scripts/deploy (--runtime, --memory, --timeout)")
    return passed(AREA, name, evidence)


def _packaged_config(answer: Dict[str, Any], configuration: Dict[str, Any], fetch_zip: Download, facts: StackFacts,
                     ) -> Tuple[Optional[Config], str, Check]:
    name = "packaged configuration"
    location = (answer.get("Code") or {}).get("Location", "")
    if not location:
        return None, "defaults (no package)", failed(AREA, name, "GetFunction gave no code location",
                                                     "the caller needs lambda:GetFunction on the version")
    try:
        data = fetch_zip(location)
    except (OSError, urllib.error.URLError, ValueError) as error:
        return None, "defaults (package unread)", failed(
            AREA, name, f"unable to download the version's zip: {error}",
            "run from a shell that can reach S3 over https (the code URL is presigned and valid for 10 minutes)")
    expected = configuration.get("CodeSha256", "")
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    if expected and digest != expected:
        return None, "defaults (package unread)", failed(
            AREA, name, f"the downloaded zip's SHA-256 {digest} is not the version's {expected}", "run this again")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if HANDLER_PATH not in names:
            return None, "defaults (not an mrap-edge package)", failed(
                AREA, name, f"the zip has no {HANDLER_PATH}: not an mrap-edge package",
                "redeploy with scripts/deploy (it builds the package)")
        if CONFIG_PATH not in names:
            config = Config()
            source = "defaults: the zip has no configuration file"
        else:
            text = archive.read(CONFIG_PATH).decode("utf-8")
            config = Config.from_mapping(json.loads(text), source=CONFIG_PATH)
            source = f"{CONFIG_PATH} in version {configuration.get('Version', '?')}"
    except (zipfile.BadZipFile, UnicodeDecodeError, ValueError) as error:
        return None, "defaults (package unread)", failed(AREA, name, f"unable to read the zip: {error}",
                                                         "rebuild and redeploy with scripts/deploy")
    except ConfigError as error:
        return None, "defaults (configuration invalid)", failed(
            AREA, name, f"{error}: the function answers 500 to every request",
            "fix the configuration and redeploy (scripts/package checks it)")
    evidence = (f"{source}: query_allowlist {list(config.query_allowlist)}, failover_header "
                f"{config.failover_header}, methods {list(config.allowed_methods)}, log_level {config.log_level}")
    if not facts.native and facts.mrap_alias and not config.is_mrap_host(facts.mrap_domain):
        return config, source, failed(AREA, name, evidence + f"; mrap_host_patterns {list(config.mrap_host_patterns)}"
                                      f" do not match {facts.mrap_domain}: the function refuses to sign for it",
                                      "add the MRAP's host to mrap_host_patterns and redeploy")
    return config, source, passed(AREA, name, evidence)


def enabled_regions(clients: ClientFactory, fallback: Sequence[str]) -> Tuple[List[str], Optional[Check]]:
    try:
        answer = clients("ec2", HOME_REGION).describe_regions(AllRegions=False)
    except AWS_ERRORS as error:
        check = refused(AREA, "Regions searched for edge logs", error, "ec2:DescribeRegions")
        return sorted(set(fallback) | {HOME_REGION}), check
    return sorted(r["RegionName"] for r in answer.get("Regions", [])), None


def edge_activity_checks(clients: ClientFactory, facts: StackFacts, now: Optional[datetime.datetime] = None,
                         workers: int = 8) -> List[Check]:
    """Errors and throttles in the last hour, one check per Region that ran the function."""
    if facts.native:
        return [skipped(AREA, "errors and throttles", "native mode: no function")]
    if not facts.function_name:
        return [_unnamed()]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    regions, denied = enabled_regions(clients, [b.region for b in facts.buckets])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        per_region = list(pool.map(lambda region: _region_activity(clients, facts, region, now), regions))
    checks = [denied] if denied else []
    checks += [check for found in per_region for check in found]
    if not any(found for found in per_region):
        checks.append(passed(AREA, "errors and throttles",
                             f"no Region has {log_group_name(facts.function_name)} yet: no edge location has run "
                             f"the function (searched {len(regions)} Regions)"))
    return checks


def _region_activity(clients: ClientFactory, facts: StackFacts, region: str, now: datetime.datetime) -> List[Check]:
    group = log_group_name(facts.function_name)
    name = f"errors and throttles in {region}"
    logs = clients("logs", region)
    try:
        groups = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
    except AWS_ERRORS as error:
        return [refused(AREA, name, error, "logs:DescribeLogGroups")]
    if not any(g.get("logGroupName") == group for g in groups):
        return []
    try:
        totals = _metric_sums(clients("cloudwatch", region), f"us-east-1.{facts.function_name}", now)
    except AWS_ERRORS as error:
        return [refused(AREA, name, error, "cloudwatch:GetMetricData")]
    invocations, errors, throttles = totals["Invocations"], totals["Errors"], totals["Throttles"]
    evidence = f"last hour: {invocations:.0f} invocations, {errors:.0f} errors, {throttles:.0f} throttles"
    try:
        lines = _newest_error_lines(logs, group, now)
    except AWS_ERRORS as error:
        return [refused(AREA, name, error, "logs:FilterLogEvents")]
    if lines:
        evidence += "; newest error lines: " + " | ".join(lines)
    ok = errors == 0 and throttles == 0 and not lines
    fix = ("the lines above name the error and the request id; throttles: ask for a higher Lambda concurrency "
           f"quota in {region}")
    return [verdict(AREA, name, ok, evidence, fix)]


def _metric_sums(cloudwatch: Any, function: str, now: datetime.datetime) -> Dict[str, float]:
    metrics = ("Invocations", "Errors", "Throttles")
    queries = [{"Id": metric.lower(), "MetricStat": {
        "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric,
                   "Dimensions": [{"Name": "FunctionName", "Value": function}]},
        "Period": 3600, "Stat": "Sum"}, "ReturnData": True} for metric in metrics]
    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=now - WINDOW, EndTime=now)
    sums = {metric: 0.0 for metric in metrics}
    by_id = {metric.lower(): metric for metric in metrics}
    for result in answer.get("MetricDataResults", []):
        sums[by_id[result["Id"]]] += sum(result.get("Values", []))
    return sums


def _newest_error_lines(logs: Any, group: str, now: datetime.datetime) -> List[str]:
    start = int((now - WINDOW).timestamp() * 1000)
    found: List[Tuple[int, str]] = []
    kwargs: Dict[str, Any] = {"logGroupName": group, "startTime": start, "endTime": int(now.timestamp() * 1000),
                              "filterPattern": ERROR_PATTERN}
    for _ in range(5):  # enough pages for the newest lines of an hour; this is a status check, not a log search
        page = logs.filter_log_events(**kwargs)
        found += [(int(e.get("timestamp", 0)), str(e.get("message", "")).strip()) for e in page.get("events", [])
                  if any(term in str(e.get("message", "")) for term in ERROR_TERMS)]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    found.sort(reverse=True)
    return [_short(message) for _, message in found[:NEWEST_LINES]]


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[:limit - 3] + "..."
