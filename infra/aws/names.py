"""The names mrap-edge gives to what it writes in an account, one home each: other modules (the local stand-in too)
import them from here. The buckets' names as the stack records them live in `infra/aws/stack_buckets.py`."""
from __future__ import annotations

__all__ = ["PROBE_KEY", "BACKFILL_PREFIX", "CREATED_BY_TAG"]

# Each bucket's probe (scripts/upload-probes): says which bucket answered; it must stay in its bucket.
PROBE_KEY = "mrap-edge-probe.json"
# Batch Replication's generated manifests and completion reports, written in the source bucket.
BACKFILL_PREFIX = "mrap-edge-backfill/"
# The tag on every bucket and role deploy creates: teardown deletes only what carries it.
CREATED_BY_TAG = ("mrap-edge:created-by", "scripts/deploy")

