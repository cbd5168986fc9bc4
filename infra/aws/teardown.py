"""`scripts/teardown`: delete the stack and what deploy created; `scripts/teardown cleanup` deletes the function.

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

from . import edge_services
from .buckets import CREATED_BY_TAG, FAILOVER_POLICY_SID, replication_role_name
from .errors import error_code
from .clients import HOME_REGION, ClientFactory, SessionClients, ToolError
from .regions import Bucket
from .stack import delete_stack, stack_outputs

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
    s3.delete_bucket_replication(Bucket=name)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
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


def teardown(clients: ClientFactory, stack_name: str, delete_buckets: bool, say: Say = print,
             sleep: Sleep = time.sleep) -> None:
    try:
        outputs = stack_outputs(clients, stack_name)
    except ToolError:
        outputs = {}
    names = [n for n in outputs.get("BucketNames", "").split(",") if n]
    regions = outputs.get("BucketRegions", "").split(",")
    buckets = [Bucket(n, r) for n, r in zip(names, regions)]
    delete_stack(clients, stack_name, say, sleep)
    edge_services.delete_native_oac(clients, stack_name, say)
    for bucket in buckets[:1]:
        _remove_failover_statement(clients("s3", bucket.region), bucket.name, say)
    if not delete_buckets:
        if buckets:
            say("buckets kept (they hold your data); pass --delete-buckets to delete the ones deploy created")
        return
    for bucket in buckets:
        s3 = clients("s3", bucket.region)
        if _created_by_deploy(s3, bucket.name):
            _empty_and_delete(s3, bucket.name, say)
        else:
            say(f"bucket {bucket.name} kept: deploy did not create it")
    iam = clients("iam", HOME_REGION)
    role = replication_role_name(stack_name)
    try:
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=policy)
        iam.delete_role(RoleName=role)
        say(f"deleted replication role {role}")
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise


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
    parser.add_argument("--function-name", default="mrap-edge")
    parser.add_argument("--delete-buckets", action="store_true",
                        help="also empty and delete the buckets deploy created, and the replication role")
    parser.add_argument("--interval", type=float, default=600.0, help="cleanup: seconds between attempts")
    parser.add_argument("--attempts", type=int, default=24, help="cleanup: attempts before giving up")
    args = parser.parse_args(argv)
    try:
        factory: ClientFactory = clients or SessionClients()
        if args.command == "cleanup":
            done = cleanup_function(factory, args.function_name, sleep=sleep, interval=args.interval,
                                    attempts=args.attempts)
            if done:  # only now: a replica still running would create its log group again
                edge_services.delete_log_groups(factory, args.function_name, print)
            return 0 if done else 2
        teardown(factory, args.stack_name, args.delete_buckets, sleep=sleep)
        print(f"next: `scripts/teardown cleanup --function-name {args.function_name}` deletes the retained function "
              "once CloudFront has removed its replicas (hours)")
    except ToolError as error:
        print(f"teardown: {error}", file=sys.stderr)
        return 1
    return 0
