"""--adopt-replication-role: our permissions as a separately named inline policy on the user's replication role, our
rules under it next to theirs, and teardown taking exactly that policy away again."""
from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from infra.aws import adopted_role, replication
from infra.aws.clients import ToolError
from infra.aws.regions import Bucket

from .helpers import ACCOUNT, LONDON, OHIO, Clients, ReadOnly, make_bucket

BUCKETS = [Bucket(LONDON, "eu-west-2"), Bucket(OHIO, "us-east-2")]
THEIR_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ReplicateObject",
                                                        "Resource": "arn:aws:s3:::company-backup/*"}]}
OUR_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ReplicateObject",
                                                      "Resource": f"arn:aws:s3:::{OHIO}/*"}]}


def _their_role(aws: Clients, name: str = "company-replication", service: str = "s3.amazonaws.com") -> str:
    iam = aws("iam", "us-east-1")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    arn = str(iam.create_role(RoleName=name, Path="/service-role/",
                              AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    iam.put_role_policy(RoleName=name, PolicyName="to-backup", PolicyDocument=json.dumps(THEIR_POLICY))
    return arn


def _their_rule() -> Dict[str, Any]:
    return {"ID": "backup-invoices", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "invoices/"},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": "arn:aws:s3:::company-backup"}}


def _replicating_london(aws: Clients, role: str) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
        "Role": role, "Rules": [_their_rule()]})


def _policies(aws: Clients, role: str = "company-replication") -> List[str]:
    return sorted(aws("iam", "us-east-1").list_role_policies(RoleName=role)["PolicyNames"])


def test_adopts_their_role_with_a_policy_of_ours_and_keeps_theirs(aws: Clients) -> None:
    role = _their_role(aws)
    _replicating_london(aws, role)
    said: List[str] = []
    assert adopted_role.adopt_replication_role(aws, "mrap-edge", BUCKETS, OUR_POLICY, said.append) == role
    iam = aws("iam", "us-east-1")
    assert _policies(aws) == ["mrap-edge-mrap-edge-replication", "to-backup"]
    kept = iam.get_role_policy(RoleName="company-replication", PolicyName="to-backup")["PolicyDocument"]
    assert kept == THEIR_POLICY
    assert "adopted" in said[0]
    # Our rules go under their role, next to their rule, which is kept as it is.
    current = replication.current_replication(aws, BUCKETS[0])
    plan = replication.plan_replication("mrap-edge", BUCKETS[0], BUCKETS, role, False, current)
    assert plan.config["Role"] == role and plan.kept == ["backup-invoices"]
    theirs = plan.config["Rules"][0]  # as S3 (moto) echoes it back
    assert (theirs["ID"], theirs["Destination"]) == ("backup-invoices", _their_rule()["Destination"])
    assert {r["Destination"]["Bucket"] for r in plan.config["Rules"][1:]} == {f"arn:aws:s3:::{OHIO}"}


def test_adopting_again_changes_nothing_and_a_dry_run_writes_nothing(aws: Clients) -> None:
    role = _their_role(aws)
    _replicating_london(aws, role)
    said: List[str] = []
    adopted_role.adopt_replication_role(ReadOnly(aws), "mrap-edge", BUCKETS, OUR_POLICY, said.append, dry_run=True)
    assert _policies(aws) == ["to-backup"] and said[0].startswith("would add inline policy")
    adopted_role.adopt_replication_role(aws, "mrap-edge", BUCKETS, OUR_POLICY, said.append)
    adopted_role.adopt_replication_role(ReadOnly(aws), "mrap-edge", BUCKETS, OUR_POLICY, said.append)
    assert "already holds" in said[-1]


def test_teardown_removes_only_our_policy(aws: Clients) -> None:
    role = _their_role(aws)
    _replicating_london(aws, role)
    adopted_role.adopt_replication_role(aws, "mrap-edge", BUCKETS, OUR_POLICY, print)
    said: List[str] = []
    assert adopted_role.release_adopted_role(ReadOnly(aws), "mrap-edge", BUCKETS, said.append, dry_run=True) == [
        "company-replication"]
    assert adopted_role.release_adopted_role(aws, "mrap-edge", BUCKETS, said.append) == ["company-replication"]
    assert _policies(aws) == ["to-backup"]
    assert adopted_role.release_adopted_role(aws, "mrap-edge", BUCKETS, said.append) == []


@pytest.mark.parametrize("case", ["nothing replicates", "two roles", "not trusted by S3"])
def test_refusals(aws: Clients, case: str) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    expected = "none of the buckets replicates yet"
    if case != "nothing replicates":
        role = _their_role(aws, service="s3.amazonaws.com" if case == "two roles" else "lambda.amazonaws.com")
        aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
            "Role": role, "Rules": [_their_rule()]})
        expected = "trust policy does not let s3.amazonaws.com assume it"
    if case == "two roles":
        aws("s3", "us-east-2").put_bucket_replication(Bucket=OHIO, ReplicationConfiguration={
            "Role": f"arn:aws:iam::{ACCOUNT}:role/another", "Rules": [_their_rule()]})
        expected = "the buckets replicate with different roles"
    with pytest.raises(ToolError, match=f"^unable to adopt .*{expected}"):
        adopted_role.adopt_replication_role(aws, "mrap-edge", BUCKETS, OUR_POLICY, print)
