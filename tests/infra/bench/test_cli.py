"""The benchmark command: its version, and the smallest run of its wall-clock section end to end."""
from __future__ import annotations

import subprocess
import sys

from infra.bench.contenders import ROOT
from infra.version import VERSION


def bench(*args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "scripts.bench", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_the_command_names_its_version() -> None:
    done = bench("--version")
    assert (done.returncode, done.stdout) == (0, f"bench {VERSION}\n")


def test_the_smallest_run_prints_every_wall_clock_figure_and_a_verdict() -> None:
    done = bench("--no-instructions", "--rounds", "1", "--cold-runs", "1", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "## Warm, wall clock" in done.stdout and "## Cold start" not in done.stdout
    for figure in ("handler_p50_us", "naive_p50_us", "ours_cold_ms", "naive_cold_ms", "ours_peak_rss_mb"):
        assert f'"{figure}": ' in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith(("ALL TARGETS MET", "SOME TARGETS MISSED: "))
