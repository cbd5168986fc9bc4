"""Replication rules and their merge with a bucket's own configuration, on the account model (which keeps a
configuration as it was sent, as S3 does; moto alone loses each rule's filter)."""
from __future__ import annotations

import json
from typing import Any, Dict, List

import boto3
import pytest
from botocore.stub import Stubber

from infra.aws import replication
from infra.aws.clients import ToolError
from infra.aws.regions import parse_buckets

from .helpers import ACCOUNT, BUCKETS, LONDON, OHIO, Clients, make_bucket, rules_of

ROLE = f"arn:aws:iam::{ACCOUNT}:role/mrap-edge-replication"
SEED = parse_buckets(BUCKETS)
BACKUP_RULE = {"ID": "nightly-backup", "Priority": 5, "Status": "Enabled", "Filter": {"Prefix": ""},
               "DeleteMarkerReplication": {"Status": "Disabled"},
               "Destination": {"Bucket": "arn:aws:s3:::images-backup", "StorageClass": "GLACIER"}}


def _by_destination(config: Dict[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    found: Dict[str, List[Dict[str, Any]]] = {}
    for rule in config["Rules"]:
        found.setdefault(rule["Destination"]["Bucket"], []).append(rule)
    return found


def test_every_rule_has_metrics_and_the_local_prefixes_are_kept_out_with_higher_priority_disabled_rules() -> None:
    buckets = parse_buckets("a-bucket@eu-west-2,b-bucket@us-east-2,c-bucket@ap-southeast-2")
    config = replication.plan_replication("mrap-edge", buckets[0], buckets, ROLE, rtc=False, current=None).config
    by_destination = _by_destination(config)
    assert set(by_destination) == {"arn:aws:s3:::b-bucket", "arn:aws:s3:::c-bucket"}
    for rules in by_destination.values():
        everything = next(r for r in rules if r["Filter"]["Prefix"] == "")
        assert everything["Status"] == "Enabled" and "ReplicationTime" not in everything["Destination"]
        for prefix in (replication.PROBE_KEY, replication.BACKFILL_PREFIX):
            kept_out = next(r for r in rules if r["Filter"]["Prefix"] == prefix)
            assert kept_out["Status"] == "Disabled" and kept_out["Priority"] > everything["Priority"]
    # Replication metrics on every rule, without RTC too
    assert all(r["Destination"]["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
               for r in config["Rules"])
    priorities = [r["Priority"] for r in config["Rules"]]
    assert len(priorities) == len(set(priorities))


def test_rtc_adds_replication_time_control_to_the_rules_for_every_key() -> None:
    config = replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=True, current=None).config
    enabled = [r for r in config["Rules"] if r["Status"] == "Enabled"]
    assert [r["Destination"]["ReplicationTime"] for r in enabled] == [{"Status": "Enabled", "Time": {"Minutes": 15}}]


def test_a_users_rule_to_a_backup_bucket_is_kept_with_its_priority_and_ours_go_above_it(aws: Clients) -> None:
    # GIVEN London already replicates to a backup bucket with the same role (the merge is possible)
    for bucket in SEED:
        make_bucket(aws, bucket.name, bucket.region)
    s3 = aws("s3", "eu-west-2")
    s3.put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={"Role": ROLE, "Rules": [BACKUP_RULE]})
    # WHEN deploy writes its replication
    said: List[str] = []
    plans = replication.put_replication(aws, "mrap-edge", SEED, ROLE, rtc=False, say=said.append)
    # THEN the user's rule is still there, unchanged in priority, and ours take the priorities above it
    london = rules_of(aws, LONDON, "eu-west-2")
    backup = next(r for r in london if r["ID"] == "nightly-backup")
    assert backup["Priority"] == 5 and backup["Destination"]["Bucket"] == "arn:aws:s3:::images-backup"
    ours = [r for r in plans[0].config["Rules"] if replication.is_our_rule(r, plans[0].config, "mrap-edge", ROLE)]
    assert min(r["Priority"] for r in ours) == 6
    assert {r["ID"] for r in london} == {"nightly-backup"} | {r["ID"] for r in ours}
    assert any("your rules kept: nightly-backup" in line for line in said)


def test_another_role_cannot_be_merged_and_nothing_is_written(aws: Clients) -> None:
    for bucket in SEED:
        make_bucket(aws, bucket.name, bucket.region)
    theirs = {"Role": f"arn:aws:iam::{ACCOUNT}:role/backup-replication", "Rules": [BACKUP_RULE]}
    aws("s3", "us-east-2").put_bucket_replication(Bucket=OHIO, ReplicationConfiguration=theirs)
    with pytest.raises(ToolError, match=r"exactly one role.*would replace it for your rules \(nightly-backup\)"):
        replication.put_replication(aws, "mrap-edge", SEED, ROLE, rtc=False, say=lambda _: None)
    # London (planned first, mergeable) was not written either: every plan is made before any write
    assert replication.current_replication(aws, SEED[0]) is None
    assert rules_of(aws, OHIO, "us-east-2")[0]["ID"] == "nightly-backup"


def test_a_rule_in_the_old_prefix_form_cannot_be_merged() -> None:
    v1 = {"Role": ROLE, "Rules": [{"ID": "legacy", "Prefix": "logs/", "Status": "Enabled",
                                   "Destination": {"Bucket": "arn:aws:s3:::images-backup"}}]}
    with pytest.raises(ToolError, match="rule legacy uses the old form with a top-level Prefix"):
        replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=v1)


