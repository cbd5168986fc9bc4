"""Bucket specs and the Region rules that the template also enforces."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, List, Sequence

from .clients import ToolError

__all__ = ["OPT_IN_REGIONS", "MAX_BUCKETS", "PRICE_CLASSES", "Bucket", "parse_buckets", "check_native_mode",
           "check_bucket_count", "price_class_for", "bucket_name_problem"]

# Opt-in Regions that an MRAP can include (S3 User Guide, "Configuring Multi-Region Access Point opt-in Regions").
# CloudFront origin access control cannot sign for an MRAP with a bucket in any of them.
OPT_IN_REGIONS = {
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ca-west-1": "Canada West (Calgary)",
    "eu-central-2": "Europe (Zurich)",
    "eu-south-1": "Europe (Milan)",
    "eu-south-2": "Europe (Spain)",
    "il-central-1": "Israel (Tel Aviv)",
    "me-south-1": "Middle East (Bahrain)",
    "me-central-1": "Middle East (UAE)",
}
# The template lists this many optional MRAP Regions (CloudFormation cannot loop over a list parameter).
MAX_BUCKETS = 8

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# CloudFront price classes, cheapest first (CloudFront Developer Guide, "Choose the price class"): 100 serves from
# North America, Europe and Israel; 200 adds Asia, India, the Middle East and Africa; All adds South America,
# Australia and New Zealand. Viewers outside the class use the nearest edge inside it, and the MRAP then routes by
# that edge's location, not the viewer's.
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
_PRICE_CLASS_200 = ("ap-northeast-", "ap-east-", "ap-south-", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5",
                    "ap-southeast-7", "me-", "af-")
_PRICE_CLASS_ALL = ("sa-", "ap-southeast-2", "ap-southeast-4", "ap-southeast-6")


def price_class_for(region: str) -> str:
    """The cheapest price class whose edge locations are near a bucket in `region` (so its viewers reach it)."""
    if region.startswith(_PRICE_CLASS_ALL):
        return "PriceClass_All"
    if region.startswith(_PRICE_CLASS_200):
        return "PriceClass_200"
    return "PriceClass_100"


def bucket_name_problem(name: str) -> str:
    """Why S3 would refuse `name` as a general purpose bucket name (S3 User Guide, "Bucket naming rules"), or ""."""
    if not _BUCKET.match(name):
        return "3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if ".." in name:
        return "without two adjacent dots"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "not formatted as an IP address"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return f"without the reserved prefix {prefix!r}"
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return f"without the reserved suffix {suffix!r}"
    return ""


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str

    def __post_init__(self) -> None:
        problem = bucket_name_problem(self.name)
        if problem:
            raise ToolError(f"unable to use bucket name {self.name!r}: S3 bucket names are {problem}")
        if not _REGION.match(self.region):
            raise ToolError(f"unable to use Region for bucket {self.name}: {self.region!r}")


def parse_buckets(text: str) -> List[Bucket]:
    """`name@region,name@region` -> buckets, in order (the first is the failover origin)."""
    buckets = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, region = item.partition("@")
        if not sep:
            raise ToolError(f"unable to read bucket {item!r}: write it as name@region")
        buckets.append(Bucket(name=name, region=region))
    return buckets


def check_bucket_count(buckets: Sequence[Bucket]) -> None:
    if not 2 <= len(buckets) <= MAX_BUCKETS:
        raise ToolError(f"unable to build an MRAP over {len(buckets)} bucket(s): give 2 to {MAX_BUCKETS}")
    if len({b.region for b in buckets}) != len(buckets):
        raise ToolError("unable to build an MRAP with two buckets in one Region: an MRAP takes one bucket per Region")
    if len({b.name for b in buckets}) != len(buckets):
        raise ToolError("unable to build an MRAP: a bucket is listed twice")


def check_native_mode(regions: Iterable[str]) -> None:
    """Refuse native (OAC sigv4a) mode when a bucket is in an opt-in Region, naming the Regions."""
    opted_in = [r for r in regions if r in OPT_IN_REGIONS]
    if opted_in:
        names = ", ".join(f"{r} ({OPT_IN_REGIONS[r]})" for r in opted_in)
        raise ToolError(
            f"unable to use native mode with a bucket in an opt-in Region: {names}. CloudFront origin access control "
            "cannot sign for an MRAP there; deploy without --native to use the Lambda@Edge signer."
        )
