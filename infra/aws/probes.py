"""`scripts/upload-probes`: one small object per bucket that says which bucket and Region served it.

The object is kept out of replication (see buckets.replication_configuration); after each write this checks that
S3 did not queue it for replication, since a replicated probe would overwrite the other buckets' probes and make
the Region check report the wrong bucket.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, List, Optional, Sequence

from .buckets import PROBE_KEY
from .clients import ClientFactory, SessionClients, ToolError
from .regions import Bucket, parse_buckets
from .stack import stack_outputs

__all__ = ["probe_body", "upload_probes", "main"]

Say = Callable[[str], None]


def probe_body(bucket: Bucket) -> bytes:
    return json.dumps({"bucket": bucket.name, "region": bucket.region}, separators=(", ", ": ")).encode() + b"\n"


def upload_probes(clients: ClientFactory, buckets: Sequence[Bucket], say: Say = print) -> None:
    for bucket in buckets:
        s3 = clients("s3", bucket.region)
        s3.put_object(
            Bucket=bucket.name,
            Key=PROBE_KEY,
            Body=probe_body(bucket),
            ContentType="application/json",
            # Not cached at the edge: each check request must reach a bucket to say which one it was.
            CacheControl="no-store",
        )
        status = s3.head_object(Bucket=bucket.name, Key=PROBE_KEY).get("ReplicationStatus")
        if status:
            raise ToolError(
                f"unable to keep the probe in {bucket.name} out of replication: S3 reports ReplicationStatus "
                f"{status}. Add a disabled, higher-priority rule for prefix {PROBE_KEY} to each destination "
                "(scripts/deploy --create-buckets writes such rules)."
            )
        say(f"probe s3://{bucket.name}/{PROBE_KEY} ({bucket.region}) written, not replicated")


def _buckets_from_stack(clients: ClientFactory, stack_name: str) -> List[Bucket]:
    outputs = stack_outputs(clients, stack_name)
    names = outputs.get("BucketNames", "").split(",")
    regions = outputs.get("BucketRegions", "").split(",")
    if not names[0] or len(names) != len(regions):
        raise ToolError(f"unable to read the buckets from stack {stack_name}'s outputs")
    return [Bucket(name=n, region=r) for n, r in zip(names, regions)]


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/upload-probes", description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", help="name@region,... (default: read from the stack outputs)")
    parser.add_argument("--stack-name", default="mrap-edge")
    args = parser.parse_args(argv)
    try:
        factory: ClientFactory = clients or SessionClients()
        buckets = parse_buckets(args.buckets) if args.buckets else _buckets_from_stack(factory, args.stack_name)
        upload_probes(factory, buckets)
    except ToolError as error:
        print(f"upload-probes: {error}", file=sys.stderr)
        return 1
    return 0
