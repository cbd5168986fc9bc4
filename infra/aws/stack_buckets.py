"""The buckets as the stack records them: the Regional bucket list and the deployables bucket.

The Regional buckets travel as two comma-separated lists in the same order, the template's `BucketNames` and
`BucketRegions` (parameters, and outputs of the same names): written by `bucket_parameters`, read back from a stack
by `buckets_from_stack`, nowhere else. The deployables bucket (parameter `CodeBucket`) holds the packaged function
and the backfill records; unless the user names another, it is one per account, named by `code_bucket_name`.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

from .errors import ToolError
from .regions import Bucket

__all__ = ["CODE_BUCKET_PREFIX", "code_bucket_name", "bucket_parameters", "buckets_from_stack"]

CODE_BUCKET_PREFIX = "mrap-edge-deployables-"


def code_bucket_name(account: str) -> str:
    """The deployables bucket deploy creates (in us-east-1) and every other tool reads when none is named."""
    return f"{CODE_BUCKET_PREFIX}{account}"


def bucket_parameters(buckets: Sequence[Bucket]) -> Dict[str, str]:
    """The stack parameters `BucketNames` and `BucketRegions` for `buckets`, in order (the first is the failover)."""
    return {"BucketNames": ",".join(b.name for b in buckets), "BucketRegions": ",".join(b.region for b in buckets)}


def buckets_from_stack(values: Mapping[str, str]) -> List[Bucket]:
    """The Regional buckets a stack's outputs (or parameters) name, in order; none when it names none.

    Lists of different lengths are refused: which Region is whose could not be told."""
    names = [name for name in (values.get("BucketNames") or "").split(",") if name]
    regions = [region for region in (values.get("BucketRegions") or "").split(",") if region]
    if len(names) != len(regions):
        raise ToolError(f"unable to read the stack's buckets: BucketNames lists {len(names)}, BucketRegions "
                        f"{len(regions)}")
    return [Bucket(name=name, region=region) for name, region in zip(names, regions)]
