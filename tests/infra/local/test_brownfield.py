"""The whole path on the user's real situation: an existing London bucket, an empty Ohio bucket, the backfill and
the deploy rule (a Region stays passive until its bucket holds every object); and the permissions the stand-ins
enforce from the template and the deploy tooling (version reads, the failover bucket's policy).

Each stack here is started for its own story, since a backfill cannot be undone.
"""
from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any, List
from urllib.parse import quote

import pytest
from botocore.credentials import Credentials

from infra.aws.buckets import cloudfront_read_statement
from infra.local.cloudfront.settings import TEMPLATE_FILE, load_settings
from infra.local.iam import Policy
from infra.local.latency import NetworkModel
from infra.local.regions import HOUSTON, AllPassiveRoutes, latency_ms
from infra.local.samples import sample_objects
from infra.local.stack import LocalStack, StackOptions
from infra.local.wire import send, signed_s3_headers
from tests.conftest import StartStack
from tests.curl import CurlResponse, curl

LONDON, OHIO = "eu-west-2", "us-east-2"
SAMPLES = sample_objects()
IMAGES = [key for key in SAMPLES if key.endswith(".png")]
SETTINGS = replace(load_settings(), default_ttl=0)  # every request reaches the origin


def start(start_stack: StartStack, **options: Any) -> LocalStack:
    return start_stack(settings=SETTINGS, function_timeout_s=5.0, **options)


def get(stack: LocalStack, client: str, key: str, query: str = "") -> CurlResponse:
    return curl(stack.url(client, "/" + quote(key, safe="/") + (f"?{query}" if query else "")))


def served_by(stack: LocalStack) -> str:
    assert stack.mrap is not None
    return str(stack.mrap.received[-1].region)


def version_in(stack: LocalStack, region: str, key: str) -> str:
    return next(v.version_id for v in stack.buckets.ledger.versions(region) if v.key == key)


# --- brownfield, with the deploy rule ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def brownfield(start_stack: StartStack) -> LocalStack:
    return start(start_stack, brownfield=True, client_regions=(LONDON, OHIO, HOUSTON), failover_region=LONDON)


def test_houston_is_served_by_london_until_ohio_is_backfilled_then_by_ohio(brownfield: LocalStack) -> None:
    # GIVEN London holds the objects, Ohio only its probe, and Ohio is passive (the deploy rule)
    assert brownfield.mrap is not None
    assert dict(brownfield.mrap.routing.current.dials) == {LONDON: 100, OHIO: 0}
    assert [v.key for v in brownfield.buckets.ledger.versions(OHIO)] == ["mrap-edge-probe.json"]

    # THEN before the backfill Houston is served, by London
    before = get(brownfield, HOUSTON, "images/red.png")
    assert (before.status, before.body, served_by(brownfield)) == (200, SAMPLES["images/red.png"], LONDON)

    # WHEN the backfill runs, THEN while it runs Ohio stays passive and Houston is still served by London
    job = brownfield.backfill(task_delay_s=0.2)
    during = get(brownfield, HOUSTON, "images/red.png")
    assert job.status == "Active" and 0 < job.total
    assert (during.status, served_by(brownfield)) == (200, LONDON)
    assert dict(brownfield.mrap.routing.current.dials)[OHIO] == 0

    # AND once it completes Ohio is active and serves Houston every object, under London's version ids
    assert job.wait(30) and job.progress_summary()["NumberOfTasksSucceeded"] == job.total
    assert dict(brownfield.mrap.routing.current.dials) == {LONDON: 100, OHIO: 100}
    for key in SAMPLES:
        after = get(brownfield, HOUSTON, key)
        assert (after.status, after.body, served_by(brownfield)) == (200, SAMPLES[key], OHIO), key
    london_version = version_in(brownfield, LONDON, "images/red.png")
    versioned = get(brownfield, HOUSTON, "images/red.png", f"versionId={quote(london_version, safe='')}")
    assert (versioned.status, served_by(brownfield)) == (200, OHIO)
    assert versioned.header("x-amz-version-id") == london_version
    # AND the routes stay so after a reset (they are what the deploy submitted)
    brownfield.reset()
    assert dict(brownfield.mrap.routing.current.dials) == {LONDON: 100, OHIO: 100}


def test_a_new_write_reaches_ohio_after_the_replication_lag(brownfield: LocalStack) -> None:
    assert brownfield.replication is not None
    if not brownfield.backfills:  # run alone: Ohio must be backfilled (and so active) first
        assert brownfield.backfill().wait(30)
    brownfield.replication.lag_s = 0.3
    try:
        version_id = brownfield.replication.write(LONDON, "new/after-deploy.txt", b"written after the deploy")
        assert get(brownfield, OHIO, "new/after-deploy.txt").status == 403  # not there yet: AccessDenied
        assert brownfield.replication.wait(10)
        # CloudFront keeps that 403 for its ErrorCachingMinTTL: still 403 until it expires or is invalidated.
        assert get(brownfield, OHIO, "new/after-deploy.txt").status == 403
        assert brownfield.cloudfront is not None
        brownfield.cloudfront.clear_cache()  # an invalidation
        response = get(brownfield, OHIO, "new/after-deploy.txt")
    finally:
        brownfield.replication.lag_s = 0.0
    assert (response.status, response.body, served_by(brownfield)) == (200, b"written after the deploy", OHIO)
    assert response.header("x-amz-version-id") == version_id


def test_routes_with_every_region_passive_are_impossible(brownfield: LocalStack) -> None:
    assert brownfield.mrap is not None
    brownfield.mrap.routing.set_dial(OHIO, 0)
    try:
        with pytest.raises(AllPassiveRoutes):
            brownfield.mrap.routing.set_dial(LONDON, 0)
    finally:
        brownfield.reset()


