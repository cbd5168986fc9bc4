"""Thin entry point of `make bench` (`python -m scripts.bench`): see infra/bench/."""
import sys

from infra.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
