"""The demo's stories: the Houston colleague's first deploy on an existing London bucket (`--brownfield`), and the
before/after latency table (`--latency`), run against a started `LocalStack`.

Each step says what it expects and checks it; a story returns False when any check failed, so `--check` fails.
"""
from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from infra.local.latency import NEW_CONNECTION_ROUND_TRIPS, cloudfront_path, direct_path
from infra.local.regions import HOUSTON, POPS
from infra.local.samples import sample_objects
from infra.local.stack import LocalStack

__all__ = ["Fetched", "fetch_via_cloudfront", "fetch_presigned", "brownfield_story", "estate_reads",
           "estate_replicas", "latency_table", "LONDON", "STORY_KEY"]

Say = Callable[[str], None]
LONDON = "eu-west-2"
STORY_KEY = "images/red.png"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    ms: float  # end to end as the client saw it, modelled client-side round trips included
    served_by: Optional[str]  # the Region whose bucket answered (None: not known, or nothing answered)
    error_code: Optional[str] = None
    mrap_status: Optional[int] = None  # what the MRAP answered CloudFront (before any failover)
    mrap_error: Optional[str] = None


def _get(url: str) -> Tuple[int, Dict[str, str], bytes]:
    try:
        with _NO_PROXY.open(url, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def _error_code(body: bytes) -> Optional[str]:
    start = body.find(b"<Code>")
    return body[start + 6:body.find(b"</Code>")].decode() if start >= 0 else None


def fetch_via_cloudfront(stack: LocalStack, client: str, key: str, query: str = "") -> Fetched:
    """A GET by a client at `client` through its POP, CloudFront's cache emptied first so that it reaches the
    MRAP; with the network model on, the client's new connection to the POP costs its round trips."""
    assert stack.cloudfront is not None and stack.mrap is not None
    stack.cloudfront.clear_cache()
    started = time.perf_counter()
    stack.network.wait(client, client, NEW_CONNECTION_ROUND_TRIPS)
    status, headers, body = _get(stack.url(client, "/" + quote(key) + (f"?{query}" if query else "")))
    ms = (time.perf_counter() - started) * 1000
    request_id = headers.get("x-amz-cf-id")  # CloudFront's id, which the MRAP received (signed) too
    mine = [r for r in list(stack.mrap.received) if request_id and r.header("x-amz-cf-id") == [request_id]]
    last = mine[-1] if mine else None
    return Fetched(status, body, ms, last.region if last else None, _error_code(body) if status >= 400 else None,
                   last.status if last else None, last.error_code if last else None)


def fetch_presigned(stack: LocalStack, client: str, region: str, key: str) -> Fetched:
    """Today's path: the app hands out a presigned URL and the client goes straight to the Regional bucket."""
    bucket = stack.buckets.buckets[region]
    url = stack.buckets.client(region).generate_presigned_url(
        "get_object", Params={"Bucket": bucket.bucket, "Key": key}, ExpiresIn=600)
    started = time.perf_counter()
    stack.network.wait(client, region, NEW_CONNECTION_ROUND_TRIPS)
    status, _, body = _get(url)
    return Fetched(status, body, (time.perf_counter() - started) * 1000, region,
                   _error_code(body) if status >= 400 else None)


def _check(say: Say, ok: bool, text: str) -> bool:
    say(f"  {'ok  ' if ok else 'FAIL'} {text}")
    return ok


def _missing_key_answer(stack: LocalStack, region: str) -> Tuple[int, str, str]:
    """S3's answer, through the MRAP, for a key the Region's bucket lacks: it depends on whether the reader (the
    function's role) may list (the template's MissingKeys)."""
    assert stack.access is not None
    if stack.access.may_list_through_mrap(stack.access.role, stack.buckets.buckets[region].bucket):
        return 404, "NoSuchKey", "MissingKeys=404: the role may list, so a missing key is 404"
    return 403, "AccessDenied", "no s3:ListBucket, so a missing key is 403"


def brownfield_story(stack: LocalStack, say: Say, task_delay_s: float = 0.15) -> bool:
    """London holds the objects, Ohio starts empty and passive; the backfill runs, then Ohio serves Houston.

    Longer than a function should be, on purpose: it is the story `make demo ARGS=--brownfield` tells, step by step in
    the order a user lives it, and reads best as one script."""
    assert stack.mrap is not None and stack.replication is not None
    ohio = next(r for r in stack.options.regions if r != stack.data_region)
    images = [key for key in sample_objects() if key.endswith(".png")]
    expected = sample_objects()
    routes = lambda: ", ".join(f"{r} {'active' if d else 'passive'}" for r, d in stack.mrap.routing.current.dials)  # noqa: E731
    passed = True

    say(f"\n== brownfield: {stack.data_region} holds the objects, {ohio} starts empty ==")
    say(f"routes: {routes()} (a Region without every object stays passive until its backfill completes)")

    say(f"\n-- what that rule prevents: {ohio} active while its bucket is still empty --")
    stack.mrap.routing.set_dial(ohio, 100)
    try:
        answers = [fetch_via_cloudfront(stack, HOUSTON, key) for key in images]
    finally:
        stack.mrap.routing.reset()
        # CloudFront keeps those 403s for their ErrorCachingMinTTL; the story goes on as after an invalidation.
        assert stack.cloudfront is not None
        stack.cloudfront.clear_cache()
    status, code, why = _missing_key_answer(stack, ohio)
    denied = [a for a in answers if (a.served_by, a.mrap_status, a.mrap_error) == (ohio, status, code)]
    if status in stack.settings.failover_codes:
        viewer_ok = all(a.status == 200 for a in answers)
        outcome = (f"{status} is a failover code here, so each went to two origins and was served by the failover "
                   f"bucket ({stack.options.failover_region})")
    else:
        viewer_ok = all(a.status == status for a in answers)  # with the distribution's error page, not S3's XML
        outcome = f"{status} is not a failover code: the viewer gets the {status} (the distribution's error page)"
    passed &= _check(say, len(denied) == len(images) and viewer_ok,
                     f"Houston: {len(denied)} of {len(images)} existing images answered {status} {code} by {ohio} "
                     f"({why}); {outcome}")

    say("\n-- before the backfill --")
    before = fetch_via_cloudfront(stack, HOUSTON, STORY_KEY)
    passed &= _check(say, (before.status, before.served_by) == (200, stack.data_region)
                     and before.body == expected[STORY_KEY],
                     f"Houston GET /{STORY_KEY}: {before.status} from {before.served_by} ({before.ms:.0f} ms; "
                     f"{ohio} passive, so the MRAP routes Houston to {stack.data_region})")

    say("\n-- the backfill (S3 Batch Replication of what existed before the rules) --")
    job = stack.backfill(task_delay_s=task_delay_s)
    during: Optional[Fetched] = None
    last = None
    while not job.wait(0.05):
        summary = job.progress_summary()
        if summary != last:
            say(f"  {job.job_id} {job.status}: {summary['NumberOfTasksSucceeded']}/{summary['TotalNumberOfTasks']} "
                f"tasks succeeded, {summary['NumberOfTasksFailed']} failed; routes: {routes()}")
            last = summary
        if during is None and summary["NumberOfTasksSucceeded"] >= summary["TotalNumberOfTasks"] // 2:
            during = fetch_via_cloudfront(stack, HOUSTON, STORY_KEY)
            still_running = job.status == "Active"
            passed &= _check(say, during.status == 200 and during.served_by == stack.data_region
                             and (still_running or job.total == 0),
                             f"during the backfill: Houston GET /{STORY_KEY}: {during.status} from "
                             f"{during.served_by} ({ohio} still passive)")
    summary = job.progress_summary()
    say(f"  {job.job_id} {job.status}: {summary['NumberOfTasksSucceeded']}/{summary['TotalNumberOfTasks']} tasks "
        f"succeeded, {summary['NumberOfTasksFailed']} failed; routes: {routes()}")

    say("\n-- after the backfill --")
    after = fetch_via_cloudfront(stack, HOUSTON, STORY_KEY)
    passed &= _check(say, (after.status, after.served_by) == (200, ohio) and after.body == expected[STORY_KEY],
                     f"Houston GET /{STORY_KEY}: {after.status} from {after.served_by} ({after.ms:.0f} ms)")
    london_version = next(v.version_id for v in stack.buckets.ledger.versions(stack.data_region)
                          if v.key == STORY_KEY)
    versioned = fetch_via_cloudfront(stack, HOUSTON, STORY_KEY, f"versionId={quote(london_version, safe='')}")
    passed &= _check(say, (versioned.status, versioned.served_by) == (200, ohio),
                     f"Houston GET /{STORY_KEY}?versionId=<the {stack.data_region} version id>: {versioned.status} "
                     f"from {versioned.served_by} (replication kept the version id)")
    return passed


def estate_reads(stack: LocalStack, say: Say) -> bool:
    """The data Region's bucket as it really is, read by London colleagues through CloudFront."""
    estate = stack.options.estate
    if estate is None:
        return True
    passed = True
    say(f"\n== the {stack.data_region} bucket as it really is (SSE-KMS, archived, a bucket policy Deny, gzip) ==")
    for item in estate.objects:
        got = fetch_via_cloudfront(stack, LONDON, item.key)
        code = got.mrap_error if (got.mrap_status or 0) >= 400 else None
        passed &= _check(say, (got.status, got.mrap_status, code) == (item.status, item.status, item.error),
                         f"London GET /{item.key}: {got.status}{' ' + code if code else ''} ({item.why})")
    return passed


def estate_replicas(stack: LocalStack, say: Say) -> bool:
    """After the backfill: what replication copied to the other Regions, and what a copy keeps."""
    estate = stack.options.estate
    if estate is None:
        return True
    passed = True
    say("\n-- what the backfill copied of it --")
    for region in (r for r in stack.options.regions if r != stack.data_region):
        copied = {v.key for v in stack.buckets.ledger.versions(region)}
        bucket = stack.buckets.buckets[region].bucket
        for item in estate.objects:
            detail = ""
            if item.key in copied and item.content_encoding:
                head = stack.buckets.client(region).head_object(Bucket=bucket, Key=item.key)
                detail = f"; Content-Encoding {head.get('ContentEncoding')}, metadata {head.get('Metadata')}"
                passed &= head.get("ContentEncoding") == item.content_encoding
            reason = "" if item.replicated else " (SSE-KMS without the rule's opt-in, or archived: S3 skips it)"
            if item.key in copied and item.status != 200:
                detail = (f"; the Deny is in the {stack.data_region} bucket's policy only: readers the MRAP routes "
                          f"to {region} get it")
            passed &= _check(say, (item.key in copied) == item.replicated,
                             f"{region}: /{item.key} {'copied' if item.key in copied else 'not copied'}{reason}"
                             f"{detail}")
    return passed


def latency_table(stack: LocalStack, say: Say, key: str = STORY_KEY) -> bool:
    """London and Houston colleagues, straight to the London bucket (presigned URL) vs through CloudFront."""
    rows: List[tuple] = []
    passed = True
    for client in (LONDON, HOUSTON):
        if client not in stack.options.client_regions:
            continue
        for fetched, estimate in (
            (fetch_presigned(stack, client, stack.data_region, key), direct_path(client, stack.data_region)),
            (None, None),
        ):
            if fetched is None:
                fetched = fetch_via_cloudfront(stack, client, key)
                estimate = cloudfront_path(client, fetched.served_by or stack.data_region)
            assert estimate is not None
            passed &= fetched.status == 200
            who = f"{POPS[client].city} colleague"
            rows.append((who, estimate.route, f"{fetched.status} from {fetched.served_by}", estimate.total_ms,
                         fetched.ms))
    model = "on: the stand-ins sleep these round trips" if stack.network.enabled else \
        "off (make demo ARGS=--latency to sleep them); measured times are loopback only"
    say(f"\nGET /{key}: MODELLED network time (published inter-Region round trips; Houston estimated from "
        f"distance; see infra/local/latency.py), delay model {model}")
    header = ("who", "path", "answer", "modelled ms", "measured ms")
    widths = [max(len(str(r[i])) if i < 3 else 11 for r in rows + [header]) for i in range(5)]
    say("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        cells = [row[0], row[1], row[2], f"{row[3]:d}", f"{row[4]:.0f}"]
        say("  " + "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
    return passed
