"""`--adopt-replication-role`: a bucket that already replicates with a role of its owner's keeps that role.

A replication configuration has exactly one role (PutBucketReplication: "Role: the Amazon Resource Name (ARN) of
the IAM role that Amazon S3 assumes when replicating objects"), so mrap-edge's rules cannot bring a role of their
own next to the user's rules. Instead of refusing, deploy can adopt the user's role:
- it reads the role the buckets' configurations name (one role for all of them, trusted by s3.amazonaws.com);
- it adds mrap-edge's permissions as a separately named inline policy (ADOPTED_POLICY: `mrap-edge-<stack>-replication`)
  and never changes the role's trust or its other policies;
- our rules then go under that role, next to the user's, which are kept as they are (replication.py merges).
Teardown removes that one inline policy again (`release_adopted_role`), after our rules are gone.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import unquote

from botocore.exceptions import ClientError

from .clients import HOME_REGION, ClientFactory
from .errors import ToolError, error_code, refusal
from .regions import Bucket
from .replication import current_replication

__all__ = ["adopted_policy_name", "role_in_use", "adopted_role_arn", "adopt_replication_role", "release_adopted_role"]

Say = Callable[[str], None]


def adopted_policy_name(stack_name: str) -> str:
    return f"mrap-edge-{stack_name}-replication"


def _role_name(role_arn: str) -> str:
    """arn:aws:iam::<account>:role[/path]/<name> -> name."""
    return role_arn.rsplit("/", 1)[-1]


def role_in_use(clients: ClientFactory, buckets: Sequence[Bucket]) -> Optional[str]:
    """The role the buckets' replication configurations name; None when none replicates yet. Reads only."""
    roles = {b.name: str(config["Role"]) for b in buckets
             for config in [current_replication(clients, b)] if config and config.get("Role")}
    if len(set(roles.values())) > 1:
        listed = ", ".join(f"{name} uses {role}" for name, role in roles.items())
        raise ToolError(f"unable to adopt a replication role: the buckets replicate with different roles ({listed}); "
                        "a configuration has one role, so give them one role (or replicate them yourself and deploy "
                        "without --create-buckets)")
    return next(iter(roles.values()), None)


def adopted_role_arn(clients: ClientFactory, stack_name: str, buckets: Sequence[Bucket]) -> Optional[str]:
    """The user's role the buckets replicate with, when deploy adopted it (it carries our inline policy); None
    otherwise. Teardown takes our rules out from under it before it removes the policy. Reads only."""
    role = role_in_use(clients, buckets)
    if role is None or _current_policy(clients("iam", HOME_REGION), _role_name(role), adopted_policy_name(stack_name)) \
            is None:
        return None
    return role


def _trusts_s3(role: Dict[str, Any]) -> bool:
    trust = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(trust, str):
        trust = json.loads(unquote(trust))
    for statement in trust.get("Statement", []):
        services = (statement.get("Principal") or {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        if statement.get("Effect") == "Allow" and "s3.amazonaws.com" in services:
            return True
    return False


def _current_policy(iam: Any, role: str, name: str) -> Optional[Dict[str, Any]]:
    try:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return None
        raise refusal(f"read policy {name} of role {role}", error, "the caller needs iam:GetRolePolicy") from None
    return dict(json.loads(unquote(document)) if isinstance(document, str) else document)


def adopt_replication_role(clients: ClientFactory, stack_name: str, buckets: Sequence[Bucket],
                           policy: Dict[str, Any], say: Say, dry_run: bool = False) -> str:
    """Put `policy` (what S3 needs to replicate among the buckets) on the user's replication role as our own inline
    policy; returns the role's ARN for our rules. Writes nothing else, and nothing in a dry run."""
    role_arn = role_in_use(clients, buckets)
    if role_arn is None:
        raise ToolError("unable to adopt a replication role: none of the buckets replicates yet; deploy without "
                        "--adopt-replication-role (mrap-edge then creates its own)")
    iam, role, name = clients("iam", HOME_REGION), _role_name(role_arn), adopted_policy_name(stack_name)
    try:
        found = iam.get_role(RoleName=role)["Role"]
    except ClientError as error:
        raise refusal(f"read role {role}", error, "the caller needs iam:GetRole") from None
    if not _trusts_s3(found):
        raise ToolError(f"unable to adopt role {role}: its trust policy does not let s3.amazonaws.com assume it")
    if _current_policy(iam, role, name) == policy:
        say(f"replication role {role} (yours) already holds policy {name}")
        return role_arn
    if dry_run:
        say(f"would add inline policy {name} to your replication role {role} (its trust and other policies are "
            "kept); mrap-edge's rules would replicate with it")
        return role_arn
    try:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(policy))
    except ClientError as error:
        raise refusal(f"add policy {name} to role {role}", error, "the caller needs iam:PutRolePolicy on it") from None
    say(f"replication role {role} (yours) adopted: inline policy {name} added, its other policies kept; teardown "
        "removes it")
    return role_arn


def release_adopted_role(clients: ClientFactory, stack_name: str, buckets: Sequence[Bucket], say: Say,
                         dry_run: bool = False, role_arns: Sequence[str] = ()) -> List[str]:
    """Teardown: remove our inline policy from the role the buckets replicate with (and from `role_arns`, e.g. when
    the configuration is already gone). Returns the roles it was (or would be) removed from."""
    iam, name = clients("iam", HOME_REGION), adopted_policy_name(stack_name)
    roles = list(dict.fromkeys([*role_arns, *filter(None, [role_in_use(clients, buckets)])]))
    released = []
    for role in (_role_name(arn) for arn in roles):
        if _current_policy(iam, role, name) is None:
            continue
        if dry_run:
            say(f"would remove inline policy {name} from replication role {role}")
        else:
            try:
                iam.delete_role_policy(RoleName=role, PolicyName=name)
            except ClientError as error:
                raise refusal(f"remove policy {name} from role {role}", error,
                              "the caller needs iam:DeleteRolePolicy") from None
            say(f"removed inline policy {name} from replication role {role}; the role and its other policies stay")
        released.append(role)
    return released
