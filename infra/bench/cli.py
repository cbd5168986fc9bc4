"""The benchmark command, `make bench` (`python -m scripts.bench`): which sections run, in which order, and the
verdict. Prints Markdown; exits 1 on a missed target only with --strict."""
from __future__ import annotations

import argparse
import json
import os
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from infra.version import VERSION

from . import callgrind, cold_start, report, wall_clock

__all__ = ["main"]


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description="Benchmark: the handler against its floors, warm and "
                                                              "cold, and against a naive signer, in one run.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    parser.add_argument("--rounds", type=int, default=25, help="interleaved rounds of warm batches")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters per contender (wall clock)")
    parser.add_argument("--zip", type=Path, help=f"{cold_start.COLD_RUNTIME} deployment zip to measure "
                                                 "(default: build one)")
    parser.add_argument("--python", help=f"CPython for the {cold_start.COLD_RUNTIME} cold start (default: on PATH, "
                                         "else pyenv's)")
    parser.add_argument("--warm-calls", type=int, default=300, help="calls per contender counted by callgrind")
    parser.add_argument("--no-instructions", action="store_true",
                        help="skip the callgrind counts (warm and cold); wall clock only")
    parser.add_argument("--json", action="store_true", help="print the raw wall-clock figures as JSON too")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def _cold_section(args: argparse.Namespace) -> report.Section:
    measured = cold_start.measure_cold_start(args.zip, args.python, args.cold_runs)
    if isinstance(measured, cold_start.NotMeasured):
        return report.cold_not_measured_report(measured.reason)
    return report.cold_report(measured)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    print(f"mrap-edge benchmark: host Python {platform.python_version()}, awscrt {version('awscrt')}, "
          f"cryptography {version('cryptography')}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{report.load_note()}\n")
    sections: List[Callable[[], report.Section]] = []
    if not args.no_instructions:
        if not callgrind.valgrind_found():
            print("instructions: not counted: valgrind is not installed (apt-get install valgrind)\n")
        else:
            sections.append(lambda: _cold_section(args))
            sections.append(lambda: report.warm_instruction_report(callgrind.warm_instructions(args.warm_calls)))
    figures: Dict[str, float] = {}

    def wall_clock_section() -> report.Section:
        figures.update(wall_clock.measure(args.rounds, args.cold_runs))
        return report.wall_clock_report(figures)

    sections.append(wall_clock_section)
    ok: Dict[str, bool] = {}
    for section in sections:
        lines, passed = section()
        ok.update(passed)
        print("\n".join(lines) + "\n", flush=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    print("ALL TARGETS MET" if all(ok.values()) else
          "SOME TARGETS MISSED: " + ", ".join(name for name, passed in ok.items() if not passed))
    return 1 if args.strict and not all(ok.values()) else 0
