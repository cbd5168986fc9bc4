"""The modelled network delay: the figures it uses and when it sleeps them."""
from __future__ import annotations

from typing import List

from infra.local.latency import NEW_CONNECTION_ROUND_TRIPS, NetworkModel, cloudfront_path, direct_path
from infra.local.regions import HOUSTON, SAME_REGION_MS, latency_ms


def test_the_houston_colleague_is_faster_through_cloudfront_to_ohio_than_straight_to_london() -> None:
    direct = direct_path(HOUSTON, "eu-west-2")
    through = cloudfront_path(HOUSTON, "us-east-2")

    assert direct.total_ms == NEW_CONNECTION_ROUND_TRIPS * latency_ms(HOUSTON, "eu-west-2")
    # a new connection to the nearby POP, then one round trip on CloudFront's open origin connection to Ohio
    assert through.total_ms == NEW_CONNECTION_ROUND_TRIPS * SAME_REGION_MS + latency_ms(HOUSTON, "us-east-2")
    assert through.total_ms < direct.total_ms / 5
    # routed to London (before the backfill), CloudFront still saves the handshakes across the Atlantic
    assert cloudfront_path(HOUSTON, "eu-west-2").total_ms < direct.total_ms


def test_the_london_colleague_pays_one_round_trip_more_through_cloudfront() -> None:
    assert cloudfront_path("eu-west-2", "eu-west-2").total_ms - direct_path("eu-west-2", "eu-west-2").total_ms \
        == SAME_REGION_MS


def test_the_model_is_off_by_default_and_sleeps_only_when_on() -> None:
    slept: List[float] = []

    assert NetworkModel().enabled is False
    assert NetworkModel(sleep=slept.append).wait(HOUSTON, "eu-west-2", 3) == 3 * latency_ms(HOUSTON, "eu-west-2")
    assert slept == []
    NetworkModel(enabled=True, sleep=slept.append).wait(HOUSTON, "eu-west-2", 3)
    assert slept == [3 * latency_ms(HOUSTON, "eu-west-2") / 1000]