def test_a_users_rule_replicating_part_of_the_bucket_to_our_destination_cannot_be_merged() -> None:
    partial = {"Role": ROLE, "Rules": [{"ID": "thumbs-to-ohio", "Priority": 1, "Status": "Enabled",
                                        "Filter": {"Prefix": "thumbs/"},
                                        "DeleteMarkerReplication": {"Status": "Disabled"},
                                        "Destination": {"Bucket": f"arn:aws:s3:::{OHIO}"}}]}
    with pytest.raises(ToolError, match=f"thumbs-to-ohio already replicates part of it to {OHIO}"):
        replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=partial)


def test_a_users_rule_replicating_everything_to_our_destination_is_used_instead_of_ours() -> None:
    everything = {"Role": ROLE, "Rules": [{"ID": "all-to-ohio", "Priority": 3, "Status": "Enabled",
                                           "Filter": {}, "DeleteMarkerReplication": {"Status": "Enabled"},
                                           "Destination": {"Bucket": f"arn:aws:s3:::{OHIO}"}}]}
    plan = replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=everything)
    assert plan.reused == {OHIO: "all-to-ohio"}
    enabled = [r["ID"] for r in plan.config["Rules"] if r["Status"] == "Enabled"]
    assert enabled == ["all-to-ohio"]
    # the probe and backfill prefixes are still kept out, above the user's rule
    assert all(r["Priority"] > 3 for r in plan.config["Rules"] if r["Status"] == "Disabled")


def test_a_rerun_with_our_rules_in_place_is_unchanged_and_rules_of_earlier_versions_are_replaced() -> None:
    ours = replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=None).config
    assert replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=ours).unchanged
    legacy = {"Role": ROLE, "Rules": [{"ID": "to-us-east-2", "Priority": 1, "Status": "Enabled",
                                       "Filter": {"Prefix": ""}, "DeleteMarkerReplication": {"Status": "Enabled"},
                                       "Destination": {"Bucket": f"arn:aws:s3:::{OHIO}"}}]}
    plan = replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=legacy)
    assert not plan.unchanged and not plan.kept and plan.config["Rules"] == ours["Rules"]


def test_a_refused_put_bucket_replication_is_one_line_with_what_to_do() -> None:
    s3 = boto3.client("s3", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(s3)
    for _ in SEED:
        stub.add_client_error("get_bucket_replication", "ReplicationConfigurationNotFoundError", "not found", 404)
    stub.add_client_error("put_bucket_replication", "AccessDenied", "Access Denied", 403)
    with stub, pytest.raises(ToolError) as raised:
        replication.put_replication(lambda service, region: s3, "mrap-edge", SEED, ROLE, rtc=False, say=lambda _: None)
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"unable to set replication on {LONDON}: AccessDenied (Access Denied); ")
    assert "iam:PassRole" in text


