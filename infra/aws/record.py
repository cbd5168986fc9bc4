"""What deploy records about the backfill, in the deployables bucket (`mrap-edge/backfill/<stack>.json`): the pairs
source -> destination known to be complete, with how that was established, and the Regions deploy made passive.

Jobs alone would not do: ListJobs forgets them 90 days after they end, and a bucket full of replicas is not a bucket
that needs a backfill. The Regions made passive are recorded so that deploy makes active again only those: a Region
passive for another reason (an operator's failover) stays as the operator left it."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, List

from botocore.exceptions import ClientError

from .clients import HOME_REGION, ClientFactory
from .errors import error_code, refusal

__all__ = ["Record", "load_record", "save_record", "delete_record"]


@dataclass
class Record:
    """The pairs source -> destination known to be complete, with how that was established; and the Regions deploy
    made passive itself (only those it makes active again: a Region passive for another reason, an operator's
    failover, stays as the operator left it)."""
    bucket: str
    key: str
    complete: Dict[str, str] = field(default_factory=dict)
    made_passive: List[str] = field(default_factory=list)
    changed: bool = False

    @staticmethod
    def pair(source: str, destination: str) -> str:
        return f"{source}->{destination}"

    def is_complete(self, source: str, destination: str) -> bool:
        return self.pair(source, destination) in self.complete

    def mark(self, source: str, destination: str, how: str) -> None:
        if not self.is_complete(source, destination):
            self.complete[self.pair(source, destination)] = how
            self.changed = True

    def set_passive(self, region: str, passive: bool) -> None:
        if passive and region not in self.made_passive:
            self.made_passive.append(region)
            self.changed = True
        elif not passive and region in self.made_passive:
            self.made_passive.remove(region)
            self.changed = True


def _record_key(stack_name: str) -> str:
    return f"mrap-edge/backfill/{stack_name}.json"


def load_record(clients: ClientFactory, code_bucket: str, stack_name: str) -> Record:
    record = Record(bucket=code_bucket, key=_record_key(stack_name))
    try:
        body = clients("s3", HOME_REGION).get_object(Bucket=code_bucket, Key=record.key)["Body"].read()
    except ClientError as error:
        if error_code(error) in ("NoSuchKey", "404", "NoSuchBucket"):
            return record
        raise refusal(f"read s3://{code_bucket}/{record.key}", error, "the caller needs s3:GetObject") from None
    saved = json.loads(body)
    record.complete = dict(saved.get("complete", {}))
    record.made_passive = list(saved.get("made_passive", []))
    return record


def save_record(clients: ClientFactory, record: Record) -> None:
    if not record.changed:
        return
    body = json.dumps({"complete": record.complete, "made_passive": record.made_passive}, indent=1,
                      sort_keys=True).encode()
    try:
        clients("s3", HOME_REGION).put_object(Bucket=record.bucket, Key=record.key, Body=body,
                                              ContentType="application/json")
    except ClientError as error:
        raise refusal(f"write s3://{record.bucket}/{record.key}", error, "the caller needs s3:PutObject") from None
    record.changed = False


def delete_record(clients: ClientFactory, code_bucket: str, stack_name: str) -> None:
    try:
        clients("s3", HOME_REGION).delete_object(Bucket=code_bucket, Key=_record_key(stack_name))
    except ClientError as error:
        if error_code(error) not in ("NoSuchKey", "404", "NoSuchBucket"):
            raise refusal(f"delete s3://{code_bucket}/{_record_key(stack_name)}", error) from None
