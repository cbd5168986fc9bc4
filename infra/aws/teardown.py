"""`scripts/teardown`: delete the stack and what deploy created; `scripts/teardown cleanup` deletes the function.

With --delete-buckets, buckets deploy created are emptied and deleted; buckets it did not create are kept, and
mrap-edge's replication rules are taken out of them first (their own rules are put back as they were). The
replication role is kept while a kept bucket's configuration still names it, and teardown says what it kept.

CloudFront keeps Lambda@Edge replicas for hours after the last association is removed, and Lambda refuses to delete
a function while replicas exist. So the stack retains the function and its versions, and `cleanup` retries the
deletion, saying each time what it is waiting for.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from botocore.exceptions import ClientError

from . import adopted_role, backfill, edge_services
from .buckets import CREATED_BY_TAG, FAILOVER_POLICY_SID, bucket_region
from .clients import HOME_REGION, ClientFactory, ToolError
from .errors import error_code, refusal
from .stack_buckets import buckets_from_stack, code_bucket_name
from .regions import Bucket
from .replication import (REPLICATION_POLICY_NAME, current_replication, replication_role_name, role_arn_for,
                          without_our_rules)
from .stack import delete_stack, existing_stack

__all__ = ["Found", "find_deployment", "teardown", "cleanup_function"]

Say = Callable[[str], None]
Sleep = Callable[[float], None]


def _created_by_deploy(s3: Any, name: str) -> bool:
    try:
        tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
    except ClientError:
        return False
    return {"Key": CREATED_BY_TAG[0], "Value": CREATED_BY_TAG[1]} in tags


def _empty_and_delete(s3: Any, name: str, say: Say) -> None:
    """Delete every version and delete marker, then the bucket. A version S3 refuses to delete (Object Lock, a
    bucket policy) stops it with the count and the first refusal: the bucket is kept."""
    s3.delete_bucket_replication(Bucket=name)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if not doomed:
            continue
        answer = s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise ToolError(
                f"unable to empty bucket {name}: S3 refused to delete {len(errors)} object version(s), the first "
                f"{first.get('Key')} (version {first.get('VersionId')}): {first.get('Code')} ({first.get('Message')}); "
                "the bucket is kept. Remove the cause (Object Lock retention, a bucket policy denying "
                "s3:DeleteObjectVersion) and run teardown --delete-buckets again")
    s3.delete_bucket(Bucket=name)
    say(f"deleted bucket {name}")


def _remove_failover_statement(s3: Any, name: str, say: Say) -> None:
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except ClientError:
        return
    kept = [s for s in policy.get("Statement", []) if s.get("Sid") != FAILOVER_POLICY_SID]
    if len(kept) == len(policy.get("Statement", [])):
        return
    if kept:
        policy["Statement"] = kept
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    else:
        s3.delete_bucket_policy(Bucket=name)
    say(f"bucket policy of {name}: CloudFront failover statement removed")


def _remove_our_rules(clients: ClientFactory, bucket: Bucket, stack_name: str, role_arn: str,
                      say: Say) -> Optional[str]:
    """Take mrap-edge's replication rules out of a kept bucket; the role its remaining configuration names, if any."""
    config = current_replication(clients, bucket)
    if not config:
        return None
    rest = without_our_rules(config, stack_name, role_arn)
    s3 = clients("s3", bucket.region)
    if rest is None:
        s3.delete_bucket_replication(Bucket=bucket.name)
        say(f"replication of {bucket.name}: mrap-edge's rules removed, no rule left (bucket kept)")
        return None
    if len(rest["Rules"]) != len(config.get("Rules", [])):
        s3.put_bucket_replication(Bucket=bucket.name, ReplicationConfiguration=rest)
        say(f"replication of {bucket.name}: mrap-edge's rules removed, yours kept "
            f"({', '.join(str(r.get('ID')) for r in rest['Rules'])})")
    return str(rest.get("Role") or "") or None


def _delete_role(iam: Any, name: str, say: Say) -> None:
    try:
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
        say(f"deleted role {name}")
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise refusal(f"delete role {name}", error, "the caller needs iam:DeleteRole and iam:DeleteRolePolicy") \
                from None


