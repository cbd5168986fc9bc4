"""Buckets: an existing bucket is checked (Region from HeadBucket, versioning) and described, never changed; a new
one is created private, encrypted and versioned. moto for S3, Stubber for the answers moto does not give."""
from __future__ import annotations

from typing import List

import boto3
import pytest
from botocore.stub import Stubber

from infra.aws import buckets
from infra.aws.clients import ToolError
from infra.aws.regions import Bucket

from .helpers import LONDON, Clients, make_bucket


def test_the_region_of_a_bucket_named_alone_comes_from_head_bucket(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    assert buckets.bucket_region(aws, LONDON) == "eu-west-2"


def test_the_region_is_read_from_the_header_of_a_refused_head_bucket_too() -> None:
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(s3)
    stub.add_client_error("head_bucket", "403", "Forbidden", 403,
                          response_meta={"HTTPHeaders": {"x-amz-bucket-region": "eu-west-2"}})
    with stub:
        assert buckets.bucket_region(lambda service, region: s3, LONDON) == "eu-west-2"


def test_a_bucket_in_another_region_than_the_one_given_is_refused_with_the_right_spec(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2")
    with pytest.raises(ToolError, match=f"the bucket is in eu-west-2; write {LONDON}@eu-west-2 in --buckets"):
        buckets.ensure_bucket(aws, Bucket(LONDON, "eu-west-1"), lambda _: None, versioned=True)


def test_an_existing_bucket_without_versioning_is_refused_with_the_command_to_run(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2", versioned=False, objects=1)
    with pytest.raises(ToolError) as raised:
        buckets.ensure_bucket(aws, Bucket(LONDON, "eu-west-2"), lambda _: None, versioned=True)
    text = str(raised.value)
    assert "versioning is not enabled" in text
    assert text.endswith(f"aws s3api put-bucket-versioning --bucket {LONDON} --versioning-configuration "
                         "Status=Enabled")
    assert aws("s3", "eu-west-2").get_bucket_versioning(Bucket=LONDON).get("Status") is None  # not changed


def test_an_existing_bucket_is_described_by_what_it_holds_and_left_as_it_is(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=2)
    said: List[str] = []
    assert buckets.ensure_bucket(aws, Bucket(LONDON, "eu-west-2"), said.append, versioned=True) is False
    assert said == [f"bucket {LONDON} (eu-west-2) exists and holds 2 object(s); its objects, policy and settings "
                    "are kept"]
    with pytest.raises(aws("s3", "eu-west-2").exceptions.ClientError):
        aws("s3", "eu-west-2").get_bucket_tagging(Bucket=LONDON)  # not tagged as ours: teardown keeps it


def test_a_bucket_name_taken_elsewhere_is_one_line_with_what_to_do() -> None:
    s3 = boto3.client("s3", region_name="us-east-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(s3)
    stub.add_client_error("head_bucket", "404", "Not Found", 404)
    stub.add_client_error("create_bucket", "BucketAlreadyExists", "The requested bucket name is not available.",
                          409)
    with stub, pytest.raises(ToolError) as raised:
        buckets.ensure_bucket(lambda service, region: s3, Bucket("taken-name", "us-east-2"), lambda _: None,
                              versioned=True)
    assert str(raised.value) == ("unable to create bucket taken-name in us-east-2: BucketAlreadyExists (The requested "
                                 "bucket name is not available.); bucket names are global: choose another name")
