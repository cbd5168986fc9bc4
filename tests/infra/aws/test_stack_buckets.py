"""The bucket list as the stack records it, written and read back in one place, and the deployables bucket's name."""
from __future__ import annotations

import pytest

from infra.aws.errors import ToolError
from infra.aws.regions import Bucket, parse_buckets
from infra.aws.stack_buckets import bucket_parameters, buckets_from_stack, code_bucket_name

BUCKETS = parse_buckets("london-images@eu-west-2,ohio-images@us-east-2")


def test_the_parameters_read_back_as_the_same_buckets_in_the_same_order() -> None:
    parameters = bucket_parameters(BUCKETS)
    assert parameters == {"BucketNames": "london-images,ohio-images", "BucketRegions": "eu-west-2,us-east-2"}
    assert buckets_from_stack(parameters) == BUCKETS
    assert buckets_from_stack({**parameters, "Other": "x"})[0] == Bucket("london-images", "eu-west-2")


@pytest.mark.parametrize("values", [{}, {"BucketNames": "", "BucketRegions": ""}, {"BucketNames": None}],
                         ids=["absent", "empty", "null"])
def test_a_stack_that_names_no_buckets_gives_none(values: dict) -> None:
    assert buckets_from_stack(values) == []


def test_lists_of_different_lengths_are_refused() -> None:
    with pytest.raises(ToolError, match=r"^unable to read the stack's buckets: BucketNames lists 2, BucketRegions 1$"):
        buckets_from_stack({"BucketNames": "a-bucket,b-bucket", "BucketRegions": "eu-west-2"})


def test_a_bad_name_is_refused_as_a_user_given_one_is() -> None:
    with pytest.raises(ToolError, match="unable to use bucket name 'Bad_Name'"):
        buckets_from_stack({"BucketNames": "Bad_Name", "BucketRegions": "eu-west-2"})


def test_the_deployables_bucket_is_one_per_account() -> None:
    assert code_bucket_name("123456789012") == "mrap-edge-deployables-123456789012"
