"""A program, never imported: `wall_clock.host_cold_start` runs it in a fresh interpreter as
`python cold_child.py ours|naive EVENT_JSON WARM_REQUESTS` from the source tree.

It times the import and the first request (the cold start), then serves WARM_REQUESTS more, and prints one JSON
line: the cold start in seconds and the peak RSS. Peak RSS is read from VmHWM: ru_maxrss would carry over the
parent's peak across fork and exec.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable, Dict

Handler = Callable[[Dict[str, Any], Any], Dict[str, Any]]


def main() -> None:
    start = time.perf_counter()
    handler: Handler
    if sys.argv[1] == "ours":
        from edge.handler import lambda_handler as handler
    else:
        from infra.bench.naive_signer import naive_handler as handler
    result = handler(json.loads(sys.argv[2]), None)
    cold = time.perf_counter() - start
    assert "authorization" in result["headers"], result
    for _ in range(int(sys.argv[3])):
        handler(json.loads(sys.argv[2]), None)
    with open("/proc/self/status") as status:
        hwm = [line for line in status if line.startswith("VmHWM:")][0]
    print(json.dumps({"cold_s": cold, "peak_rss_kb": int(hwm.split()[1])}))


if __name__ == "__main__":
    main()
