"""SSE-KMS in the MRAP's buckets: what each bucket and a sample of its objects are encrypted with, the per-Region
keys, and the pieces every principal needs to replicate and read such objects.

The rules (S3 User Guide, "Replicating encrypted objects"; CloudFront Developer Guide, "Restrict access to an
Amazon S3 origin" and the MRAP origin page):
- "By default, Amazon S3 doesn't replicate objects that are stored at rest using server-side encryption with AWS
  KMS keys": a rule opts in with `SourceSelectionCriteria.SseKmsEncryptedObjects: Enabled` and names the key for the
  replicas with `Destination.EncryptionConfiguration.ReplicaKmsKeyID` ("The AWS KMS key must have been created in
  the same AWS Region as the destination bucket"; a key ARN is recommended: an alias "resolves the key within the
  requester's account"). DSSE-KMS objects are selected by the same opt-in.
- The replication role needs `kms:Decrypt` on the source objects' keys and `kms:Encrypt` on the replica keys, each
  narrowed by `kms:ViaService` (`s3.<region>.amazonaws.com`) and `kms:EncryptionContext:aws:s3:arn` (the object ARNs;
  the bucket ARN when the bucket uses S3 Bucket Keys).
- A reader needs `kms:Decrypt` on the key an object is stored under: the function role for every Region's key;
  CloudFront's origin access control needs a key-policy statement for `cloudfront.amazonaws.com` in every Region
  whose bucket it reads (native mode: all of them; the function's mode: the failover bucket). An AWS managed key
  (`aws/s3`) has a policy nobody can change, so CloudFront can never read objects under it.
- Without the opt-in, a Batch Replication job's generated manifest (`EligibleForReplication`) leaves SSE-KMS
  objects out and the job still completes with no failed task: `check_backfill_covers_kms` refuses to count it.

Only the default encryption and a bounded sample of objects (HeadObject) are read: an object under another key
than the sampled ones fails to replicate (a FAILED task in the job's report) and keeps its destination passive.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set

from botocore.exceptions import ClientError

from .clients import ClientFactory
from .errors import ToolError, error_code, refusal
from .regions import Bucket

__all__ = [
    "KMS_ALGORITHMS",
    "SAMPLE_SIZE",
    "CLOUDFRONT_KEY_SID",
    "BucketEncryption",
    "KmsPlan",
    "parse_kms_keys",
    "read_encryption",
    "plan_kms",
    "with_kms",
    "kms_gaps",
    "replication_role_statements",
    "batch_role_kms_statements",
    "function_key_arns",
    "cloudfront_key_statement",
    "cloudfront_key_problems",
    "check_backfill_covers_kms",
]

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
# HeadObject calls per bucket: enough to find the keys a bucket's objects commonly use, bounded for a large bucket.
SAMPLE_SIZE = 50
CLOUDFRONT_KEY_SID = "AllowCloudFrontServicePrincipalSSE-KMS"
_DENIED = ("403", "AccessDenied", "Forbidden")
_OPT_IN = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}


@dataclass(frozen=True)
class BucketEncryption:
    """What a bucket's objects are encrypted with, as far as its default and a sample of its objects tell."""
    bucket: Bucket
    default_algorithm: str = ""  # "AES256", "aws:kms", "aws:kms:dsse"; "" when none (or no such bucket yet)
    default_key: str = ""  # KMSMasterKeyID as configured: an id, a key ARN or an alias
    bucket_key: bool = False
    sampled: int = 0
    kms_objects: int = 0
    sse_c_objects: int = 0
    object_keys: FrozenSet[str] = frozenset()  # SSEKMSKeyId of the sampled SSE-KMS objects (key ARNs)
    unsampled: str = ""  # why the objects could not be sampled (the caller may not read them), or ""

    @property
    def uses_kms(self) -> bool:
        return self.default_algorithm in KMS_ALGORITHMS or self.kms_objects > 0


@dataclass
class KmsPlan:
    """The keys of one deployment: per Region the key replicas are written with, and per bucket the keys its
    objects are stored under. Empty (inactive) when no bucket uses SSE-KMS."""
    replica_keys: Dict[str, str] = field(default_factory=dict)  # region -> key ARN
    stored_keys: Dict[str, Set[str]] = field(default_factory=dict)  # bucket name -> key ARNs objects are under
    bucket_keys: Set[str] = field(default_factory=set)  # buckets with S3 Bucket Keys on
    aws_managed: Set[str] = field(default_factory=set)  # key ARNs of AWS managed keys (aws/s3)

    @property
    def active(self) -> bool:
        return bool(self.replica_keys)


