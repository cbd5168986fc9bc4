"""S3's answers to a reader through `BucketServers.serve` (what the MRAP and the failover bucket's endpoint serve
with): S3's own checks and answers where moto's differ, and only S3's headers in what a viewer sees."""
from __future__ import annotations

from typing import Iterator, List, Tuple

import pytest

from infra.local.s3.buckets import BucketServers

REGION = "eu-west-2"
Answer = Tuple[int, List[Tuple[str, str]], bytes]


@pytest.fixture(scope="module")
def servers() -> Iterator[BucketServers]:
    buckets = BucketServers((REGION,), "reads-test")
    buckets.start()
    yield buckets
    buckets.stop()


def get(servers: BucketServers, target: str, *headers: Tuple[str, str], method: str = "GET") -> Answer:
    return servers.serve(REGION, method, target, list(headers))


def header(answer: Answer, name: str) -> List[str]:
    return [value for key, value in answer[1] if key.lower() == name]


def code(answer: Answer) -> str:
    return answer[2].split(b"<Code>")[1].split(b"</Code>")[0].decode() if b"<Code>" in answer[2] else ""


def test_a_version_that_is_a_delete_marker_is_405(servers: BucketServers) -> None:
    servers.put(REGION, "deleted-405.txt", b"x")
    marker = servers.delete(REGION, "deleted-405.txt")

    answer = get(servers, f"/deleted-405.txt?versionId={marker}")

    assert (answer[0], code(answer)) == (405, "MethodNotAllowed")
    assert header(answer, "x-amz-delete-marker") == ["true"] and header(answer, "x-amz-version-id") == [marker]
    assert header(answer, "last-modified")


def test_a_current_delete_marker_is_403_and_says_so(servers: BucketServers) -> None:
    servers.put(REGION, "deleted-now.txt", b"x")
    servers.delete(REGION, "deleted-now.txt")

    answer = get(servers, "/deleted-now.txt")

    assert (answer[0], code(answer)) == (403, "AccessDenied")
    assert header(answer, "x-amz-delete-marker") == ["true"]


def test_a_missing_key_is_403_without_the_delete_marker_header(servers: BucketServers) -> None:
    answer = get(servers, "/never-written.txt")

    assert (answer[0], code(answer)) == (403, "AccessDenied")
    assert header(answer, "x-amz-delete-marker") == []


def may_list() -> bool:
    return True


@pytest.mark.parametrize("target, expected", [
    ("/never-written-404.txt", "NoSuchKey"),
    ("/listed-deleted.txt", "NoSuchKey"),
    ("/listed-versioned.txt?versionId=00000000-0000-4000-8000-000000000000", "NoSuchVersion"),
], ids=["missing key", "current delete marker", "missing version"])
def test_a_reader_who_may_list_gets_404_for_what_is_missing(servers: BucketServers, target: str,
                                                            expected: str) -> None:
    servers.put(REGION, "listed-deleted.txt", b"x")
    servers.delete(REGION, "listed-deleted.txt")
    servers.put(REGION, "listed-versioned.txt", b"x")

    answer = servers.serve(REGION, "GET", target, [], may_list=may_list)

    assert (answer[0], code(answer)) == (404, expected)
    assert header(answer, "x-amz-delete-marker") == (["true"] if "deleted" in target else [])


def test_a_malformed_version_id_is_400(servers: BucketServers) -> None:
    servers.put(REGION, "versioned-400.txt", b"x")

    answer = get(servers, "/versioned-400.txt?versionId=not*a*version")

    assert (answer[0], code(answer)) == (400, "InvalidArgument")


@pytest.mark.parametrize("part, status, error", [
    ("0", 400, "InvalidArgument"), ("10001", 400, "InvalidArgument"), ("x", 400, "InvalidArgument"),
    ("2", 416, "InvalidPartNumber"), ("1", 206, ""),  # "effectively performs a ranged GET"
])
def test_part_numbers(servers: BucketServers, part: str, status: int, error: str) -> None:
    servers.put(REGION, "parts.txt", b"one part")

    answer = get(servers, f"/parts.txt?partNumber={part}")

    assert (answer[0], code(answer)) == (status, error)


def test_a_range_in_another_unit_is_ignored(servers: BucketServers) -> None:
    servers.put(REGION, "ranged.txt", b"hello")

    assert get(servers, "/ranged.txt", ("Range", "items=0-1"))[::2] == (200, b"hello")
    assert get(servers, "/ranged.txt", ("Range", "bytes=0-1"))[::2] == (206, b"he")


@pytest.mark.parametrize("length, status, error", [(1024, 403, "AccessDenied"), (1025, 400, "KeyTooLongError")])
def test_keys_over_1024_bytes_are_refused(servers: BucketServers, length: int, status: int, error: str) -> None:
    answer = get(servers, "/" + "k" * length)

    assert (answer[0], code(answer)) == (status, error)


def test_a_served_object_carries_s3s_headers_not_motos(servers: BucketServers) -> None:
    servers.put(REGION, "clean.txt", b"clean")

    answer = get(servers, "/clean.txt")

    names = {name.lower() for name, _ in answer[1]}
    assert answer[0] == 200
    assert not names & {"x-amzn-requestid", "x-amz-content-sha256", "x-amz-sdk-checksum-algorithm", "date"}
    assert {"x-amz-request-id", "x-amz-version-id", "etag", "last-modified"} <= names
    assert header(answer, "server") == ["AmazonS3"]
