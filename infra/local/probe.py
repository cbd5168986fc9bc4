"""The Region check as a client sees it: real curl against the distribution, reading which bucket answered from
the probe object's body and CloudFront's x-cache / x-amz-cf-pop headers."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import List, Optional

from infra.local.samples import PROBE_KEY

__all__ = ["ProbeResult", "curl_probe", "format_table"]

# curl prints the response headers (-D -), then this line; the body goes to stdout after a marker.
_WRITE_OUT = "\n--mrap-edge--\n%{http_code} %{time_connect} %{time_starttransfer} %{time_total}"


@dataclass(frozen=True)
class ProbeResult:
    client_region: str
    status: int
    x_cache: str
    pop: str
    bucket: str
    bucket_region: str
    total_ms: float
    first_byte_ms: float


def curl_probe(base_url: str, client_region: str, path: str = "/" + PROBE_KEY, timeout_s: float = 30) -> ProbeResult:
    completed = subprocess.run(
        ["curl", "-sS", "--max-time", str(int(timeout_s)), "-D", "-", "-w", _WRITE_OUT, base_url + path],
        capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"unable to reach {base_url}: curl exited {completed.returncode}: "
                           f"{completed.stderr.strip()}")
    response, _, timings = completed.stdout.rpartition("\n--mrap-edge--\n")
    # text mode turns curl's CRLF into LF
    head, _, body = response.partition("\n\n")
    lines = [line.split(":", 1) for line in head.split("\n")[1:] if ":" in line]
    headers = {name.strip().lower(): value.strip() for name, value in lines}
    status, _connect, first_byte, total = timings.split()
    probe = _probe_body(body)
    return ProbeResult(
        client_region=client_region,
        status=int(status),
        x_cache=headers.get("x-cache", ""),
        pop=headers.get("x-amz-cf-pop", ""),
        bucket=probe.get("bucket", "-") if probe else "-",
        bucket_region=probe.get("region", "-") if probe else "-",
        total_ms=float(total) * 1000,
        first_byte_ms=float(first_byte) * 1000,
    )


def _probe_body(body: str) -> Optional[dict]:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def format_table(results: List[ProbeResult]) -> str:
    rows = [("client", "pop", "status", "x-cache", "bucket", "bucket region", "ttfb ms", "total ms")]
    rows += [(r.client_region, r.pop, str(r.status), r.x_cache, r.bucket, r.bucket_region,
              f"{r.first_byte_ms:.1f}", f"{r.total_ms:.1f}") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)
