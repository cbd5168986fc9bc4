"""Deploy against a real account's buckets: SSE-KMS, a Deny in a bucket policy, a replication role of the user's.
Each is read before anything is written, and either supported end to end or refused with the fix."""
from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from infra.aws import account_checks, adopted_role, deploy, teardown
from infra.aws.clients import ToolError
from infra.aws.regions import parse_buckets

from .account import Account
from .helpers import (ACCOUNT, BUCKETS, DIST_ID, LONDON, OHIO, ReadOnly, distribution_response, make_bucket,
                      rules_of, run_deploy)

ROOT = Path(__file__).resolve().parents[3]


def _expect_report(aws: Account) -> None:
    """Deploy's closing report reads the distribution (CloudFront is not in the account model: a stub answers)."""
    aws.stub("cloudfront").add_response("get_distribution", distribution_response(), {"Id": DIST_ID})


def _backfill_statuses(aws: Account) -> Tuple[str, ...]:
    """The replication statuses the one backfill job of the deploy selects, as the account model received them."""
    (job,) = aws.jobs
    return tuple(job.statuses)


def _kms_london(aws: Account) -> str:
    key = str(aws("kms", "eu-west-2").create_key()["KeyMetadata"]["Arn"])
    make_bucket(aws, LONDON, "eu-west-2")
    s3 = aws("s3", "eu-west-2")
    s3.put_bucket_encryption(Bucket=LONDON, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    for index in range(3):
        s3.put_object(Bucket=LONDON, Key=f"images/{index}.jpg", Body=b"x", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=key)
    return key


def _role_policy(aws: Account, role: str, name: str) -> Dict[str, Any]:
    return dict(aws("iam", "us-east-1").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])


def _stack_parameters(aws: Account) -> Dict[str, str]:
    stack = aws("cloudformation", "us-east-1").describe_stacks(StackName="mrap-edge")["Stacks"][0]
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def test_a_deny_outside_the_vpc_endpoints_refuses_the_deploy_before_any_write(aws: Account, package: Path,
                                                                             template: Path) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    deny = {"Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{LONDON}", f"arn:aws:s3:::{LONDON}/*"],
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}}}
    aws("s3", "eu-west-2").put_bucket_policy(Bucket=LONDON, Policy=json.dumps({"Statement": [deny]}))
    code, said = run_deploy(ReadOnly(aws), package, template, "--create-buckets")  # a write would fail the test
    assert code == 1
    assert said[-1].startswith("unable to deploy: an explicit Deny in a bucket policy wins over every Allow")
    assert f"bucket policy of {LONDON}: statement DenyOutsideVpce refuses the function role" in said[-1]
    assert "ArnNotLike" in said[-1]


