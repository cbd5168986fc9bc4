"""Two-way replication between the MRAP's buckets: the rules, the role S3 replicates with, and merging with what a
bucket already has.

`PutBucketReplication` replaces a bucket's whole configuration, so a user's own rules (to a backup bucket, say) would
be lost if ours were simply written. Instead the current configuration is read and merged: foreign rules are kept
as they are, with their priorities, and ours are added above them with free priorities. Where a merge cannot keep
both, deploy refuses with the reason before writing anything:
- the configuration has exactly one role, and it is not ours (ours would replace it for the user's rules);
- a rule uses the old (V1) form with a top-level `Prefix`, which S3 does not accept next to Filter-based rules;
- a foreign rule already replicates part of the bucket to one of our destinations: ours (for every key) would take
  precedence over it and change what it does.
A foreign rule that already replicates every key to one of our destinations is kept and used instead of ours.

A rule filter cannot say "everything but X", so the prefixes that must stay in their bucket (the probe, the backfill
manifests and reports) each get a disabled rule per destination with a higher priority than the rule for all keys:
when rules to the same destination overlap, S3 applies the highest-priority one.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from . import encryption
from .clients import HOME_REGION, ClientFactory
from .errors import ToolError, error_code, refusal
from .names import BACKFILL_PREFIX, CREATED_BY_TAG, PROBE_KEY
from .regions import Bucket

__all__ = [
    "PROBE_KEY",
    "BACKFILL_PREFIX",
    "LOCAL_PREFIXES",
    "RULE_ID_PREFIX",
    "replication_role_name",
    "replication_policy",
    "role_arn_for",
    "ensure_replication_role",
    "our_rules",
    "replication_configuration",
    "is_our_rule",
    "their_rules",
    "rule_id",
    "current_replication",
    "ReplicationPlan",
    "plan_replication",
    "plan_all",
    "put_replication",
    "replicates_everything",
    "missing_replication",
    "without_our_rules",
]

# What must stay in its bucket: each bucket's probe, and the backfill's manifests and reports.
LOCAL_PREFIXES = (PROBE_KEY, BACKFILL_PREFIX)
RULE_ID_PREFIX = "mrap-edge-"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
# Rule ids of earlier versions (`to-<region>`, `keep-probe-out-of-<region>`, then `mrap-edge-to-<region>` and
# `mrap-edge-keep-<what>-out-of-<region>`), without the stack's name: taken as ours only in a configuration with our
# role, so that a redeploy replaces them. This can go once every stack deployed with version 0.1.0 or earlier (before
# the stack's name was in the ids) has been deployed again: its rules then carry the new ids.
_LEGACY_ID = re.compile(rf"(?:mrap-edge-)?(?:to|keep-probe-out-of|keep-(?:probe|backfill-reports)-out-of)-{_REGION}")
# "EventThreshold ... the time threshold for emitting the s3:Replication:OperationMissedThreshold event"; 15 minutes
# is the only value S3 accepts with Replication Time Control, and the one the console sets for metrics alone.
_METRICS = {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
REPLICATION_POLICY_NAME = "replicate-between-buckets"

Say = Callable[[str], None]


def replication_role_name(stack_name: str) -> str:
    return f"{stack_name}-replication"


def role_arn_for(account_id: str, role_name: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{role_name}"


def _replication_policy(buckets: Sequence[Bucket]) -> Dict[str, Any]:
    """What S3 needs to replicate among the buckets (S3 User Guide, "Setting up permissions for live replication")."""
    bucket_arns = [f"arn:aws:s3:::{b.name}" for b in buckets]
    object_arns = [f"{arn}/*" for arn in bucket_arns]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
             "Resource": bucket_arns},
            {"Effect": "Allow",
             "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
             "Resource": object_arns},
            {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
             "Resource": object_arns},
        ],
    }


def replication_policy(buckets: Sequence[Bucket], kms: Optional[encryption.KmsPlan] = None) -> Dict[str, Any]:
    """The replication role's permissions, with the SSE-KMS keys when the buckets use them (encryption.py)."""
    policy = _replication_policy(buckets)
    policy["Statement"] += encryption.replication_role_statements(kms, buckets)
    return policy