@dataclass
class Found:
    """What deploy made for a stack, found with the stack or without it."""
    stack: Optional[Dict[str, Any]]
    buckets: List[Bucket]
    found_by: str
    created: Dict[str, bool] = field(default_factory=dict)  # bucket name -> deploy created it (its tag)


def _buckets_in_role_policy(clients: ClientFactory, stack_name: str) -> List[str]:
    """The buckets the replication role may replicate between: its policy names every bucket deploy set up."""
    iam = clients("iam", HOME_REGION)
    try:
        document = iam.get_role_policy(RoleName=replication_role_name(stack_name),
                                       PolicyName=REPLICATION_POLICY_NAME)["PolicyDocument"]
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return []
        raise refusal(f"read role {replication_role_name(stack_name)}", error,
                      "the caller needs iam:GetRolePolicy") from None
    document = json.loads(document) if isinstance(document, str) else document
    arns = [arn for statement in document.get("Statement", []) for arn in _as_list(statement.get("Resource"))]
    return list(dict.fromkeys(arn.split(":::", 1)[1] for arn in arns if arn.startswith("arn:aws:s3:::")
                              and "/" not in arn))


def _as_list(value: Any) -> List[str]:
    return [value] if isinstance(value, str) else list(value or [])


def find_deployment(clients: ClientFactory, stack_name: str, given: Sequence[Bucket] = ()) -> Found:
    """The stack and its buckets: from --buckets when given, else the stack's outputs, else (a deploy that failed
    before the stack existed) the buckets the replication role's policy names, in their Regions (HeadBucket)."""
    existing = existing_stack(clients, stack_name)  # a refusal stops here: nothing is deleted blind
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (existing or {}).get("Outputs", [])}
    from_stack = buckets_from_stack(outputs)
    if given:
        found = Found(existing, list(given), "--buckets")
    elif from_stack:
        found = Found(existing, from_stack, "the stack's outputs")
    else:
        buckets = []
        for name in _buckets_in_role_policy(clients, stack_name):
            try:
                buckets.append(Bucket(name, bucket_region(clients, name)))
            except ToolError:
                continue  # deleted since
        found = Found(existing, buckets, f"the policy of role {replication_role_name(stack_name)}")
    found.created = {b.name: _created_by_deploy(clients("s3", b.region), b.name) for b in found.buckets}
    return found


def _plan_lines(found: Found, stack_name: str, delete_buckets: bool) -> List[str]:
    lines = [f"delete stack {stack_name} ({found.stack['StackStatus']})" if found.stack
             else f"stack {stack_name}: none"]
    if not found.buckets:
        return lines + ["no buckets found (pass --buckets name@region,... to name them)"]
    lines.append(f"buckets found from {found.found_by}: " + ", ".join(b.name for b in found.buckets))
    for bucket in found.buckets:
        if delete_buckets and found.created[bucket.name]:
            lines.append(f"delete bucket {bucket.name} ({bucket.region}) with every object version: deploy created "
                         "it")
        elif delete_buckets:
            lines.append(f"keep bucket {bucket.name}: take mrap-edge's replication rules out of it (yours stay)")
        else:
            lines.append(f"keep bucket {bucket.name} and its replication (pass --delete-buckets to remove them)")
    if delete_buckets:
        lines.append(f"delete roles {replication_role_name(stack_name)} and {backfill.batch_role_name(stack_name)} "
                     "unless something still uses them")
    return lines


def teardown(clients: ClientFactory, stack_name: str, delete_buckets: bool, say: Say = print,
             sleep: Sleep = time.sleep, code_bucket: Optional[str] = None, buckets: Sequence[Bucket] = (),
             dry_run: bool = False, confirm: Callable[[str], bool] = lambda question: True) -> bool:
    """Say what will be deleted and kept, ask, then delete; False when nothing was done (dry run, not confirmed)."""
    found = find_deployment(clients, stack_name, buckets)
    say(f"teardown {'would' if dry_run else 'will'}:")
    for line in _plan_lines(found, stack_name, delete_buckets):
        say(f"  {line}")
    if dry_run:
        say("dry run: nothing was deleted")
        return False
    if not confirm("go ahead?"):
        raise ToolError("not confirmed: nothing was deleted")
    delete_stack(clients, stack_name, say, sleep)
    edge_services.delete_native_oac(clients, stack_name, say)
    for bucket in found.buckets:  # native mode admits CloudFront on every bucket, the function mode on the first
        _remove_failover_statement(clients("s3", bucket.region), bucket.name, say)
    if not delete_buckets:
        return True
    _delete_buckets_and_roles(clients, stack_name, found, say, code_bucket)
    return True