def test_missing_replication_names_each_direction_without_a_rule_for_every_key(aws: Clients) -> None:
    for bucket in SEED:
        make_bucket(aws, bucket.name, bucket.region)
    ours = replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=None).config
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration=ours)
    assert replication.missing_replication(aws, SEED) == [(SEED[1], SEED[0])]


def test_the_replication_role_is_trusted_by_s3_and_its_policy_set_only_when_it_differs(aws: Clients) -> None:
    said: List[str] = []
    arn = replication.ensure_replication_role(aws, ACCOUNT, "mrap-edge", SEED, said.append)
    assert arn == ROLE
    iam = aws("iam", "us-east-1")
    trust = iam.get_role(RoleName="mrap-edge-replication")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}
    policy = iam.get_role_policy(RoleName="mrap-edge-replication", PolicyName="replicate-between-buckets")
    document = policy["PolicyDocument"] if isinstance(policy["PolicyDocument"], dict) else json.loads(
        policy["PolicyDocument"])
    assert {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"} <= {
        action for statement in document["Statement"] for action in statement["Action"]}
    again: List[str] = []
    replication.ensure_replication_role(aws, ACCOUNT, "mrap-edge", SEED, again.append)
    assert again == []  # read, same policy: nothing written


def test_without_our_rules_keeps_the_users_and_drops_an_empty_configuration() -> None:
    ours = replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=None).config
    assert replication.without_our_rules(ours, "mrap-edge", ROLE) is None
    merged = {"Role": ROLE, "Rules": [BACKUP_RULE] + ours["Rules"]}
    assert replication.without_our_rules(merged, "mrap-edge", ROLE) == {"Role": ROLE, "Rules": [BACKUP_RULE]}


@pytest.mark.parametrize("rule_id", ["to-backup", "to-eu-west-2-archive", "mrap-edge-other-stack-to-us-east-2",
                                     "keep-probe-out-of-backup"])
def test_a_users_rule_is_never_taken_for_ours_whatever_its_id_starts_with(rule_id: str) -> None:
    # GIVEN a rule of the user's in a configuration with our role, under an id like ours
    theirs = dict(BACKUP_RULE, ID=rule_id)
    current = {"Role": ROLE, "Rules": [theirs]}
    # THEN it is kept, and listed as kept
    plan = replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=current)
    assert plan.kept == [rule_id] and theirs in plan.config["Rules"]
    assert replication.without_our_rules(plan.config, "mrap-edge", ROLE) == {"Role": ROLE, "Rules": [theirs]}


def test_ours_are_recognised_only_with_our_role_and_the_stacks_own_id() -> None:
    ours = replication.plan_replication("mrap-edge", SEED[0], SEED, ROLE, rtc=False, current=None).config
    assert {r["ID"] for r in ours["Rules"]} == {"mrap-edge-mrap-edge-to-us-east-2",
                                                "mrap-edge-mrap-edge-keep-probe-out-of-us-east-2",
                                                "mrap-edge-mrap-edge-keep-backfill-reports-out-of-us-east-2"}
    rule = ours["Rules"][0]
    assert replication.is_our_rule(rule, ours, "mrap-edge", ROLE)
    assert not replication.is_our_rule(rule, dict(ours, Role="arn:aws:iam::123456789012:role/theirs"),
                                       "mrap-edge", ROLE)
    assert not replication.is_our_rule(rule, ours, "mrap-edge-2", ROLE)


def test_the_dry_run_lists_every_kept_rule(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    make_bucket(aws, OHIO, "us-east-2")
    backup = dict(BACKUP_RULE, ID="to-backup")
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
        "Role": ROLE, "Rules": [backup]})
    said: List[str] = []
    replication.put_replication(aws, "mrap-edge", SEED, ROLE, rtc=False, say=said.append, dry_run=True)
    assert any(line.startswith(f"would set replication {LONDON} -> {OHIO}") and "your rules kept: to-backup" in line
               for line in said), said
    assert rules_of(aws, LONDON, "eu-west-2") == [backup]