def ensure_role(clients: ClientFactory, account_id: str, name: str, service: str, description: str,
                policy_name: str, policy: Dict[str, Any], say: Say, dry_run: bool = False) -> Tuple[str, bool]:
    """A role trusted by `service` with exactly `policy` inline; created, or its policy replaced when it differs.

    Reads first; writes only what changes; in a dry run says what it would write. Returns (ARN, created now)."""
    iam = clients("iam", HOME_REGION)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    try:
        arn = str(iam.get_role(RoleName=name)["Role"]["Arn"])
        created = False
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise refusal(f"read role {name}", error, "the caller needs iam:GetRole") from None
        arn, created = role_arn_for(account_id, name), True
        if dry_run:
            say(f"would create role {name}, trusted by {service}, with policy {policy_name}")
            return arn, True
        try:
            arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                                      Description=description,
                                      Tags=[{"Key": CREATED_BY_TAG[0], "Value": CREATED_BY_TAG[1]}])["Role"]["Arn"])
        except ClientError as error:
            raise refusal(f"create role {name}", error, "the caller needs iam:CreateRole and iam:TagRole") from None
        say(f"created role {name} (trusted by {service})")
    if not created:
        try:
            current = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            if isinstance(current, str):
                current = json.loads(current)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise refusal(f"read the policy of role {name}", error, "the caller needs iam:GetRolePolicy") from None
            current = None
        if current == policy:
            return arn, False
    if dry_run:
        say(f"would set policy {policy_name} of role {name}")
        return arn, created
    try:
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    except ClientError as error:
        raise refusal(f"set the policy of role {name}", error, "the caller needs iam:PutRolePolicy") from None
    say(f"role {name}: policy {policy_name} set")
    return arn, created


def ensure_replication_role(clients: ClientFactory, account_id: str, stack_name: str, buckets: Sequence[Bucket],
                            say: Say, dry_run: bool = False, kms: Optional[encryption.KmsPlan] = None) -> str:
    """The role S3 assumes to replicate between the buckets. Returns its ARN."""
    arn, _ = ensure_role(clients, account_id, replication_role_name(stack_name), "s3.amazonaws.com",
                         "S3 replication between the mrap-edge buckets", REPLICATION_POLICY_NAME,
                         replication_policy(buckets, kms), say, dry_run)
    return arn


def rule_id(stack_name: str, purpose: str, destination: Bucket) -> str:
    """Our rule ids name the stack, so that they cannot be a user's by accident:
    `mrap-edge-<stack>-<purpose>-<region>`."""
    return f"{RULE_ID_PREFIX}{stack_name}-{purpose}-{destination.region}"


def _our_id(stack_name: str) -> "re.Pattern[str]":
    return re.compile(rf"{re.escape(RULE_ID_PREFIX + stack_name)}-(?:to|keep-(?:probe|backfill-reports)-out-of)"
                      rf"-{_REGION}")


def is_our_rule(rule: Dict[str, Any], config: Optional[Dict[str, Any]], stack_name: str, role_arn: str) -> bool:
    """A rule is ours when the configuration replicates with our role and the rule's id is exactly one we write (or
    wrote in an earlier version): a user's `to-backup`, or any rule under their own role, is theirs."""
    if not config or config.get("Role") != role_arn:
        return False
    identifier = str(rule.get("ID", ""))
    return bool(_our_id(stack_name).fullmatch(identifier) or _LEGACY_ID.fullmatch(identifier))


def their_rules(config: Optional[Dict[str, Any]], stack_name: str, role_arn: str) -> List[Dict[str, Any]]:
    return [r for r in (config or {}).get("Rules", []) if not is_our_rule(r, config, stack_name, role_arn)]


def _destination_arn(bucket: Bucket) -> str:
    return f"arn:aws:s3:::{bucket.name}"


def _everything_rule(stack_name: str, destination: Bucket, priority: int, rtc: bool) -> Dict[str, Any]:
    target: Dict[str, Any] = {"Bucket": _destination_arn(destination), "Metrics": dict(_METRICS)}
    if rtc:
        # S3 Replication Time Control: 99.99% of objects within 15 minutes.
        target["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": 15}}
    return {"ID": rule_id(stack_name, "to", destination), "Priority": priority, "Status": "Enabled",
            "Filter": {"Prefix": ""}, "DeleteMarkerReplication": {"Status": "Enabled"}, "Destination": target}


def _local_rule(stack_name: str, destination: Bucket, prefix: str, priority: int) -> Dict[str, Any]:
    what = "probe" if prefix == PROBE_KEY else "backfill-reports"
    return {"ID": rule_id(stack_name, f"keep-{what}-out-of", destination), "Priority": priority,
            "Status": "Disabled", "Filter": {"Prefix": prefix}, "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": _destination_arn(destination), "Metrics": dict(_METRICS)}}


def our_rules(stack_name: str, source: Bucket, buckets: Sequence[Bucket], rtc: bool, first_priority: int = 1,
              covered: Sequence[str] = ()) -> List[Dict[str, Any]]:
    """Our rules for `source`: all keys to every other bucket (except destinations in `covered`, which a foreign
    rule already replicates everything to), then, with higher priorities, the disabled rules for LOCAL_PREFIXES."""
    destinations = [b for b in buckets if b != source]
    rules: List[Dict[str, Any]] = []
    priority = first_priority
    for destination in destinations:
        if destination.name in covered:
            continue
        rules.append(_everything_rule(stack_name, destination, priority, rtc))
        priority += 1
    for destination in destinations:
        for prefix in LOCAL_PREFIXES:
            rules.append(_local_rule(stack_name, destination, prefix, priority))
            priority += 1
    return rules


