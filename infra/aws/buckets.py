"""S3 work done outside the stack: the deployables bucket, the code upload, the Regional buckets and their checks,
and the CloudFront read statement in bucket policies.

Regional buckets sit in other Regions than the us-east-1 stack and must exist (with replication, see replication.py)
before the MRAP is created, so deploy makes them with the API. Everything it creates is tagged, so teardown deletes
only that. An existing bucket is first-class: it is checked (Region, versioning) and reported with what it holds,
never changed behind the user's back.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict

from botocore.exceptions import ClientError

from .clients import HOME_REGION, ClientFactory
from .errors import ToolError, error_code, refusal
from .regions import Bucket
from .names import CREATED_BY_TAG
from .replication import LOCAL_PREFIXES
# The local stand-in (infra/local) imports the replication configuration from here.
from .replication import replication_configuration  # noqa: F401

__all__ = [
    "CREATED_BY_TAG",
    "FAILOVER_POLICY_SID",
    "ensure_bucket",
    "upload_code",
    "allow_failover_reads",
    "cloudfront_read_statement",
    "bucket_region",
    "check_bucket",
    "check_existing_bucket",
]

FAILOVER_POLICY_SID = "MrapEdgeCloudFrontFailoverReads"
Say = Callable[[str], None]
_MISSING = ("404", "NoSuchBucket", "NotFound")


def _region_header(response: Dict[str, Any]) -> str:
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    return str(response.get("BucketRegion") or headers.get("x-amz-bucket-region") or "")


def bucket_region(clients: ClientFactory, name: str) -> str:
    """The Region of an existing bucket, from HeadBucket's `x-amz-bucket-region` header.

    S3 sends that header on every HeadBucket answer, a 403 and a 301 included; GetBucketLocation is not used: it needs
    another permission, answers None for us-east-1, and AWS recommends HeadBucket instead."""
    try:
        region = _region_header(clients("s3", HOME_REGION).head_bucket(Bucket=name))
    except ClientError as error:
        region = _region_header(getattr(error, "response", {}) or {})
        if not region:
            if error_code(error) in _MISSING:
                raise ToolError(f"unable to find bucket {name}: there is no such bucket "
                                "(pass --create-buckets with name@region to create it)") from None
            raise refusal(f"find the Region of bucket {name}", error, "write it as name@region") from None
    if not region:
        raise ToolError(f"unable to find the Region of bucket {name}: write it as name@region")
    return region


def _head(s3: Any, bucket: Bucket) -> Dict[str, Any]:
    """HeadBucket's answer, or {} when there is no such bucket."""
    try:
        return dict(s3.head_bucket(Bucket=bucket.name))
    except ClientError as error:
        if error_code(error) in _MISSING:
            return {}
        raise refusal(f"use bucket {bucket.name}", error,
                      "a 403 means it belongs to another account or the caller lacks s3:ListBucket") from None


def _check_existing(s3: Any, bucket: Bucket, answer: Dict[str, Any], versioned: bool) -> None:
    """An existing bucket the user named: in the Region they said, versioned when it is to replicate."""
    region = _region_header(answer)
    if region and region != bucket.region:
        raise ToolError(f"unable to use bucket {bucket.name}@{bucket.region}: the bucket is in {region}; "
                        f"write {bucket.name}@{region} in --buckets")
    if not versioned:
        return
    try:
        status = s3.get_bucket_versioning(Bucket=bucket.name).get("Status", "")
    except ClientError as error:
        raise refusal(f"read the versioning of {bucket.name}", error,
                      "the caller needs s3:GetBucketVersioning") from None
    if status != "Enabled":
        raise ToolError(
            f"unable to replicate bucket {bucket.name}: versioning is {status or 'not enabled'} on it, and S3 "
            "replication needs it on both sides. Turn it on (it cannot be turned off later, only suspended; every "
            f"overwrite then keeps the old version): aws s3api put-bucket-versioning --bucket {bucket.name} "
            "--versioning-configuration Status=Enabled")


def _describe_contents(s3: Any, bucket: Bucket) -> str:
    try:
        page = s3.list_objects_v2(Bucket=bucket.name, MaxKeys=1000)
    except ClientError as error:
        raise refusal(f"list the objects of {bucket.name}", error, "the caller needs s3:ListBucket") from None
    keys = [o["Key"] for o in page.get("Contents", []) if not str(o["Key"]).startswith(LOCAL_PREFIXES)]
    if not keys:
        return "empty"
    count = f"{len(keys):,}{'+' if page.get('IsTruncated') else ''}"
    return f"holds {count} object(s)"