def test_sse_kms_london_is_replicated_with_ohios_key_and_read_with_both(aws: Account, package: Path,
                                                                       template: Path) -> None:
    london_key = _kms_london(aws)
    ohio_key = str(aws("kms", "us-east-2").create_key()["KeyMetadata"]["Arn"])
    # WITHOUT a key for Ohio the deploy is refused before anything is written
    code, said = run_deploy(ReadOnly(aws), package, template, "--create-buckets")
    assert code == 1 and "--kms-key us-east-2=<key ARN>" in said[-1]
    # WITH one, the rules, the roles and the stack carry the keys
    _expect_report(aws)
    code, said = run_deploy(aws, package, template, "--create-buckets", "--kms-key", f"us-east-2={ohio_key}")
    assert code == 0, "\n".join(said)
    assert _backfill_statuses(aws) == ("NONE", "FAILED", "COMPLETED")
    assert any(line.startswith(f"bucket {LONDON}: SSE-KMS (aws:kms, 3 of 3 sampled objects)") for line in said), said
    to_ohio = next(r for r in rules_of(aws, LONDON, "eu-west-2") if r["ID"] == "mrap-edge-mrap-edge-to-us-east-2")
    assert to_ohio["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": ohio_key}
    to_london = next(r for r in rules_of(aws, OHIO, "us-east-2") if r["ID"] == "mrap-edge-mrap-edge-to-eu-west-2")
    assert to_london["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": london_key}
    statements = _role_policy(aws, "mrap-edge-replication", "replicate-between-buckets")["Statement"]
    assert {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": [ohio_key], "Condition": {"StringLike": {
        "kms:ViaService": "s3.us-east-2.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::{OHIO}/*"]}}} in statements
    batch = _role_policy(aws, "mrap-edge-backfill", "batch-replicate-existing-objects")["Statement"]
    assert {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": [london_key]} in batch
    assert _stack_parameters(aws)["KmsKeyArns"] == ",".join(sorted([london_key, ohio_key]))
    # AND the dry-run facts of the backfill: versions and their cost
    assert any(line.startswith(f"backfill {LONDON} -> {OHIO}: 3 version(s) to copy") for line in said), said
    # AND CloudFront, which reads the failover bucket directly, is told what London's key policy lacks
    assert any(line.startswith(f"warning: the key policy of {london_key}") and DIST_ID in line for line in said)


def test_the_template_lets_the_function_decrypt_with_the_keys_deploy_found() -> None:
    template = json.loads((ROOT / "cloudformation.template").read_text(encoding="utf-8"))
    assert template["Conditions"]["HasKmsKeys"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArns"}, ""]}]}
    policies: List[Any] = template["Resources"]["FunctionRole"]["Properties"]["Policies"]
    condition, policy, _ = next(p["Fn::If"] for p in policies if "Fn::If" in p)
    statement = policy["PolicyDocument"]["Statement"][0]
    assert condition == "HasKmsKeys" and statement["Action"] == "kms:Decrypt"
    assert statement["Resource"] == {"Fn::Split": [",", {"Ref": "KmsKeyArns"}]}


def test_a_bucket_replicating_with_its_own_role_is_adopted(aws: Account, package: Path, template: Path) -> None:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = str(aws("iam", "us-east-1").create_role(RoleName="company-replication",
                                                   AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    make_bucket(aws, LONDON, "eu-west-2", objects=3)
    theirs = {"ID": "backup-invoices", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "invoices/"},
              "DeleteMarkerReplication": {"Status": "Disabled"},
              "Destination": {"Bucket": "arn:aws:s3:::company-backup"}}
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
        "Role": role, "Rules": [theirs]})
    # WITHOUT the option the bucket is refused, as before
    code, said = run_deploy(aws, package, template, "--create-buckets")
    assert code == 1 and "replicates with role" in said[-1]
    # WITH it, our rules go under their role, next to theirs
    _expect_report(aws)
    code, said = run_deploy(aws, package, template, "--create-buckets", "--adopt-replication-role")
    assert code == 0, said
    assert _backfill_statuses(aws) == ("NONE", "FAILED", "COMPLETED")
    config = aws("s3", "eu-west-2").get_bucket_replication(Bucket=LONDON)["ReplicationConfiguration"]
    assert config["Role"] == role
    assert [r["ID"] for r in config["Rules"]][0] == "backup-invoices"
    assert "mrap-edge-mrap-edge-to-us-east-2" in [r["ID"] for r in config["Rules"]]
    name = adopted_role.adopted_policy_name("mrap-edge")
    assert sorted(aws("iam", "us-east-1").list_role_policies(RoleName="company-replication")["PolicyNames"]) == [name]
    assert aws("s3", "us-east-2").get_bucket_replication(Bucket=OHIO)["ReplicationConfiguration"]["Role"] == role
    # WHEN tearing down THEN our policy leaves their role, with our rules; their rule and role stay
    aws.stub("cloudfront").add_response("list_origin_access_controls", {"OriginAccessControlList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
    aws.clock.advance(datetime.timedelta(hours=2))  # the backfill has ended: teardown waits for no job
    said = []
    teardown.teardown(aws, "mrap-edge", delete_buckets=True, say=said.append, sleep=lambda _: None)
    assert aws("iam", "us-east-1").list_role_policies(RoleName="company-replication")["PolicyNames"] == []
    assert [r["ID"] for r in rules_of(aws, LONDON, "eu-west-2")] == ["backup-invoices"]
    assert f"removed inline policy {name} from replication role company-replication; the role and its other " \
           "policies stay" in said


def test_their_own_rules_must_opt_in_to_sse_kms_objects(aws: Account, package: Path, template: Path) -> None:
    _kms_london(aws)
    make_bucket(aws, OHIO, "us-east-2")
    role = f"arn:aws:iam::{ACCOUNT}:role/company-replication"
    for name, region, other in ((LONDON, "eu-west-2", OHIO), (OHIO, "us-east-2", LONDON)):
        aws("s3", region).put_bucket_replication(Bucket=name, ReplicationConfiguration={"Role": role, "Rules": [
            {"ID": "everything", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
             "DeleteMarkerReplication": {"Status": "Enabled"}, "Destination": {"Bucket": f"arn:aws:s3:::{other}"}}]})
    code, said = run_deploy(ReadOnly(aws), package, template, "--kms-key",
                            f"us-east-2={aws('kms', 'us-east-2').create_key()['KeyMetadata']['Arn']}")
    assert code == 1
    assert said[-1].startswith("unable to use buckets whose replication leaves SSE-KMS objects out: rule everything")


def test_the_dry_run_counts_versions_archived_objects_and_warns_about_lifecycle(aws: Account, package: Path,
                                                                               template: Path) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    s3 = aws("s3", "eu-west-2")
    s3.put_object(Bucket=LONDON, Key="images/0000.jpg", Body=b"newer")  # a second version of one image
    s3.put_object(Bucket=LONDON, Key="old/2015.jpg", Body=b"z", StorageClass="DEEP_ARCHIVE")
    s3.put_bucket_lifecycle_configuration(Bucket=LONDON, LifecycleConfiguration={"Rules": [
        {"ID": "archive-after-a-year", "Status": "Enabled", "Filter": {"Prefix": ""},
         "Transitions": [{"Days": 365, "StorageClass": "GLACIER"}]}]})
    code, said = run_deploy(ReadOnly(aws), package, template, "--create-buckets", "--dry-run")
    assert code == 0, said
    assert any(line.startswith(f"backfill {LONDON} -> {OHIO}: 3 version(s) to copy (2 current object(s)")
               for line in said), said
    assert any("1 archived version(s) (1 in Glacier Deep Archive" in line for line in said), said
    assert any("archive-after-a-year" in line and "suspending them" in line for line in said), said


def test_native_mode_refuses_objects_under_an_aws_managed_key(aws: Account, package: Path, template: Path) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=1)
    make_bucket(aws, OHIO, "us-east-2")
    facts = account_checks.AccountFacts()
    facts.kms.stored_keys = {LONDON: {"arn:aws:kms:eu-west-2:123456789012:key/aws-s3"}}
    facts.kms.aws_managed = {"arn:aws:kms:eu-west-2:123456789012:key/aws-s3"}
    options = deploy.DeployOptions(buckets=parse_buckets(BUCKETS), native=True)
    with pytest.raises(ToolError, match="unable to use native mode: objects of .* AWS managed key"):
        account_checks._check_aws_managed_keys(facts, options, print)
    said: List[str] = []
    account_checks._check_aws_managed_keys(facts, deploy.DeployOptions(buckets=options.buckets), said.append)
    assert said[0].startswith("warning: objects of") and "failover reads" in said[0]
