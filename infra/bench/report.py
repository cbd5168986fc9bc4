"""How the figures are printed: the targets, one Markdown table per section, and a PASS/FAIL line per target.

Each report takes figures already measured and returns (lines, {target: met}); nothing here measures.
"""
from __future__ import annotations

import os
import platform
import statistics
from typing import Dict, List, Tuple

from .cold_start import ColdStart

__all__ = ["TARGETS", "Section", "load_note", "wall_clock_report", "warm_instruction_report", "cold_report",
           "cold_not_measured_report"]

TARGETS = {
    "warm_vs_floor": 1.5,  # wall clock, p50
    "warm_instructions_vs_floor": 1.35,
    "cold_instructions_vs_floor": 1.15,
    "naive_vs_warm": 100.0,
    "cold_vs_naive_cold": 0.5,
    "peak_rss_mb": 128.0,
}
MARK = {True: "PASS", False: "FAIL"}
Section = Tuple[List[str], Dict[str, bool]]


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} over 1 / 5 min on {os.cpu_count()} CPUs"


def _wall_clock_verdicts(r: Dict[str, float]) -> Tuple[Dict[str, float], Dict[str, bool]]:
    ratios = {
        "warm_vs_floor": r["handler_p50_us"] / r["floor_p50_us"],
        "naive_vs_warm": r["naive_p50_us"] / r["handler_p50_us"],
        "cold_vs_naive_cold": r["ours_cold_ms"] / r["naive_cold_ms"],
        "peak_rss_mb": r["ours_peak_rss_mb"],
    }
    ok = {
        "warm_vs_floor": ratios["warm_vs_floor"] <= TARGETS["warm_vs_floor"],
        "naive_vs_warm": ratios["naive_vs_warm"] >= TARGETS["naive_vs_warm"],
        "cold_vs_naive_cold": ratios["cold_vs_naive_cold"] <= TARGETS["cold_vs_naive_cold"],
        "peak_rss_mb": ratios["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
    }
    return ratios, ok


def _warm_row(r: Dict[str, float], label: str, name: str) -> str:
    return (f"| {label} | {r[f'{name}_p50_us']:.1f} µs | {r[f'{name}_p99_us']:.1f} µs "
            f"| {r[f'{name}_p50_us'] / r['floor_p50_us']:.2f}× floor |")


def wall_clock_report(r: Dict[str, float]) -> Section:
    """The warm contenders and the host's cold starts, from `wall_clock.measure`."""
    ratios, ok = _wall_clock_verdicts(r)
    lines = [
        f"## Warm, wall clock (noisy: {load_note()})",
        "",
        "| measurement | p50 | p99 | ratio |",
        "|---|---:|---:|---:|",
        _warm_row(r, "raw ECDSA P-256 signature (floor)", "floor"),
        _warm_row(r, "awscrt SigV4A signature alone (Signer.sign)", "awscrt"),
        _warm_row(r, "handler, plain key", "handler"),
        _warm_row(r, "handler, percent-encoded unicode key + query", "handler_encoded"),
        _warm_row(r, "handler, key + query to re-encode (raw unicode, lower-case escapes, `+`, `( ) !`)",
                  "handler_awkward"),
        f"| naive: boto3 Session + CrtS3SigV4AsymAuth per request | {r['naive_p50_us'] / 1000:.2f} ms "
        f"| {r['naive_p99_us'] / 1000:.2f} ms | {ratios['naive_vs_warm']:.0f}× slower than the handler |",
        f"| cold start, host Python from the source tree (import + first request) | ours {r['ours_cold_ms']:.0f} ms "
        f"| naive {r['naive_cold_ms']:.0f} ms | {ratios['cold_vs_naive_cold']:.2f}× naive |",
        f"| peak RSS (interpreter + 500 requests) | ours {r['ours_peak_rss_mb']:.1f} MB "
        f"| naive {r['naive_peak_rss_mb']:.1f} MB | {r['ours_peak_rss_mb'] / r['naive_peak_rss_mb']:.2f}× naive |",
        "",
        f"samples: floor {r['floor_samples']:.0f}, handler {r['handler_samples']:.0f}, naive {r['naive_samples']:.0f}",
        "",
        f"target warm p50 <= {TARGETS['warm_vs_floor']}x floor: {ratios['warm_vs_floor']:.2f}x "
        f"{MARK[ok['warm_vs_floor']]}",
        f"target >= {TARGETS['naive_vs_warm']:.0f}x faster than naive: {ratios['naive_vs_warm']:.0f}x "
        f"{MARK[ok['naive_vs_warm']]}",
        f"target cold start <= {TARGETS['cold_vs_naive_cold']}x naive: {ratios['cold_vs_naive_cold']:.2f}x "
        f"{MARK[ok['cold_vs_naive_cold']]}",
        f"target peak RSS <= {TARGETS['peak_rss_mb']:.0f} MB: {ratios['peak_rss_mb']:.1f} MB {MARK[ok['peak_rss_mb']]}",
    ]
    return lines, ok


def warm_instruction_report(per_call: Dict[str, float]) -> Section:
    """Instructions per call of the floor, awscrt alone and the handler, from `callgrind.warm_instructions`."""
    floor = per_call["floor"]
    ratio = per_call["handler"] / floor
    ok = {"warm_instructions_vs_floor": ratio <= TARGETS["warm_instructions_vs_floor"]}
    lines = [
        f"## Warm, instructions per request (callgrind; Python {platform.python_version()}, source tree)",
        "",
        "| measurement | instructions | ratio |",
        "|---|---:|---:|",
        f"| raw ECDSA P-256 signature (floor) | {floor / 1000:.0f}k | 1.00× |",
        f"| awscrt SigV4A signature alone (Signer.sign) | {per_call['awscrt'] / 1000:.0f}k "
        f"| {per_call['awscrt'] / floor:.2f}× floor |",
        f"| handler, plain key | {per_call['handler'] / 1000:.0f}k | {ratio:.2f}× floor |",
        "",
        f"target warm instructions <= {TARGETS['warm_instructions_vs_floor']}x floor: {ratio:.2f}x "
        f"{MARK[ok['warm_instructions_vs_floor']]}",
    ]
    return lines, ok


def _cold_summary(cold: ColdStart, ok: bool) -> List[str]:
    floor, ours, no_pyc = cold.counts[1][1], cold.counts[-1][1], cold.no_pyc
    return [
        f"ours / floor: {ours / floor:.2f}× (our own share {100 * (ours - floor) / floor:.0f} % of the floor); "
        f"without .pyc {no_pyc / floor:.2f}×",
        f"lever: the .pyc files save {(no_pyc - ours) / 1e6:.0f} M instructions, "
        f"{100 * (no_pyc - ours) / floor:.0f} % of the floor",
        f"target cold start <= {TARGETS['cold_instructions_vs_floor']}x floor: {ours / floor:.2f}x {MARK[ok]}",
        "",
        f"wall clock, exec to exit, median (min) of {len(cold.times['ours'])} runs each, interleaved "
        f"(noisy: {load_note()}): " + ", ".join(
            f"{name.replace('_', ' ')} {statistics.median(values) * 1000:.0f} ms ({min(values) * 1000:.0f})"
            for name, values in cold.times.items()),
    ]


def cold_report(cold: ColdStart) -> Section:
    """The deployment zip's cold start step by step, each against the `import _awscrt` floor."""
    floor, ours = cold.counts[1][1], cold.counts[-1][1]
    met = ours / floor <= TARGETS["cold_instructions_vs_floor"]
    lines = [
        f"## Cold start: {cold.zip_name} under CPython {cold.python_version} `-I -S -B`, read-only "
        "(callgrind instructions)",
        "",
        "| step | instructions | this step | × floor |",
        "|---|---:|---:|---:|",
    ]
    previous = 0
    for label, count in cold.counts:
        lines.append(f"| {label} | {count / 1e6:.0f} M | {(count - previous) / 1e6:+.1f} M | {count / floor:.2f}× |")
        previous = count
    lines += [
        f"| the same cold start without .pyc files (every module compiled) | {cold.no_pyc / 1e6:.0f} M "
        f"| {(cold.no_pyc - ours) / 1e6:+.1f} M | {cold.no_pyc / floor:.2f}× |",
        "",
        *_cold_summary(cold, met),
    ]
    return lines, {"cold_instructions_vs_floor": met}


def cold_not_measured_report(reason: str) -> Section:
    return [f"## Cold start: not measured: {reason}"], {"cold_instructions_vs_floor": False}
