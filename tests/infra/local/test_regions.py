"""Routes (the MRAP failover controls) and where each client location is routed."""
from __future__ import annotations

import pytest

from infra.local.regions import HOUSTON, POPS, AllPassiveRoutes, RoutingState, latency_ms
from infra.local.stack import LocalStack, StackOptions


def test_houston_is_an_edge_location_routed_to_ohio_before_london() -> None:
    routing = RoutingState(("eu-west-2", "us-east-2")).current

    assert POPS[HOUSTON].code.startswith("IAH")
    assert routing.choose(HOUSTON) == "us-east-2"
    assert latency_ms(HOUSTON, "us-east-2") < latency_ms(HOUSTON, "eu-west-2")


def test_a_passive_region_gets_no_traffic_from_anyone() -> None:
    state = RoutingState(("eu-west-2", "us-east-2"), {"us-east-2": 0})

    assert {state.current.choose(client) for client in ("eu-west-2", "us-east-2", HOUSTON)} == {"eu-west-2"}


@pytest.mark.parametrize("how", ["at-start", "later"])
def test_routes_with_every_region_passive_are_refused(how: str) -> None:
    with pytest.raises(AllPassiveRoutes, match="at least one Region"):
        if how == "at-start":
            RoutingState(("eu-west-2", "us-east-2"), {"eu-west-2": 0, "us-east-2": 0})
        else:
            state = RoutingState(("eu-west-2", "us-east-2"), {"us-east-2": 0})
            state.set_dial("eu-west-2", 0)


def test_reset_returns_to_the_configured_routes() -> None:
    state = RoutingState(("eu-west-2", "us-east-2"), {"us-east-2": 0})
    state.set_dial("us-east-2", 100)  # a test's or the demo's change
    state.reset()
    assert dict(state.current.dials) == {"eu-west-2": 100, "us-east-2": 0}

    state.set_dial("us-east-2", 100, configured=True)  # what a deploy step submits
    state.set_dial("eu-west-2", 0)
    state.reset()
    assert dict(state.current.dials) == {"eu-west-2": 100, "us-east-2": 100}


def test_houston_is_a_client_location_not_a_bucket_region() -> None:
    with pytest.raises(ValueError, match="unable to place a bucket in houston"):
        LocalStack(StackOptions(regions=("eu-west-2", HOUSTON), failover_region="eu-west-2"))
