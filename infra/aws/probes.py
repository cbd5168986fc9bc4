"""`scripts/upload-probes`: one small object per bucket that says which bucket and Region served it.

The object is kept out of replication (see replication.py); a replicated probe would overwrite the other buckets'
probes and make the Region check report the wrong bucket. So probes are written only when no backfill job of the
stack is running (a Batch Replication job could copy one over another), and after each write this checks that S3
did not queue the new version for replication: if it did, that version is deleted again before failing, so the
probe that was there stays the current one and nothing is replicated.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, List, Optional, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from . import backfill
from ..version import VERSION
from .clients import HOME_REGION, ClientFactory, SessionClients, ToolError
from .errors import refusal, unexpected
from .regions import Bucket, parse_buckets
from .replication import PROBE_KEY
from .stack import stack_outputs

__all__ = ["probe_body", "upload_probes", "main"]

Say = Callable[[str], None]


def probe_body(bucket: Bucket) -> bytes:
    return json.dumps({"bucket": bucket.name, "region": bucket.region}, separators=(", ", ": ")).encode() + b"\n"


def _refuse_while_backfilling(clients: ClientFactory, stack_name: str, buckets: Sequence[Bucket]) -> None:
    account = str(clients("sts", HOME_REGION).get_caller_identity()["Account"])
    running = [job for job in backfill.list_stack_jobs(clients, account, stack_name, [b.region for b in buckets])
               if job.running]
    if running:
        job = running[0]
        raise ToolError(f"unable to write the probes now: backfill job {job.job_id} ({job.source} -> "
                        f"{','.join(job.destinations)}) is {job.status}, and a job still copying could put one "
                        f"bucket's probe over another's; run scripts/backfill --stack-name {stack_name} --resume, "
                        "then upload-probes again")


def upload_probes(clients: ClientFactory, buckets: Sequence[Bucket], say: Say = print,
                  stack_name: Optional[str] = None) -> None:
    if stack_name:
        _refuse_while_backfilling(clients, stack_name, buckets)
    for bucket in buckets:
        s3 = clients("s3", bucket.region)
        try:
            written = s3.put_object(
                Bucket=bucket.name,
                Key=PROBE_KEY,
                Body=probe_body(bucket),
                ContentType="application/json",
                # Not cached at the edge: each check request must reach a bucket to say which one it was.
                CacheControl="no-store",
            )
            version = written.get("VersionId")
            head = s3.head_object(Bucket=bucket.name, Key=PROBE_KEY, **({"VersionId": version} if version else {}))
        except ClientError as error:
            raise refusal(f"write the probe s3://{bucket.name}/{PROBE_KEY}", error,
                          "the caller needs s3:PutObject and s3:GetObject on the bucket") from None
        status = head.get("ReplicationStatus")
        if status:
            undone = ""
            if version:
                try:
                    s3.delete_object(Bucket=bucket.name, Key=PROBE_KEY, VersionId=version)
                    undone = f"; the new version {version} was deleted again"
                except ClientError as error:
                    undone = f"; deleting the new version {version} failed too: {refusal('delete it', error)}"
            raise ToolError(
                f"unable to keep the probe in {bucket.name} out of replication: S3 reports ReplicationStatus "
                f"{status}{undone}. Add a disabled, higher-priority rule for prefix {PROBE_KEY} to each destination "
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    parser.add_argument("--buckets", help="name@region,... (default: read from the stack outputs)")
    parser.add_argument("--stack-name", default="mrap-edge",
                        help="the stack whose backfill jobs must be done first (and whose outputs name the buckets)")
    args = parser.parse_args(argv)
    try:
        factory: ClientFactory = clients or SessionClients()
        buckets = parse_buckets(args.buckets) if args.buckets else _buckets_from_stack(factory, args.stack_name)
        upload_probes(factory, buckets, stack_name=args.stack_name)
    except ToolError as error:
        print(f"upload-probes: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"upload-probes: {unexpected(error)}", file=sys.stderr)
        return 1
    return 0