def replication_configuration(source: Bucket, buckets: Sequence[Bucket], role_arn: str, rtc: bool,
                              stack_name: str = "mrap-edge") -> Dict[str, Any]:
    """The whole configuration mrap-edge writes on `source` when the bucket has none of its own."""
    return {"Role": role_arn, "Rules": our_rules(stack_name, source, buckets, rtc)}


def current_replication(clients: ClientFactory, bucket: Bucket) -> Optional[Dict[str, Any]]:
    try:
        return dict(clients("s3", bucket.region).get_bucket_replication(Bucket=bucket.name)["ReplicationConfiguration"])
    except ClientError as error:
        if error_code(error) in ("ReplicationConfigurationNotFoundError", "NoSuchBucket"):  # NoSuchBucket: dry run
            return None
        raise refusal(f"read the replication configuration of {bucket.name}", error,
                      "the caller needs s3:GetReplicationConfiguration") from None


def _covers_every_key(rule: Dict[str, Any]) -> bool:
    if "Filter" not in rule:
        return bool(rule.get("Prefix", "") == "")
    rule_filter = rule.get("Filter") or {}
    return not rule_filter or rule_filter == {"Prefix": ""}


def replicates_everything(config: Optional[Dict[str, Any]], destination: Bucket) -> Optional[str]:
    """The id of an enabled rule in `config` that replicates every key to `destination`, or None."""
    for rule in (config or {}).get("Rules", []):
        target = rule.get("Destination", {}).get("Bucket")
        if rule.get("Status") == "Enabled" and target == _destination_arn(destination) and _covers_every_key(rule):
            return str(rule.get("ID", "(no id)"))
    return None


@dataclass
class ReplicationPlan:
    source: Bucket
    config: Dict[str, Any]
    unchanged: bool
    kept: List[str] = field(default_factory=list)  # ids of the foreign rules kept
    reused: Dict[str, str] = field(default_factory=dict)  # destination name -> foreign rule id used instead of ours


def plan_replication(stack_name: str, source: Bucket, buckets: Sequence[Bucket], role_arn: str, rtc: bool,
                     current: Optional[Dict[str, Any]], kms: Optional[encryption.KmsPlan] = None) -> ReplicationPlan:
    """The configuration to write on `source`: the foreign rules of `current`, untouched, plus ours; or a ToolError
    saying why the two cannot be merged."""
    if not current or not current.get("Rules"):
        config = _with_kms(replication_configuration(source, buckets, role_arn, rtc, stack_name), buckets, kms,
                           stack_name, role_arn)
        return ReplicationPlan(source, config, unchanged=_fingerprint(current) == _fingerprint(config))
    foreign = their_rules(current, stack_name, role_arn)
    if foreign and current.get("Role") != role_arn:
        raise ToolError(
            f"unable to add replication rules to {source.name}: its configuration replicates with role "
            f"{current.get('Role')}, and a configuration has exactly one role, so mrap-edge's ({role_arn}) would "
            f"replace it for your rules ({', '.join(str(r.get('ID')) for r in foreign)}); give that role the "
            "permissions of ours and remove your rules, or replicate these buckets yourself and deploy without "
            "--create-buckets")
    old_form = [str(rule.get("ID", "(no id)")) for rule in foreign if "Filter" not in rule]
    if old_form:
        raise ToolError(
            f"unable to add replication rules to {source.name}: rule {old_form[0]} uses the old form with a "
            "top-level Prefix, which S3 does not accept next to Filter-based rules; rewrite it with "
            "\"Filter\": {\"Prefix\": ...} and \"DeleteMarkerReplication\" (aws s3api put-bucket-replication), "
            "then run deploy again")
    reused: Dict[str, str] = {}
    for destination in (b for b in buckets if b != source):
        partial = [rule for rule in foreign if rule.get("Status") == "Enabled"
                   and rule.get("Destination", {}).get("Bucket") == _destination_arn(destination)]
        everything = replicates_everything({"Rules": partial}, destination)
        if everything:
            reused[destination.name] = everything
        elif partial:
            raise ToolError(
                f"unable to add replication rules to {source.name}: your rule {partial[0].get('ID')} already "
                f"replicates part of it to {destination.name}, and mrap-edge's rule for every key would take "
                "precedence over it; change it to cover every key (Filter {\"Prefix\": \"\"}) or remove it, then "
                "run deploy again")
    top = max((int(rule.get("Priority", 0)) for rule in foreign), default=0)
    config = {"Role": current.get("Role") or role_arn,
              "Rules": foreign + our_rules(stack_name, source, buckets, rtc, first_priority=top + 1,
                                           covered=list(reused))}
    config = _with_kms(config, buckets, kms, stack_name, role_arn)
    return ReplicationPlan(source, config, unchanged=_fingerprint(current) == _fingerprint(config),
                           kept=[str(rule.get("ID")) for rule in foreign], reused=reused)