# --- brownfield, without the rule ----------------------------------------------------------------------------------


def test_without_the_rule_an_active_empty_ohio_answers_403_for_every_existing_image(start_stack: StartStack) -> None:
    stack = start(start_stack, brownfield=True, passive_until_backfilled=False, client_regions=(HOUSTON,),
                  failover_region=LONDON)
    try:
        assert stack.mrap is not None and dict(stack.mrap.routing.current.dials) == {LONDON: 100, OHIO: 100}
        for key in IMAGES:
            response = get(stack, HOUSTON, key)
            # S3's 403 (no s3:ListBucket), which is not among the failover codes: the viewer gets it
            assert response.status == 403, key
            assert stack.mrap.received[-1].error_code == "AccessDenied"  # the viewer gets the generic error page
            assert served_by(stack) == OHIO
        assert 403 not in stack.settings.failover_codes
        assert stack.cloudfront is not None and all(s.origins == ["mrap"] for s in stack.cloudfront.served)
    finally:
        stack.stop()


# --- permissions -------------------------------------------------------------------------------------------------


def template_without_version_reads() -> dict:
    template = json.loads(TEMPLATE_FILE.read_text())
    changed = copy.deepcopy(template)
    for resource in ("FunctionRole", "MrapPolicy"):
        text = json.dumps(changed["Resources"][resource]).replace(', "s3:GetObjectVersion"', "")
        changed["Resources"][resource] = json.loads(text)
    assert "s3:GetObjectVersion" not in json.dumps(changed["Resources"]["MrapPolicy"])
    return changed


@pytest.fixture(scope="module")
def greenfield(start_stack: StartStack) -> LocalStack:
    return start(start_stack, client_regions=(LONDON, OHIO, HOUSTON))


def test_greenfield_buckets_share_version_ids(greenfield: LocalStack) -> None:
    london_version = version_in(greenfield, LONDON, "images/red.png")

    response = get(greenfield, OHIO, "images/red.png", f"versionId={quote(london_version, safe='')}")

    assert (response.status, response.body, served_by(greenfield)) == (200, SAMPLES["images/red.png"], OHIO)


def test_removing_get_object_version_from_the_template_makes_version_reads_403(start_stack: StartStack) -> None:
    stack = start(start_stack, client_regions=(LONDON,), policy_template=template_without_version_reads())
    try:
        version_id = version_in(stack, LONDON, "images/red.png")

        plain = get(stack, LONDON, "images/red.png")
        versioned = get(stack, LONDON, "images/red.png", f"versionId={quote(version_id, safe='')}")

        assert (plain.status, plain.body) == (200, SAMPLES["images/red.png"])
        assert versioned.status == 403 and stack.mrap.received[-1].error_code == "AccessDenied"
        assert stack.mrap is not None and stack.mrap.received[-1].verified  # the signature was good
    finally:
        stack.stop()


def test_the_failover_bucket_lets_this_distribution_read_and_no_one_else(greenfield: LocalStack) -> None:
    assert greenfield.mrap is not None and greenfield.access is not None
    assert greenfield.failover_endpoint is not None
    bucket = greenfield.buckets.buckets[greenfield.options.failover_region].bucket
    greenfield.mrap.forced_status = 503
    try:
        # origin access control for this distribution: served by the failover bucket, versions too
        version_id = version_in(greenfield, greenfield.options.failover_region, "images/red.png")
        served = get(greenfield, LONDON, "images/red.png")
        versioned = get(greenfield, LONDON, "images/red.png", f"versionId={quote(version_id, safe='')}")
        assert (served.status, served.body) == (200, SAMPLES["images/red.png"])
        assert versioned.status == 200
        # a bucket policy written for another distribution: S3 refuses CloudFront
        policies = greenfield.access.bucket_policies
        saved = policies[bucket]
        other = "arn:aws:cloudfront::123456789012:distribution/EOTHERDISTRIBUTION"
        policies[bucket] = Policy.parse("for another distribution",
                                        {"Statement": [cloudfront_read_statement(bucket, other)]})
        try:
            refused = get(greenfield, LONDON, "images/red.png")
        finally:
            policies[bucket] = saved
        assert refused.status == 403
        assert greenfield.failover_endpoint.received[-1].error_code == "AccessDenied"
    finally:
        greenfield.reset()


def test_the_functions_role_may_not_read_the_failover_bucket_directly(greenfield: LocalStack) -> None:
    assert greenfield.failover_endpoint is not None
    bucket = greenfield.failover_endpoint.bucket
    host, port = greenfield.failover_endpoint.addresses[LONDON]
    role = Credentials(greenfield.credentials.access_key_id, greenfield.credentials.secret_access_key,
                       greenfield.credentials.session_token)
    headers = signed_s3_headers("GET", bucket.virtual_host, "/images/red.png", [], bucket.region, role)

    status, _, _, body = send((host, port), "GET", "/images/red.png", headers, 10)

    assert status == 403 and b"<Code>AccessDenied</Code>" in body


# --- modelled delay ----------------------------------------------------------------------------------------------


def test_the_network_model_is_off_by_default() -> None:
    assert StackOptions().network_delay is False


def test_with_the_model_on_the_mrap_waits_the_round_trip_from_the_pop_to_the_region(greenfield: LocalStack) -> None:
    assert greenfield.mrap is not None
    slept: List[float] = []
    greenfield.mrap.network = NetworkModel(enabled=True, sleep=slept.append)
    try:
        assert get(greenfield, HOUSTON, "images/red.png").status == 200
        assert get(greenfield, LONDON, "images/red.png").status == 200
    finally:
        greenfield.mrap.network = greenfield.network
    assert slept == [latency_ms(HOUSTON, OHIO) / 1000, latency_ms(LONDON, LONDON) / 1000]
