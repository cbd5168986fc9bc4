"""The reports: ratios against the right floor, and a target met or missed where the figures say so."""
from __future__ import annotations

from typing import Dict

from infra.bench.cold_start import ColdStart
from infra.bench.report import cold_not_measured_report, cold_report, wall_clock_report, warm_instruction_report

COUNTS = [("interpreter", 34_000_000), ("floor", 454_000_000), ("awscrt", 500_000_000), ("ours", 520_000_000)]
TIMES = {"interpreter": [0.05], "floor": [0.2], "ours": [0.25], "ours_no_pyc": [0.3]}


def test_the_cold_start_report_divides_by_the_import_awscrt_floor() -> None:
    lines, ok = cold_report(ColdStart("3.13.0", "mrap-edge-x.zip", COUNTS, 650_000_000, TIMES))
    text = "\n".join(lines)
    assert ok == {"cold_instructions_vs_floor": True}  # 520 / 454 = 1.145
    assert "ours / floor: 1.15× (our own share 15 % of the floor); without .pyc 1.43×" in text
    assert "the .pyc files save 130 M instructions, 29 % of the floor" in text
    assert "| ours | 520 M | +20.0 M | 1.15× |" in text
    _, ok = cold_report(ColdStart("3.13.0", "mrap-edge-x.zip", COUNTS[:-1] + [("ours", 530_000_000)], 650_000_000,
                                  TIMES))
    assert ok == {"cold_instructions_vs_floor": False}


def test_a_cold_start_not_measured_is_a_missed_target_that_says_why() -> None:
    lines, ok = cold_not_measured_report("no CPython 3.13 found")
    assert lines == ["## Cold start: not measured: no CPython 3.13 found"]
    assert ok == {"cold_instructions_vs_floor": False}


def test_the_warm_instruction_report_divides_by_the_ecdsa_floor() -> None:
    lines, ok = warm_instruction_report({"floor": 100_000, "awscrt": 120_000, "handler": 134_000})
    assert ok == {"warm_instructions_vs_floor": True}
    assert "| handler, plain key | 134k | 1.34× floor |" in lines
    _, ok = warm_instruction_report({"floor": 100_000, "awscrt": 120_000, "handler": 136_000})
    assert ok == {"warm_instructions_vs_floor": False}


def wall_clock_figures(handler_p50: float, naive_p50: float, ours_cold: float, rss: float) -> Dict[str, float]:
    figures = {f"{name}_{kind}": value for name in ("floor", "awscrt", "handler", "handler_encoded",
                                                    "handler_awkward", "naive")
               for kind, value in (("p50_us", 50.0), ("p99_us", 80.0), ("samples", 1000.0))}
    figures.update({"handler_p50_us": handler_p50, "naive_p50_us": naive_p50, "ours_cold_ms": ours_cold,
                    "naive_cold_ms": 400.0, "ours_peak_rss_mb": rss, "naive_peak_rss_mb": 90.0})
    return figures


def test_the_wall_clock_report_judges_each_target() -> None:
    lines, ok = wall_clock_report(wall_clock_figures(70.0, 7_500.0, 190.0, 40.0))
    assert ok == {"warm_vs_floor": True, "naive_vs_warm": True, "cold_vs_naive_cold": True, "peak_rss_mb": True}
    assert "| handler, plain key | 70.0 µs | 80.0 µs | 1.40× floor |" in lines
    _, ok = wall_clock_report(wall_clock_figures(80.0, 7_500.0, 210.0, 130.0))
    assert ok == {"warm_vs_floor": False, "naive_vs_warm": False, "cold_vs_naive_cold": False, "peak_rss_mb": False}