def _delete_buckets_and_roles(clients: ClientFactory, stack_name: str, found: Found, say: Say,
                              code_bucket: Optional[str]) -> None:
    account = str(clients("sts", HOME_REGION).get_caller_identity()["Account"])
    replication_role = replication_role_name(stack_name)
    replication_arn = role_arn_for(account, replication_role)
    kept: List[str] = []
    referencing: List[str] = []
    kept_buckets = [b for b in found.buckets if not found.created[b.name]]
    # With --adopt-replication-role our rules sit under the user's role (adopted_role.py): ours by id under that role.
    adopted = adopted_role.adopted_role_arn(clients, stack_name, kept_buckets)
    # Rules first: a kept bucket's rules may name a bucket about to be deleted, or the role.
    for bucket in kept_buckets:
        kept.append(bucket.name)
        if _remove_our_rules(clients, bucket, stack_name, adopted or replication_arn, say) == replication_arn:
            referencing.append(bucket.name)
    adopted_role.release_adopted_role(clients, stack_name, kept_buckets, say, role_arns=[adopted] if adopted else [])
    for bucket in found.buckets:
        if found.created[bucket.name]:
            _empty_and_delete(clients("s3", bucket.region), bucket.name, say)
    iam = clients("iam", HOME_REGION)
    if referencing:
        say(f"role {replication_role} kept: the replication configuration of {', '.join(referencing)} still names it")
    else:
        _delete_role(iam, replication_role, say)
    running = [j for j in backfill.list_stack_jobs(clients, account, stack_name, [b.region for b in found.buckets])
               if j.running] if found.buckets else []
    if running:
        say(f"role {backfill.batch_role_name(stack_name)} kept: backfill job(s) "
            f"{', '.join(j.job_id for j in running)} still running")
    else:
        _delete_role(iam, backfill.batch_role_name(stack_name), say)
    backfill.delete_record(clients, code_bucket or code_bucket_name(account), stack_name)
    for name in kept:
        say(f"bucket {name} kept: deploy did not create it (its objects, policy and your replication rules stay)")


def _is_replica_error(error: ClientError) -> bool:
    # Lambda answers InvalidParameterValueException "... because it is a replicated function".
    return error_code(error) == "InvalidParameterValueException" and "replicated" in str(error)


def _delete_versions(lam: Any, function_name: str) -> None:
    """Numbered versions first, then the function (which takes $LATEST with it)."""
    versions: List[str] = []
    for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=function_name):
        versions += [v["Version"] for v in page["Versions"] if v["Version"] != "$LATEST"]
    for version in versions:
        lam.delete_function(FunctionName=function_name, Qualifier=version)
    lam.delete_function(FunctionName=function_name)


def cleanup_function(clients: ClientFactory, function_name: str, say: Say = print, sleep: Sleep = time.sleep,
                     interval: float = 600.0, attempts: int = 24) -> bool:
    """Retry deleting the retained function until CloudFront has removed its replicas; True when deleted."""
    lam = clients("lambda", HOME_REGION)
    for attempt in range(1, attempts + 1):
        try:
            arn = lam.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                say(f"function {function_name}: already deleted")
                return True
            raise
        try:
            _delete_versions(lam, function_name)
            say(f"function {function_name}: deleted")
            return True
        except ClientError as error:
            if not _is_replica_error(error):
                raise
        holders = edge_services.distributions_using(clients, arn)
        if holders:
            reason = f"distribution(s) {', '.join(holders)} still associate it: remove the association or delete them"
        else:
            reason = "CloudFront is deleting its replicas at the edge, which takes up to a few hours"
        say(f"attempt {attempt}/{attempts}: function {function_name} not deletable yet; waiting because {reason}")
        if attempt < attempts:
            sleep(interval)
    say(f"function {function_name}: still replicated; run `scripts/teardown cleanup` again later")
    return False
