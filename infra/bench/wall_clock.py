"""Wall-clock figures: the warm contenders in interleaved batches, and the host's cold start of ours and of the
naive signer from the source tree (fresh interpreters, interleaved). Noisy, and labelled so in the report."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Literal

from .contenders import BATCH, FAKE_ENV, ROOT, load_event, warm_contenders

__all__ = ["percentile", "host_cold_start", "measure"]

WARM_UP_CALLS = 20
Contender = Literal["ours", "naive"]
# Requests served after the cold one, before the peak RSS is read.
WARM_REQUESTS: Dict[Contender, int] = {"ours": 500, "naive": 50}


def _time_batch(call: Callable[[], object], count: int, into: List[float]) -> None:
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        call()
        into.append((clock() - start) / 1000.0)


def percentile(samples: List[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def host_cold_start(which: Contender, event: Dict[str, Any]) -> Dict[str, float]:
    """One fresh interpreter: the cold start of `which` and its peak RSS (cold_child.py)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **FAKE_ENV)
    done = subprocess.run([sys.executable, "-m", "infra.bench.cold_child", which, json.dumps(event),
                           str(WARM_REQUESTS[which])], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    figures: Dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _warm_samples(rounds: int) -> Dict[str, List[float]]:
    contenders = warm_contenders()
    samples: Dict[str, List[float]] = {name: [] for name in contenders}
    for call in contenders.values():  # warm up caches, lazy imports, the per-container signer
        for _ in range(WARM_UP_CALLS):
            call()
    for _ in range(rounds):
        for name, call in contenders.items():
            _time_batch(call, BATCH[name], samples[name])
    return samples


def measure(rounds: int, cold_runs: int) -> Dict[str, float]:
    """p50, p99 and sample count of each warm contender (µs); median cold start (ms) and peak RSS (MB) of each."""
    os.environ.update(FAKE_ENV)
    samples = _warm_samples(rounds)
    plain = load_event("mrap-get")
    ours_cold, naive_cold = [], []
    for _ in range(cold_runs):  # interleaved, like the warm batches
        ours_cold.append(host_cold_start("ours", plain))
        naive_cold.append(host_cold_start("naive", plain))
    result = {f"{name}_p50_us": percentile(values, 0.50) for name, values in samples.items()}
    result.update({f"{name}_p99_us": percentile(values, 0.99) for name, values in samples.items()})
    result.update({f"{name}_samples": float(len(values)) for name, values in samples.items()})
    result["ours_cold_ms"] = statistics.median(run["cold_s"] for run in ours_cold) * 1000
    result["naive_cold_ms"] = statistics.median(run["cold_s"] for run in naive_cold) * 1000
    result["ours_peak_rss_mb"] = max(run["peak_rss_kb"] for run in ours_cold) / 1024
    result["naive_peak_rss_mb"] = max(run["peak_rss_kb"] for run in naive_cold) / 1024
    return result
