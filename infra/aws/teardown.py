"""`scripts/teardown`: delete the stack and what deploy created; `scripts/teardown cleanup` deletes the function.

With --delete-buckets, buckets deploy created are emptied and deleted; buckets it did not create are kept, and
mrap-edge's replication rules are taken out of them first (their own rules are put back as they were). The
replication role is kept while a kept bucket's configuration still names it, and teardown says what it kept.

CloudFront keeps Lambda@Edge replicas for hours after the last association is removed, and Lambda refuses to delete
a function while replicas exist. So the stack retains the function and its versions, and `cleanup` retries the
deletion, saying each time what it is waiting for.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable, List, Optional, Sequence

from botocore.exceptions import ClientError

from botocore.exceptions import BotoCoreError

from . import adopted_role, backfill, edge_services
from .buckets import CREATED_BY_TAG, FAILOVER_POLICY_SID
from .clients import HOME_REGION, ClientFactory, SessionClients, ToolError
from .errors import error_code, refusal, unexpected
from .regions import Bucket
from .replication import current_replication, replication_role_name, role_arn_for, without_our_rules
from .stack import delete_stack, deployed_function_name, existing_stack

__all__ = ["teardown", "cleanup_function", "main"]

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


def _remove_our_rules(clients: ClientFactory, bucket: Bucket, say: Say) -> Optional[str]:
    """Take mrap-edge's replication rules out of a kept bucket; the role its remaining configuration names, if any."""
    config = current_replication(clients, bucket)
    if not config:
        return None
    rest = without_our_rules(config)
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


def teardown(clients: ClientFactory, stack_name: str, delete_buckets: bool, say: Say = print,
             sleep: Sleep = time.sleep, code_bucket: Optional[str] = None) -> None:
    existing = existing_stack(clients, stack_name)  # a refusal stops here: nothing is deleted blind
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (existing or {}).get("Outputs", [])}
    names = [n for n in outputs.get("BucketNames", "").split(",") if n]
    regions = outputs.get("BucketRegions", "").split(",")
    buckets = [Bucket(n, r) for n, r in zip(names, regions)]
    delete_stack(clients, stack_name, say, sleep)
    edge_services.delete_native_oac(clients, stack_name, say)
    for bucket in buckets:  # native mode admits CloudFront on every bucket, the function mode on the first
        _remove_failover_statement(clients("s3", bucket.region), bucket.name, say)
    if not delete_buckets:
        if buckets:
            say("buckets kept (they hold your data), with their replication; pass --delete-buckets to delete the ones "
                "deploy created")
        return
    if not buckets:
        # Without the stack's outputs the buckets are unknown, and so is what still names the roles: keep them.
        say(f"buckets and roles kept: stack {stack_name} is gone, so its buckets are unknown; delete them, and the "
            f"roles {replication_role_name(stack_name)} and {backfill.batch_role_name(stack_name)}, by hand if "
            "nothing uses them")
        return
    account = str(clients("sts", HOME_REGION).get_caller_identity()["Account"])
    replication_role = replication_role_name(stack_name)
    replication_arn = role_arn_for(account, replication_role)
    created = {b.name: _created_by_deploy(clients("s3", b.region), b.name) for b in buckets}
    kept: List[str] = []
    referencing: List[str] = []
    # Rules first: a kept bucket's rules may name a bucket about to be deleted, or the role.
    for bucket in buckets:
        if created[bucket.name]:
            continue
        kept.append(bucket.name)
        if _remove_our_rules(clients, bucket, say) == replication_arn:
            referencing.append(bucket.name)
    adopted_role.release_adopted_role(clients, stack_name, [b for b in buckets if not created[b.name]], say)
    for bucket in buckets:
        if created[bucket.name]:
            _empty_and_delete(clients("s3", bucket.region), bucket.name, say)
    iam = clients("iam", HOME_REGION)
    if referencing:
        say(f"role {replication_role} kept: the replication configuration of {', '.join(referencing)} still names it")
    else:
        _delete_role(iam, replication_role, say)
    running = [j for j in backfill.list_stack_jobs(clients, account, stack_name, [b.region for b in buckets])
               if j.running] if buckets else []
    if running:
        say(f"role {backfill.batch_role_name(stack_name)} kept: backfill job(s) "
            f"{', '.join(j.job_id for j in running)} still running")
    else:
        _delete_role(iam, backfill.batch_role_name(stack_name), say)
    backfill.delete_record(clients, code_bucket or f"mrap-edge-deployables-{account}", stack_name)
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


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None,
         sleep: Sleep = time.sleep) -> int:
    parser = argparse.ArgumentParser(prog="scripts/teardown", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["stack", "cleanup"], default="stack",
                        help="stack (default): delete the stack and deploy's extras; cleanup: delete the function")
    parser.add_argument("--stack-name", default="mrap-edge")
    parser.add_argument("--function-name",
                        help="cleanup: the retained function (default: the stack's, while the stack exists; "
                             "teardown prints it)")
    parser.add_argument("--delete-buckets", action="store_true",
                        help="also empty and delete the buckets deploy created, and the replication role")
    parser.add_argument("--code-bucket", help="the deployables bucket deploy used (default "
                        "mrap-edge-deployables-<account>); its backfill record is deleted with --delete-buckets")
    parser.add_argument("--interval", type=float, default=600.0, help="cleanup: seconds between attempts")
    parser.add_argument("--attempts", type=int, default=24, help="cleanup: attempts before giving up")
    args = parser.parse_args(argv)
    try:
        factory: ClientFactory = clients or SessionClients()
        # The function's name is the stack's own (<FunctionName>-<8 hex digits of the stack id>): read it while
        # the stack exists.
        function_name = args.function_name or deployed_function_name(factory, args.stack_name)
        if args.command == "cleanup":
            if not function_name:
                raise ToolError(f"unable to tell which function to delete: stack {args.stack_name} is gone; pass "
                                "--function-name (scripts/teardown printed it)")
            done = cleanup_function(factory, function_name, sleep=sleep, interval=args.interval,
                                    attempts=args.attempts)
            if done:  # only now: a replica still running would create its log group again
                edge_services.delete_log_groups(factory, function_name, print)
            return 0 if done else 2
        teardown(factory, args.stack_name, args.delete_buckets, sleep=sleep, code_bucket=args.code_bucket)
        if function_name:
            print(f"next: `scripts/teardown cleanup --function-name {function_name}` deletes the retained function "
                  "once CloudFront has removed its replicas (hours)")
    except ToolError as error:
        print(f"teardown: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"teardown: {unexpected(error)}", file=sys.stderr)
        return 1
    return 0