def parse_kms_keys(values: Iterable[str]) -> Dict[str, str]:
    """`--kms-key REGION=KEY` (repeatable) -> {region: key}."""
    keys: Dict[str, str] = {}
    for value in values:
        region, sep, key = value.partition("=")
        if not sep or not region.strip() or not key.strip():
            raise ToolError(f"unable to read --kms-key {value!r}: write it as REGION=KEY_ARN")
        keys[region.strip()] = key.strip()
    return keys


def _default_encryption(s3: Any, bucket: Bucket) -> Optional[Dict[str, Any]]:
    """The first default-encryption rule, {} when none, None when there is no such bucket."""
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket.name)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if error_code(error) == "NoSuchBucket":
            return None
        if error_code(error) == "ServerSideEncryptionConfigurationNotFoundError":
            return {}
        raise refusal(f"read the default encryption of {bucket.name}", error,
                      "the caller needs s3:GetEncryptionConfiguration") from None
    return dict(rules[0]) if rules else {}


def read_encryption(clients: ClientFactory, bucket: Bucket, sample: int = SAMPLE_SIZE) -> BucketEncryption:
    """GetBucketEncryption, then HeadObject on up to `sample` objects. Reads only."""
    s3 = clients("s3", bucket.region)
    rule = _default_encryption(s3, bucket)
    if rule is None:
        return BucketEncryption(bucket)
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    found = BucketEncryption(bucket, default_algorithm=str(default.get("SSEAlgorithm", "")),
                             default_key=str(default.get("KMSMasterKeyID", "")),
                             bucket_key=bool(rule.get("BucketKeyEnabled")))
    try:
        listed = s3.list_objects_v2(Bucket=bucket.name, MaxKeys=sample).get("Contents", [])
        heads = [_head(s3, bucket.name, str(item["Key"])) for item in listed]
    except ClientError as error:
        if error_code(error) in _DENIED:  # e.g. a bucket policy admitting only the company's network
            return replace(found, unsampled=f"{error_code(error)} for the caller")
        raise refusal(f"sample the objects of {bucket.name}", error,
                      "the caller needs s3:ListBucket and s3:GetObject") from None
    kms = [h for h in heads if h and h.get("ServerSideEncryption") in KMS_ALGORITHMS]
    return replace(found, sampled=len(listed), kms_objects=len(kms), sse_c_objects=sum(1 for h in heads if h is None),
                   object_keys=frozenset(str(h["SSEKMSKeyId"]) for h in kms if h.get("SSEKMSKeyId")))


def _head(s3: Any, bucket: str, key: str) -> Optional[Dict[str, Any]]:
    """HeadObject's answer; None for an SSE-C object, which a HEAD without the customer's key gets 400 for."""
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as error:
        if error_code(error) in ("400", "BadRequest", "InvalidRequest"):
            return None
        raise


def _describe_key(clients: ClientFactory, region: str, key: str) -> Dict[str, Any]:
    try:
        return dict(clients("kms", region).describe_key(KeyId=key)["KeyMetadata"])
    except ClientError as error:
        raise refusal(f"read KMS key {key} in {region}", error,
                      "the caller needs kms:DescribeKey on it; give the key's ARN with --kms-key "
                      f"{region}=arn:aws:kms:{region}:<account>:key/<id>") from None


def _resolve(clients: ClientFactory, region: str, key: str, plan: KmsPlan) -> str:
    """A key id, alias or ARN -> the key's ARN (IAM policies and ReplicaKmsKeyID need the key itself)."""
    metadata = _describe_key(clients, region, key)
    arn = str(metadata["Arn"])
    if metadata.get("KeyManager") == "AWS":
        plan.aws_managed.add(arn)
    return arn


