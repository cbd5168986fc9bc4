"""SSE-KMS: detected from the default encryption and a sample of objects, supported with per-Region keys in the rules
and the roles, refused with the exact fix where a key or a statement is missing."""
from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from infra.aws import backfill, encryption
from infra.aws.clients import ToolError
from infra.aws.regions import Bucket

from .helpers import ACCOUNT, LONDON, OHIO, Clients, ReadOnly, make_bucket

LONDON_B, OHIO_B = Bucket(LONDON, "eu-west-2"), Bucket(OHIO, "us-east-2")
DIST_ARN = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"


def _key(aws: Clients, region: str, alias: str = "") -> str:
    kms = aws("kms", region)
    arn = str(kms.create_key(Description="images")["KeyMetadata"]["Arn"])
    if alias:
        kms.create_alias(AliasName=alias, TargetKeyId=arn.split("/")[-1])
    return arn


def _kms_london(aws: Clients, objects: int = 3) -> str:
    """A London bucket with SSE-KMS by default (through an alias, as consoles write it), holding objects."""
    key = _key(aws, "eu-west-2", "alias/images")
    make_bucket(aws, LONDON, "eu-west-2")
    aws("s3", "eu-west-2").put_bucket_encryption(Bucket=LONDON, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/images"},
         "BucketKeyEnabled": True}]})
    for index in range(objects):
        aws("s3", "eu-west-2").put_object(Bucket=LONDON, Key=f"images/{index}.jpg", Body=b"x")
    return key


