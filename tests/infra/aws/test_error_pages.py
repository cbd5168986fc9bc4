"""The error page deploy writes into the failover bucket: read before write, never over an object it did not create."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.aws import error_pages
from infra.aws.errors import ToolError
from infra.aws.regions import Bucket

BUCKET = Bucket("london-images", "eu-west-2")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients: Dict[Any, Any] = {}

        def factory(service: str, region: str) -> Any:
            return clients.setdefault((service, region), boto3.client(service, region_name=region))

        factory("s3", BUCKET.region).create_bucket(Bucket=BUCKET.name,
                                                   CreateBucketConfiguration={"LocationConstraint": BUCKET.region})
        factory("s3", BUCKET.region).put_bucket_versioning(Bucket=BUCKET.name,
                                                           VersioningConfiguration={"Status": "Enabled"})
        yield factory


def test_the_page_is_written_once_then_left_alone(aws: Any) -> None:
    said: List[str] = []
    assert error_pages.ensure_error_page(aws, BUCKET, said.append) == "created"
    s3 = aws("s3", BUCKET.region)
    stored = s3.get_object(Bucket=BUCKET.name, Key=error_pages.ERROR_PAGE_KEY)
    assert stored["Body"].read() == error_pages.ERROR_PAGE
    assert stored["ContentType"] == "text/html; charset=utf-8"
    assert stored["Metadata"][error_pages.MARKER] == "error-page"
    assert error_pages.ensure_error_page(aws, BUCKET, said.append) == "unchanged"
    assert len(s3.list_object_versions(Bucket=BUCKET.name)["Versions"]) == 1  # no second write
    assert said == [f"error page s3://london-images/{error_pages.ERROR_PAGE_KEY}: created",
                    f"error page s3://london-images/{error_pages.ERROR_PAGE_KEY}: unchanged"]


def test_a_newer_page_replaces_only_our_own(aws: Any) -> None:
    error_pages.ensure_error_page(aws, BUCKET, lambda _: None)
    newer = error_pages.ERROR_PAGE.replace(b"right now", b"at the moment")
    assert error_pages.ensure_error_page(aws, BUCKET, lambda _: None, page=newer) == "updated"
    body = aws("s3", BUCKET.region).get_object(Bucket=BUCKET.name, Key=error_pages.ERROR_PAGE_KEY)["Body"].read()
    assert body == newer


def test_an_object_deploy_did_not_write_is_never_overwritten(aws: Any) -> None:
    s3 = aws("s3", BUCKET.region)
    s3.put_object(Bucket=BUCKET.name, Key=error_pages.ERROR_PAGE_KEY, Body=b"the user's own page")
    with pytest.raises(ToolError, match="exists and deploy did not write it; move that object"):
        error_pages.ensure_error_page(aws, BUCKET, lambda _: None)
    assert s3.get_object(Bucket=BUCKET.name, Key=error_pages.ERROR_PAGE_KEY)["Body"].read() == b"the user's own page"


def test_the_page_says_nothing_about_the_request_or_the_origin() -> None:
    page = error_pages.ERROR_PAGE.decode()
    assert len(error_pages.ERROR_PAGE) < 1024
    for word in ("S3", "Amazon", "Signature", "AccessDenied", "http", "<script", "src="):
        assert word not in page


def test_a_refused_read_is_one_line_with_what_to_do() -> None:
    s3 = boto3.client("s3", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(s3)
    # HeadObject has no body: botocore reports the status code as the error code.
    stub.add_client_error("head_object", "403", "Forbidden", 403,
                          expected_params={"Bucket": BUCKET.name, "Key": error_pages.ERROR_PAGE_KEY})
    with stub, pytest.raises(ToolError) as raised:
        error_pages.ensure_error_page(lambda service, region: s3, BUCKET, lambda _: None)
    assert str(raised.value) == (f"unable to read s3://london-images/{error_pages.ERROR_PAGE_KEY}: 403 (Forbidden); "
                                 "the deploying identity needs s3:GetObject on the failover bucket")