def plan_kms(clients: ClientFactory, encryptions: Sequence[BucketEncryption],
             given: Mapping[str, str]) -> KmsPlan:
    """The deployment's keys, or a ToolError naming the Region that has none. When any bucket uses SSE-KMS, every
    bucket receives SSE-KMS replicas, so each Region needs a key: `--kms-key REGION=KEY` first, then the bucket's
    own default SSE-KMS key."""
    plan = KmsPlan()
    users = [e for e in encryptions if e.uses_kms]
    if not users:
        return plan
    for item in encryptions:
        region, name = item.bucket.region, item.bucket.name
        stored = {_resolve(clients, region, k, plan) for k in item.object_keys}
        if item.default_algorithm in KMS_ALGORITHMS and item.default_key:
            stored.add(_resolve(clients, region, item.default_key, plan))
        chosen = given.get(region) or (item.default_key if item.default_algorithm in KMS_ALGORITHMS else "")
        if not chosen:
            sources = ", ".join(e.bucket.name for e in users if e.bucket != item.bucket)
            raise ToolError(
                f"unable to replicate SSE-KMS objects of {sources} to {name}: there is no KMS key for "
                f"{region} (S3 writes each replica with a key of the destination's Region); pass --kms-key "
                f"{region}=<key ARN> (a symmetric customer managed key in {region}), or set {name}'s default "
                "encryption to SSE-KMS with that key")
        plan.replica_keys[region] = _resolve(clients, region, chosen, plan)
        stored.add(plan.replica_keys[region])
        plan.stored_keys[name] = stored
        if item.bucket_key:
            plan.bucket_keys.add(name)
    return plan


def with_kms(rule: Dict[str, Any], plan: Optional[KmsPlan], destination_region: str) -> Dict[str, Any]:
    """`rule` (one of ours, replicating to a bucket in `destination_region`) opted in to SSE-KMS objects, with the
    destination Region's key for the replicas; unchanged when the plan is inactive or the rule disabled."""
    if plan is None or not plan.active or rule.get("Status") != "Enabled":
        return rule
    opted = dict(rule)
    opted["SourceSelectionCriteria"] = {**(rule.get("SourceSelectionCriteria") or {}), **_OPT_IN}
    opted["Destination"] = {**rule["Destination"],
                            "EncryptionConfiguration": {"ReplicaKmsKeyID": plan.replica_keys[destination_region]}}
    return opted


def kms_gaps(config: Optional[Dict[str, Any]], source: BucketEncryption, destinations: Sequence[Bucket]) -> List[str]:
    """Why SSE-KMS objects of `source` would not reach each destination under `config` (its rules), one line each."""
    if not source.uses_kms:
        return []
    gaps = []
    for destination in destinations:
        arn = f"arn:aws:s3:::{destination.name}"
        rules = [r for r in (config or {}).get("Rules", []) if r.get("Status") == "Enabled"
                 and r.get("Destination", {}).get("Bucket") == arn]
        opted = [r for r in rules if (r.get("SourceSelectionCriteria") or {}).get("SseKmsEncryptedObjects", {})
                 .get("Status") == "Enabled" and (r["Destination"].get("EncryptionConfiguration") or {})
                 .get("ReplicaKmsKeyID")]
        if rules and not opted:
            ids = ", ".join(str(r.get("ID", "(no id)")) for r in rules)
            gaps.append(f"rule {ids} of {source.bucket.name} replicates to {destination.name} without "
                        "SourceSelectionCriteria.SseKmsEncryptedObjects and a ReplicaKmsKeyID, so S3 leaves its "
                        f"SSE-KMS objects ({_evidence(source)}) out")
    return gaps


def _evidence(item: BucketEncryption) -> str:
    parts = []
    if item.default_algorithm in KMS_ALGORITHMS:
        parts.append(f"default encryption {item.default_algorithm}")
    if item.kms_objects:
        parts.append(f"{item.kms_objects} of {item.sampled} sampled objects")
    return ", ".join(parts)


def _encryption_context(plan: KmsPlan, bucket: str) -> List[str]:
    # With S3 Bucket Keys, "the encryption context is the bucket ARN" rather than the object's.
    arns = [f"arn:aws:s3:::{bucket}/*"]
    return arns + [f"arn:aws:s3:::{bucket}"] if bucket in plan.bucket_keys else arns


def replication_role_statements(plan: Optional[KmsPlan], buckets: Sequence[Bucket]) -> List[Dict[str, Any]]:
    """For the replication role: kms:Decrypt on each source's keys, kms:Encrypt on each destination's replica key
    (S3 User Guide, "Granting additional permissions for the IAM role")."""
    if plan is None or not plan.active:
        return []
    statements = []
    for bucket in buckets:
        via = {"kms:ViaService": f"s3.{bucket.region}.amazonaws.com",
               "kms:EncryptionContext:aws:s3:arn": _encryption_context(plan, bucket.name)}
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt"],
                           "Resource": sorted(plan.stored_keys[bucket.name]), "Condition": {"StringLike": via}})
        statements.append({"Effect": "Allow", "Action": ["kms:Encrypt"],
                           "Resource": [plan.replica_keys[bucket.region]], "Condition": {"StringLike": via}})
    return statements