def _our_rule(destination: str) -> Dict[str, Any]:
    return {"ID": "mrap-edge-to-us-east-2", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Enabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{destination}"}}


def test_detects_the_default_key_and_the_sampled_objects_reading_only(aws: Clients) -> None:
    _kms_london(aws)
    reader = ReadOnly(aws)
    found = encryption.read_encryption(reader, LONDON_B)
    assert found.uses_kms and found.default_algorithm == "aws:kms" and found.default_key == "alias/images"
    assert found.bucket_key and found.sampled == 3 and found.kms_objects == 3
    assert reader.reads.count("s3.head_object") == 3


def test_the_sample_is_bounded(aws: Clients) -> None:
    _kms_london(aws, objects=5)
    reader = ReadOnly(aws)
    assert encryption.read_encryption(reader, LONDON_B, sample=2).sampled == 2
    assert reader.reads.count("s3.head_object") == 2


def test_sse_s3_buckets_need_nothing(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    make_bucket(aws, OHIO, "us-east-2")
    found = [encryption.read_encryption(aws, b) for b in (LONDON_B, OHIO_B)]
    plan = encryption.plan_kms(aws, found, {})
    assert not plan.active
    assert encryption.with_kms(_our_rule(OHIO), plan, "us-east-2") == _our_rule(OHIO)
    assert encryption.replication_role_statements(plan, [LONDON_B, OHIO_B]) == []


def test_refuses_a_region_without_a_key_naming_the_option(aws: Clients) -> None:
    _kms_london(aws)
    make_bucket(aws, OHIO, "us-east-2")
    found = [encryption.read_encryption(aws, b) for b in (LONDON_B, OHIO_B)]
    with pytest.raises(ToolError, match=r"no KMS key for us-east-2.*--kms-key us-east-2=<key ARN>"):
        encryption.plan_kms(aws, found, {})


def test_rules_opt_in_with_each_destination_regions_key_and_s3_accepts_them(aws: Clients) -> None:
    london_key = _kms_london(aws)
    ohio_key = _key(aws, "us-east-2")
    make_bucket(aws, OHIO, "us-east-2")
    found = [encryption.read_encryption(aws, b) for b in (LONDON_B, OHIO_B)]
    plan = encryption.plan_kms(aws, found, encryption.parse_kms_keys([f"us-east-2={ohio_key}"]))
    assert plan.replica_keys == {"eu-west-2": london_key, "us-east-2": ohio_key}  # the alias resolved to its key
    rule = encryption.with_kms(_our_rule(OHIO), plan, "us-east-2")
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    assert rule["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": ohio_key}
    config = {"Role": "arn:aws:iam::123456789012:role/mrap-edge-replication", "Rules": [rule]}
    # botocore validates the shape against S3's model (moto then drops SourceSelectionCriteria on the way back, so
    # the configuration sent is what is checked).
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration=config)
    assert encryption.kms_gaps(config, found[0], [OHIO_B]) == []
    assert encryption.function_key_arns(plan) == sorted({london_key, ohio_key})


def test_the_replication_role_decrypts_at_the_source_and_encrypts_at_the_destination(aws: Clients) -> None:
    london_key = _kms_london(aws)
    ohio_key = _key(aws, "us-east-2")
    make_bucket(aws, OHIO, "us-east-2")
    found = [encryption.read_encryption(aws, b) for b in (LONDON_B, OHIO_B)]
    plan = encryption.plan_kms(aws, found, {"us-east-2": ohio_key})
    statements = encryption.replication_role_statements(plan, [LONDON_B, OHIO_B])
    decrypt_london, encrypt_london, decrypt_ohio, encrypt_ohio = statements
    assert decrypt_london["Action"] == ["kms:Decrypt"] and decrypt_london["Resource"] == [london_key]
    assert decrypt_london["Condition"]["StringLike"]["kms:ViaService"] == "s3.eu-west-2.amazonaws.com"
    # London uses S3 Bucket Keys: the encryption context is then the bucket's ARN.
    assert f"arn:aws:s3:::{LONDON}" in decrypt_london["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
    assert encrypt_ohio["Action"] == ["kms:Encrypt"] and encrypt_ohio["Resource"] == [ohio_key]
    assert encrypt_ohio["Condition"]["StringLike"]["kms:ViaService"] == "s3.us-east-2.amazonaws.com"
    assert encrypt_london["Resource"] == [london_key] and decrypt_ohio["Resource"] == [ohio_key]
    assert encryption.batch_role_kms_statements(aws, [LONDON_B, OHIO_B])[0]["Resource"] == [london_key]


def test_a_backfill_whose_rules_leave_sse_kms_objects_out_is_not_complete(aws: Clients) -> None:
    _kms_london(aws)
    make_bucket(aws, OHIO, "us-east-2")
    config = {"Role": "arn:aws:iam::123456789012:role/r", "Rules": [_our_rule(OHIO)]}
    with pytest.raises(ToolError, match=r"unable to count the backfill of .* as complete: rule mrap-edge-to-us-east-2"
                                        r".*SseKmsEncryptedObjects"):
        encryption.check_backfill_covers_kms(aws, LONDON_B, [OHIO_B], config)
    opted = dict(_our_rule(OHIO), SourceSelectionCriteria={"SseKmsEncryptedObjects": {"Status": "Enabled"}})
    opted["Destination"] = dict(opted["Destination"], EncryptionConfiguration={"ReplicaKmsKeyID": "arn:k"})
    encryption.check_backfill_covers_kms(aws, LONDON_B, [OHIO_B], {"Rules": [opted]})


def test_cloudfront_needs_a_key_policy_statement_for_each_key_it_reads(aws: Clients) -> None:
    london_key = _kms_london(aws)
    ohio_key = _key(aws, "us-east-2")
    make_bucket(aws, OHIO, "us-east-2")
    found = [encryption.read_encryption(aws, b) for b in (LONDON_B, OHIO_B)]
    plan = encryption.plan_kms(aws, found, {"us-east-2": ohio_key})
    problems = encryption.cloudfront_key_problems(aws, plan, [LONDON_B], DIST_ARN)
    assert len(problems) == 1 and london_key in problems[0]
    statement = json.loads(problems[0].split("add this statement to it: ", 1)[1])
    assert statement == encryption.cloudfront_key_statement(DIST_ARN)
    kms = aws("kms", "eu-west-2")
    policy = json.loads(kms.get_key_policy(KeyId=london_key, PolicyName="default")["Policy"])
    policy["Statement"].append(statement)
    kms.put_key_policy(KeyId=london_key, PolicyName="default", Policy=json.dumps(policy))
    assert encryption.cloudfront_key_problems(aws, plan, [LONDON_B], DIST_ARN) == []
    plan.aws_managed.add(ohio_key)
    assert "cannot be read by CloudFront" in encryption.cloudfront_key_problems(aws, plan, [OHIO_B], DIST_ARN)[0]


@pytest.mark.parametrize("value", ["us-east-2", "=arn:aws:kms:x", "us-east-2="], ids=["no key", "no region", "empty"])
def test_a_malformed_kms_key_option_is_one_line(value: str) -> None:
    with pytest.raises(ToolError, match=r"^unable to read --kms-key"):
        encryption.parse_kms_keys([value])


def test_a_clean_job_that_left_sse_kms_objects_out_does_not_make_ohio_complete(aws: Clients) -> None:
    # GIVEN SSE-KMS London replicating to Ohio with a rule that does not opt in (a job under it would end clean)
    _kms_london(aws)
    make_bucket(aws, OHIO, "us-east-2")
    aws("s3", "eu-west-2").put_bucket_replication(Bucket=LONDON, ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/mrap-edge-replication", "Rules": [_our_rule(OHIO)]})
    record = backfill.Record(bucket="deployables", key="record.json")
    # WHEN the backfill is planned THEN it refuses to count London -> Ohio complete, saying why
    with pytest.raises(ToolError, match="unable to count the backfill of .* as complete"):
        backfill.plan_backfill(aws, ACCOUNT, "mrap-edge", [LONDON_B, OHIO_B], record)
    assert not record.is_complete(LONDON, OHIO)
