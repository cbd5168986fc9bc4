"""What a backfill meets in a source bucket: versions (and their cost), archived objects, lifecycle rules."""
from __future__ import annotations

import pytest

from infra.aws import object_survey
from infra.aws.regions import Bucket

from .helpers import LONDON, OHIO, Clients, ReadOnly, make_bucket

SOURCE, DESTINATION = Bucket(LONDON, "eu-west-2"), Bucket(OHIO, "us-east-2")


def _brownfield(aws: Clients) -> None:
    """Two images with two versions each, one archived in each Glacier class, one in Instant Retrieval, a deleted
    image, and our probe (never copied)."""
    make_bucket(aws, LONDON, "eu-west-2")
    s3 = aws("s3", "eu-west-2")
    for key in ("images/a.jpg", "images/b.jpg"):
        s3.put_object(Bucket=LONDON, Key=key, Body=b"x" * 1000)
        s3.put_object(Bucket=LONDON, Key=key, Body=b"y" * 1000)
    s3.put_object(Bucket=LONDON, Key="old/2019.jpg", Body=b"z" * 500, StorageClass="GLACIER")
    s3.put_object(Bucket=LONDON, Key="old/2015.jpg", Body=b"z" * 500, StorageClass="DEEP_ARCHIVE")
    s3.put_object(Bucket=LONDON, Key="old/2021.jpg", Body=b"z" * 500, StorageClass="GLACIER_IR")
    s3.put_object(Bucket=LONDON, Key="gone.jpg", Body=b"g")
    s3.delete_object(Bucket=LONDON, Key="gone.jpg")
    s3.put_object(Bucket=LONDON, Key="mrap-edge-probe.json", Body=b"{}")


def test_counts_every_version_and_the_archived_ones_apart(aws: Clients) -> None:
    _brownfield(aws)
    found = object_survey.survey(aws, SOURCE)
    assert (found.versions, found.current, found.delete_markers) == (8, 5, 1)
    assert found.archived == {"GLACIER": 1, "DEEP_ARCHIVE": 1} and found.archived_current == 2
    assert found.eligible == 6  # Instant Retrieval is copied and readable like Standard
    assert found.eligible_bytes == 4 * 1000 + 500 + 1


def test_the_dry_run_says_versions_cost_archived_objects_and_lifecycle(aws: Clients) -> None:
    _brownfield(aws)
    aws("s3", "eu-west-2").put_bucket_lifecycle_configuration(Bucket=LONDON, LifecycleConfiguration={"Rules": [
        {"ID": "archive-after-a-year", "Status": "Enabled", "Filter": {"Prefix": ""},
         "Transitions": [{"Days": 365, "StorageClass": "GLACIER"}]},
        {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}]})
    reader = ReadOnly(aws)
    first, archived, lifecycle = object_survey.backfill_lines(reader, SOURCE, [DESTINATION])
    assert f"backfill {LONDON} -> {OHIO}: 6 version(s) to copy (3 current object(s)" in first
    assert "every eligible version is copied" in first and "1 delete marker(s)" in first
    assert "estimated cost $0.25" in first  # the job's fixed price dominates six small versions
    assert "2 archived version(s) (1 in Glacier Deep Archive, 1 in Glacier Flexible Retrieval; 2 current)" in archived
    assert "excluded from Batch Replication" in archived and "403 InvalidObjectState" in archived
    assert "archive-after-a-year" in lifecycle and "off" not in lifecycle.split("(")[1].split(")")[0]
    assert "AWS recommends suspending them while a Batch Replication job runs" in lifecycle
    assert set(reader.reads) == {"s3.list_object_versions", "s3.get_bucket_lifecycle_configuration"}


def test_the_cost_follows_versions_bytes_and_destinations() -> None:
    found = object_survey.Survey(SOURCE, versions=2_000_000, bytes=2_000_000 * 1024 ** 2)
    # $0.25 + 2 x $1.00 + 2,000,000 MiB = 1953.125 GiB x 2 x $0.02 + 4,000 x $0.005
    assert object_survey.estimated_cost(found, destinations=2) == pytest.approx(0.25 + 2 + 78.125 + 20)


def test_counting_stops_at_the_bound_and_says_at_least(aws: Clients) -> None:
    make_bucket(aws, LONDON, "eu-west-2", objects=5)
    found = object_survey.survey(aws, SOURCE, max_versions=2, page_size=2)
    assert found.truncated and found.versions == 2
    complete = object_survey.survey(aws, SOURCE, page_size=2)
    assert not complete.truncated and complete.versions == 5


def test_a_bucket_not_created_yet_has_nothing_to_copy(aws: Clients) -> None:
    assert object_survey.backfill_lines(aws, DESTINATION, [SOURCE])[0].startswith(
        f"backfill {OHIO} -> {LONDON}: 0 version(s)")