def batch_role_kms_statements(clients: ClientFactory, sources: Sequence[Bucket]) -> List[Dict[str, Any]]:
    """For the Batch Replication role: the manifest and the report it writes into a source whose default encryption
    is SSE-KMS are encrypted with that key and read back (kms:GenerateDataKey, kms:Decrypt). Reads the defaults."""
    keys = set()
    for bucket in sources:
        rule = _default_encryption(clients("s3", bucket.region), bucket) or {}
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") in KMS_ALGORITHMS and default.get("KMSMasterKeyID"):
            keys.add(str(_describe_key(clients, bucket.region, str(default["KMSMasterKeyID"]))["Arn"]))
    if not keys:
        return []
    return [{"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": sorted(keys)}]


def function_key_arns(plan: Optional[KmsPlan]) -> List[str]:
    """Every key an object the function may read is stored under (its role needs kms:Decrypt on each)."""
    if plan is None or not plan.active:
        return []
    return sorted(set().union(*plan.stored_keys.values()))


def cloudfront_key_statement(distribution_arn: str) -> Dict[str, Any]:
    """The key-policy statement CloudFront's origin access control needs to read SSE-KMS objects (CloudFront
    Developer Guide, "SSE-KMS" under "Restrict access to an Amazon S3 origin")."""
    return {"Sid": CLOUDFRONT_KEY_SID, "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}}


def _allows_cloudfront(policy: Dict[str, Any], distribution_arn: str) -> bool:
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal") or {}
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        source = (statement.get("Condition") or {}).get("StringEquals", {}).get("AWS:SourceArn",
                                                                                distribution_arn)
        if (statement.get("Effect") == "Allow" and "cloudfront.amazonaws.com" in services
                and any(a in ("kms:Decrypt", "kms:*", "*") for a in actions)
                and distribution_arn in ([source] if isinstance(source, str) else source)):
            return True
    return False


def cloudfront_key_problems(clients: ClientFactory, plan: Optional[KmsPlan], read_by_cloudfront: Sequence[Bucket],
                            distribution_arn: str) -> List[str]:
    """For each key of a bucket CloudFront reads, what its key policy lacks, with the exact statement to add."""
    if plan is None or not plan.active:
        return []
    problems = []
    for bucket in read_by_cloudfront:
        for key in sorted(plan.stored_keys.get(bucket.name, ())):
            if key in plan.aws_managed:
                problems.append(f"objects of {bucket.name} under the AWS managed key {key} cannot be read by "
                                "CloudFront (its key policy cannot be changed): re-encrypt them with a customer "
                                "managed key (aws s3 cp --sse aws:kms --sse-kms-key-id ...) or with SSE-S3")
                continue
            try:
                policy = json.loads(clients("kms", bucket.region).get_key_policy(
                    KeyId=key, PolicyName="default")["Policy"])
            except ClientError as error:
                raise refusal(f"read the key policy of {key}", error, "the caller needs kms:GetKeyPolicy") from None
            if not _allows_cloudfront(policy, distribution_arn):
                problems.append(f"the key policy of {key} ({bucket.region}) does not let CloudFront decrypt "
                                f"{bucket.name}'s objects; add this statement to it: "
                                + json.dumps(cloudfront_key_statement(distribution_arn)))
    return problems


def check_backfill_covers_kms(clients: ClientFactory, source: Bucket, destinations: Sequence[Bucket],
                              config: Optional[Dict[str, Any]]) -> None:
    """Refuse to start or count as complete a backfill whose rules leave the source's SSE-KMS objects out: its job
    would end Complete with no failed task while the destinations miss them."""
    gaps = kms_gaps(config, read_encryption(clients, source), destinations)
    if gaps:
        raise ToolError(f"unable to count the backfill of {source.name} as complete: {'; '.join(gaps)}. Run "
                        "deploy again with --create-buckets (and --kms-key REGION=KEY_ARN for each Region without "
                        "an SSE-KMS default) so that the rules opt in, then scripts/backfill --resume")
