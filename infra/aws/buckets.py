"""S3 work done outside the stack: the deployables bucket, the code upload, the Regional buckets and replication.

Regional buckets sit in other Regions than the us-east-1 stack and must exist (with replication) before the MRAP
is created, so deploy makes them with the API. Everything it creates is tagged, so teardown deletes only that.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

from botocore.exceptions import ClientError

from .errors import error_code
from .clients import HOME_REGION, ClientFactory, ToolError
from .regions import Bucket

__all__ = [
    "CREATED_BY_TAG",
    "PROBE_KEY",
    "FAILOVER_POLICY_SID",
    "ensure_bucket",
    "upload_code",
    "replication_configuration",
    "ensure_replication_role",
    "put_replication",
    "allow_failover_reads",
    "cloudfront_read_statement",
    "bucket_region",
    "check_bucket",
]

CREATED_BY_TAG = ("mrap-edge:created-by", "scripts/deploy")
# Probe objects are named so; replication rules exclude this prefix (see replication_configuration).
PROBE_KEY = "mrap-edge-probe.json"
FAILOVER_POLICY_SID = "MrapEdgeCloudFrontFailoverReads"
Say = Callable[[str], None]



def bucket_region(clients: ClientFactory, name: str) -> str:
    """The Region of an existing bucket (GetBucketLocation answers None for us-east-1)."""
    try:
        answer = clients("s3", HOME_REGION).get_bucket_location(Bucket=name)
    except ClientError as error:
        raise ToolError(f"unable to find bucket {name}: {error_code(error)}") from None
    return answer.get("LocationConstraint") or "us-east-1"


def ensure_bucket(clients: ClientFactory, bucket: Bucket, say: Say, versioned: bool) -> bool:
    """Create the bucket with Block Public Access, default encryption and (optionally) versioning.

    Returns True when it was created now. An existing bucket is checked, not changed: it may hold a user's data.
    """
    s3 = clients("s3", bucket.region)
    try:
        s3.head_bucket(Bucket=bucket.name)
        exists = True
    except ClientError as error:
        if error_code(error) not in ("404", "NoSuchBucket", "NotFound"):
            raise ToolError(
                f"unable to use bucket {bucket.name}: {error_code(error)} (owned by another account?)"
            ) from None
        exists = False
    if exists:
        if versioned and s3.get_bucket_versioning(Bucket=bucket.name).get("Status") != "Enabled":
            raise ToolError(f"unable to replicate bucket {bucket.name}: versioning is not enabled on it")
        say(f"bucket {bucket.name} ({bucket.region}) exists")
        return False
    kwargs: Dict[str, Any] = {"Bucket": bucket.name}
    if bucket.region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": bucket.region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket.name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket.name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]
        },
    )
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
    tag = {"Key": CREATED_BY_TAG[0], "Value": CREATED_BY_TAG[1]}
    s3.put_bucket_tagging(Bucket=bucket.name, Tagging={"TagSet": [tag]})
    say(f"created bucket {bucket.name} ({bucket.region})")
    return True


def upload_code(clients: ClientFactory, bucket: str, key: str, zip_path: Path, say: Say) -> bool:
    """Upload the zip under its hash-named key unless it is already there; True when uploaded now."""
    s3 = clients("s3", HOME_REGION)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        say(f"code s3://{bucket}/{key} already uploaded")
        return False
    except ClientError as error:
        if error_code(error) not in ("404", "NoSuchKey", "NotFound"):
            raise ToolError(f"unable to check s3://{bucket}/{key}: {error_code(error)}") from None
    with zip_path.open("rb") as body:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/zip")
    say(f"uploaded {zip_path.name} to s3://{bucket}/{key}")
    return True


def replication_role_name(stack_name: str) -> str:
    return f"{stack_name}-replication"


def ensure_replication_role(clients: ClientFactory, stack_name: str, buckets: Sequence[Bucket], say: Say) -> str:
    """The role S3 assumes to replicate between the buckets; created or its policy refreshed. Returns the ARN."""
    iam = clients("iam", HOME_REGION)
    name = replication_role_name(stack_name)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="S3 replication between the mrap-edge buckets",
            Tags=[{"Key": CREATED_BY_TAG[0], "Value": CREATED_BY_TAG[1]}],
        )["Role"]["Arn"]
        say(f"created replication role {name}")
    buckets_arns = [f"arn:aws:s3:::{b.name}" for b in buckets]
    objects_arns = [f"{arn_}/*" for arn_ in buckets_arns]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
             "Resource": buckets_arns},
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": objects_arns,
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": objects_arns,
            },
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="replicate-between-buckets", PolicyDocument=json.dumps(policy))
    return arn


def replication_configuration(source: Bucket, buckets: Sequence[Bucket], role_arn: str, rtc: bool) -> Dict[str, Any]:
    """Replicate `source` to every other bucket, except the probe object.

    A rule filter cannot say "everything but X", so each destination gets two rules: an enabled one for all keys and
    a disabled one, with a higher priority, for the probe prefix. When rules to the same destination overlap, S3 applies
    the highest-priority one, so the probe is not replicated. upload-probes double-checks this on every probe it writes
    (a probe covered by an enabled rule comes back with a ReplicationStatus).
    """
    rules: List[Dict[str, Any]] = []
    destinations = [b for b in buckets if b != source]
    for index, destination in enumerate(destinations):
        target: Dict[str, Any] = {"Bucket": f"arn:aws:s3:::{destination.name}"}
        if rtc:
            # S3 Replication Time Control: 99.99% of objects within 15 minutes; needs the metrics too.
            target["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": 15}}
            target["Metrics"] = {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
        rules.append(
            {
                "ID": f"to-{destination.region}",
                "Priority": index + 1,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Enabled"},
                "Destination": target,
            }
        )
        rules.append(
            {
                "ID": f"keep-probe-out-of-{destination.region}",
                "Priority": len(destinations) + index + 1,
                "Status": "Disabled",
                "Filter": {"Prefix": PROBE_KEY},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": f"arn:aws:s3:::{destination.name}"},
            }
        )
    return {"Role": role_arn, "Rules": rules}


def put_replication(clients: ClientFactory, buckets: Sequence[Bucket], role_arn: str, rtc: bool, say: Say) -> None:
    """Two-way (all-to-all) replication, so that whichever bucket the MRAP picks has every object."""
    for source in buckets:
        config = replication_configuration(source, buckets, role_arn, rtc)
        s3 = clients("s3", source.region)
        others = ", ".join(b.name for b in buckets if b != source)
        if _fingerprint(_current_replication(s3, source.name)) == _fingerprint(config):
            say(f"replication {source.name} -> {others}: unchanged")
            continue
        s3.put_bucket_replication(Bucket=source.name, ReplicationConfiguration=config)
        say(f"replication {source.name} -> {others}{' with RTC' if rtc else ''}")


def _fingerprint(config: Any) -> Any:
    """What identifies our replication setup: rule ids (which name their purpose), priorities, states, destinations
    and RTC. S3 echoes a configuration back with defaults filled in, so whole documents are not compared."""
    if not config:
        return None
    return (config.get("Role"), sorted(
        (r.get("ID"), r.get("Priority"), r.get("Status"), r["Destination"]["Bucket"],
         r["Destination"].get("ReplicationTime", {}).get("Status"))
        for r in config.get("Rules", [])
    ))


def _current_replication(s3: Any, name: str) -> Any:
    try:
        return s3.get_bucket_replication(Bucket=name)["ReplicationConfiguration"]
    except ClientError as error:
        if error_code(error) != "ReplicationConfigurationNotFoundError":
            raise
        return None


def check_bucket(clients: ClientFactory, bucket: Bucket) -> None:
    """An existing bucket the user named: it must be there and reachable."""
    try:
        clients("s3", bucket.region).head_bucket(Bucket=bucket.name)
    except ClientError as error:
        raise ToolError(
            f"unable to use bucket {bucket.name} in {bucket.region}: {error_code(error)} "
            "(pass --create-buckets to create it with replication)"
        ) from None


def cloudfront_read_statement(bucket_name: str, distribution_arn: str) -> Dict[str, Any]:
    """The bucket policy statement that lets the distribution's origin access control read objects.

    s3:GetObjectVersion too: "If you include a versionId in your request, you must have the s3:GetObjectVersion
    permission" (GetObject), and `versionId` is forwarded by default."""
    return {
        "Sid": FAILOVER_POLICY_SID,
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": f"arn:aws:s3:::{bucket_name}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


def allow_failover_reads(clients: ClientFactory, bucket: Bucket, distribution_arn: str, say: Say) -> bool:
    """Let the distribution's origin access control read the failover bucket; other statements are kept.

    Done here rather than in the stack: the bucket is in another Region than the stack. Returns True when changed.
    """
    s3 = clients("s3", bucket.region)
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket.name)["Policy"])
    except ClientError as error:
        if error_code(error) != "NoSuchBucketPolicy":
            raise
        policy = {"Version": "2012-10-17", "Statement": []}
    statement = cloudfront_read_statement(bucket.name, distribution_arn)
    others = [s for s in policy.get("Statement", []) if s.get("Sid") != FAILOVER_POLICY_SID]
    if statement in policy.get("Statement", []):
        return False
    policy["Statement"] = others + [statement]
    s3.put_bucket_policy(Bucket=bucket.name, Policy=json.dumps(policy))
    say(f"bucket policy of {bucket.name}: CloudFront failover reads allowed for {distribution_arn}")
    return True
