"""The names mrap-edge gives to what it writes in an account, one home each: other modules (the local stand-in too)
import them from here."""
from __future__ import annotations

__all__ = ["PROBE_KEY", "BACKFILL_PREFIX", "CREATED_BY_TAG", "deployables_bucket"]

# Each bucket's probe (scripts/upload-probes): says which bucket answered; it must stay in its bucket.
PROBE_KEY = "mrap-edge-probe.json"
# Batch Replication's generated manifests and completion reports, written in the source bucket.
BACKFILL_PREFIX = "mrap-edge-backfill/"
# The tag on every bucket and role deploy creates: teardown deletes only what carries it.
CREATED_BY_TAG = ("mrap-edge:created-by", "scripts/deploy")


def deployables_bucket(account_id: str) -> str:
    """The us-east-1 bucket of the packages and the backfill record, unless --code-bucket names another."""
    return f"mrap-edge-deployables-{account_id}"