def ensure_bucket(clients: ClientFactory, bucket: Bucket, say: Say, versioned: bool, dry_run: bool = False) -> bool:
    """Create the bucket with Block Public Access, default encryption and (optionally) versioning.

    Returns True when it was created now (or would be, in a dry run). An existing bucket is checked and described,
    not changed: it may hold a user's data."""
    s3 = clients("s3", bucket.region)
    answer = _head(s3, bucket)
    if answer:
        _check_existing(s3, bucket, answer, versioned)
        say(f"bucket {bucket.name} ({bucket.region}) exists and {_describe_contents(s3, bucket)}; "
            "its objects, policy and settings are kept")
        return False
    if dry_run:
        say(f"would create bucket {bucket.name} ({bucket.region}): Block Public Access, SSE-S3"
            + (", versioning" if versioned else ""))
        return True
    kwargs: Dict[str, Any] = {"Bucket": bucket.name}
    if bucket.region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": bucket.region}
    try:
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
    except ClientError as error:
        fix = ("bucket names are global: choose another name" if error_code(error) == "BucketAlreadyExists"
               else "the caller needs s3:CreateBucket, s3:PutBucket* and s3:PutEncryptionConfiguration")
        raise refusal(f"create bucket {bucket.name} in {bucket.region}", error, fix) from None
    say(f"created bucket {bucket.name} ({bucket.region})")
    return True


def upload_code(clients: ClientFactory, bucket: str, key: str, zip_path: Path, say: Say,
                dry_run: bool = False) -> bool:
    """Upload the zip under its hash-named key unless it is already there; True when uploaded now."""
    s3 = clients("s3", HOME_REGION)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        say(f"code s3://{bucket}/{key} already uploaded")
        return False
    except ClientError as error:
        if error_code(error) not in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):  # NoSuchBucket: a dry run
            raise refusal(f"check s3://{bucket}/{key}", error) from None
    if dry_run:
        say(f"would upload {zip_path.name} to s3://{bucket}/{key}")
        return True
    try:
        with zip_path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/zip")
    except ClientError as error:
        raise refusal(f"upload the package to s3://{bucket}/{key}", error, "the caller needs s3:PutObject") from None
    say(f"uploaded {zip_path.name} to s3://{bucket}/{key}")
    return True


def check_bucket(clients: ClientFactory, bucket: Bucket) -> None:
    """An existing bucket the user named without --create-buckets: there, in its Region, versioned."""
    check_existing_bucket(clients, bucket, required=True)


def check_existing_bucket(clients: ClientFactory, bucket: Bucket, required: bool) -> None:
    """A bucket that exists is in the Region the user said and versioned; one that does not is refused when
    `required` (it will not be created)."""
    s3 = clients("s3", bucket.region)
    answer = _head(s3, bucket)
    if not answer:
        if required:
            raise ToolError(f"unable to use bucket {bucket.name} in {bucket.region}: there is no such bucket "
                            "(pass --create-buckets to create it with replication)")
        return
    _check_existing(s3, bucket, answer, versioned=True)


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


def allow_failover_reads(clients: ClientFactory, bucket: Bucket, distribution_arn: str, say: Say,
                         dry_run: bool = False) -> bool:
    """Let the distribution's origin access control read the failover bucket; other statements are kept.

    Done here rather than in the stack: the bucket is in another Region than the stack. Returns True when changed.
    """
    s3 = clients("s3", bucket.region)
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket.name)["Policy"])
    except ClientError as error:
        if error_code(error) != "NoSuchBucketPolicy":
            raise refusal(f"read the bucket policy of {bucket.name}", error,
                          "the caller needs s3:GetBucketPolicy") from None
        policy = {"Version": "2012-10-17", "Statement": []}
    statement = cloudfront_read_statement(bucket.name, distribution_arn)
    others = [s for s in policy.get("Statement", []) if s.get("Sid") != FAILOVER_POLICY_SID]
    if statement in policy.get("Statement", []):
        return False
    if dry_run:
        say(f"would add statement {FAILOVER_POLICY_SID} to the bucket policy of {bucket.name} (other statements kept)")
        return True
    policy["Statement"] = others + [statement]
    try:
        s3.put_bucket_policy(Bucket=bucket.name, Policy=json.dumps(policy))
    except ClientError as error:
        raise refusal(f"set the bucket policy of {bucket.name}", error,
                      "the caller needs s3:PutBucketPolicy; Block Public Access allows this policy (it names a "
                      "service principal with a condition)") from None
    say(f"bucket policy of {bucket.name}: CloudFront failover reads allowed for {distribution_arn}")
    return True
