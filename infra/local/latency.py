"""Modelled network delay: what a request would spend on the network between a client, an edge location and a
Region, from the round-trip table in `regions.py` (published inter-Region medians; Houston estimated from distance).

Nothing here is measured: on one machine every hop is a loopback connection. When the model is on, the stand-ins
sleep for the hops they own, so that end-to-end times in the demo have the geography the product exists for:

- CloudFront POP -> MRAP -> bucket Region: one round trip per request (CloudFront keeps its origin connections
  open, so no handshakes), slept by the MRAP stand-in for the Region it routed to;
- CloudFront POP -> failover bucket: one round trip, slept by the bucket endpoint stand-in;
- client -> POP or client -> bucket (a presigned URL): a new HTTPS connection costs three round trips (TCP
  handshake, TLS 1.3 handshake, the request itself); slept by the demo's client before it sends.

Not modelled: bandwidth and object size, packet loss, Global Accelerator's own hop, the function's invocation hop to
the Regional edge cache, DNS. The model is off by default (tests and load tests stay fast) and is switched on by
`StackOptions.network_delay` or `make demo ARGS=--latency`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, List, Tuple

from infra.local.regions import POPS, latency_ms

__all__ = ["NEW_CONNECTION_ROUND_TRIPS", "NetworkModel", "PathEstimate", "direct_path", "cloudfront_path"]

# TCP handshake + TLS 1.3 handshake + the request: a client with no open connection to the endpoint.
NEW_CONNECTION_ROUND_TRIPS = 3


@dataclass(frozen=True)
class NetworkModel:
    """Round trips between locations (a Region or a POP location key of `regions.POPS`), slept when enabled."""

    enabled: bool = False
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    @staticmethod
    def rtt_ms(a: str, b: str) -> int:
        return latency_ms(a, b)

    def wait(self, a: str, b: str, round_trips: int = 1) -> float:
        """Sleep for `round_trips` between a and b when the model is on; returns the modelled milliseconds."""
        ms = float(self.rtt_ms(a, b) * round_trips)
        if self.enabled and ms > 0:
            self.sleep(ms / 1000)
        return ms


@dataclass(frozen=True)
class PathEstimate:
    """The modelled network time of one GET by a client at `client`, hop by hop."""

    client: str
    route: str
    served_by: str
    hops: Tuple[Tuple[str, int], ...]  # (hop, milliseconds)

    @property
    def total_ms(self) -> int:
        return sum(ms for _, ms in self.hops)


def direct_path(client: str, bucket_region: str) -> PathEstimate:
    """A presigned URL: the client connects to the bucket's Regional endpoint itself."""
    rtt = latency_ms(client, bucket_region)
    return PathEstimate(client, "presigned URL, straight to the bucket", bucket_region,
                        ((f"{client} -> {bucket_region} (new connection)", NEW_CONNECTION_ROUND_TRIPS * rtt),))


def cloudfront_path(client: str, bucket_region: str) -> PathEstimate:
    """Through the POP nearest the client (its own location) and the MRAP to `bucket_region`."""
    pop = POPS[client].code
    hops: List[Tuple[str, int]] = [
        (f"{client} -> {pop} (new connection)", NEW_CONNECTION_ROUND_TRIPS * latency_ms(client, client)),
        (f"{pop} -> MRAP -> {bucket_region} (kept-alive origin connection)", latency_ms(client, bucket_region)),
    ]
    return PathEstimate(client, "CloudFront + MRAP", bucket_region, tuple(hops))