def _with_kms(config: Dict[str, Any], buckets: Sequence[Bucket], kms: Optional[encryption.KmsPlan],
              stack_name: str, role_arn: str) -> Dict[str, Any]:
    """Our enabled rules opted in to SSE-KMS objects with each destination Region's key (encryption.with_kms)."""
    regions = {_destination_arn(b): b.region for b in buckets}
    config["Rules"] = [encryption.with_kms(r, kms, regions[r["Destination"]["Bucket"]])
                       if is_our_rule(r, config, stack_name, role_arn) else r for r in config["Rules"]]
    return config


def _fingerprint(config: Optional[Dict[str, Any]]) -> Any:
    """What identifies a replication setup: rule ids (ours name their purpose, and so their filter), priorities,
    states, destinations, RTC and metrics. S3 echoes a configuration back with defaults filled in, so whole documents
    are not compared."""
    if not config or not config.get("Rules"):
        return None
    return (config.get("Role"), sorted(
        (str(r.get("ID")), r.get("Priority"), r.get("Status"), r["Destination"]["Bucket"],
         r["Destination"].get("ReplicationTime", {}).get("Status"), r["Destination"].get("Metrics", {}).get("Status"),
         (r["Destination"].get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID"))
        for r in config.get("Rules", [])
    ))


def plan_all(clients: ClientFactory, stack_name: str, buckets: Sequence[Bucket], role_arn: str,
             rtc: bool, kms: Optional[encryption.KmsPlan] = None) -> List[ReplicationPlan]:
    """Each bucket's plan, from reads only; a ToolError when a bucket's configuration cannot take our rules (deploy
    calls this before it writes anything)."""
    return [plan_replication(stack_name, source, buckets, role_arn, rtc, current_replication(clients, source), kms)
            for source in buckets]


def put_replication(clients: ClientFactory, stack_name: str, buckets: Sequence[Bucket], role_arn: str, rtc: bool,
                    say: Say, dry_run: bool = False, kms: Optional[encryption.KmsPlan] = None) -> List[ReplicationPlan]:
    """Two-way (all-to-all) replication, so that whichever bucket the MRAP picks has every object.

    Every bucket's plan is made (and refused if need be) before any is written."""
    plans = plan_all(clients, stack_name, buckets, role_arn, rtc, kms)
    for plan in plans:
        others = ", ".join(b.name for b in buckets if b != plan.source)
        kept = f" (your rules kept: {', '.join(plan.kept)})" if plan.kept else ""
        for destination, rule_id in plan.reused.items():
            say(f"replication {plan.source.name} -> {destination}: your rule {rule_id} already covers every key")
        if plan.unchanged:
            say(f"replication {plan.source.name} -> {others}: unchanged{kept}")
            continue
        if dry_run:
            say(f"would set replication {plan.source.name} -> {others}{' with RTC' if rtc else ''}{kept}: "
                + ", ".join(f"{r['ID']} (priority {r['Priority']}, {r['Status']})"
                            for r in plan.config["Rules"] if str(r.get("ID")) not in plan.kept))
            continue
        try:
            clients("s3", plan.source.region).put_bucket_replication(Bucket=plan.source.name,
                                                                     ReplicationConfiguration=plan.config)
        except ClientError as error:
            raise refusal(f"set replication on {plan.source.name}", error,
                          "the caller needs s3:PutReplicationConfiguration and iam:PassRole on the replication "
                          "role; both buckets must be versioned") from None
        say(f"replication {plan.source.name} -> {others}{' with RTC' if rtc else ''}, metrics on{kept}")
    return plans


def missing_replication(clients: ClientFactory, buckets: Sequence[Bucket]) -> List[Tuple[Bucket, Bucket]]:
    """The (source, destination) pairs with no enabled rule replicating every key: the MRAP would serve a 403
    from `destination` for objects written to `source`."""
    missing = []
    for source in buckets:
        config = current_replication(clients, source)
        missing += [(source, d) for d in buckets if d != source and not replicates_everything(config, d)]
    return missing


def without_our_rules(config: Optional[Dict[str, Any]], stack_name: str,
                      role_arn: str) -> Optional[Dict[str, Any]]:
    """`config` with our rules taken out: None when nothing else is left (delete the configuration)."""
    if not config:
        return None
    kept = their_rules(config, stack_name, role_arn)
    return {"Role": config.get("Role"), "Rules": kept} if kept else None
