"""The packaging command, `scripts/package`: `make package ARGS="--runtime python3.12 --log-level INFO"`.

Progress goes to stderr; the summary (runtime, wheels, bytecode, size, SHA-256, path) to stdout. Any refusal or
failed check exits 1 with one line saying why.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from edge.errors import ConfigError
from infra.version import VERSION

from . import build, function, target
from .errors import PackagingError

__all__ = ["main"]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="package", description="Build the Lambda@Edge deployment zip.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    parser.add_argument("--runtime", default=target.DEFAULT_RUNTIME,
                        help=f"Lambda runtime to build for: {', '.join(target.RUNTIMES)} (default %(default)s)")
    parser.add_argument("--arch", default=target.ARCH, help="only x86_64: Lambda@Edge has no arm64")
    parser.add_argument("--requirements", type=Path, default=function.REPO_ROOT / "requirements.txt",
                        help="pinned runtime requirements (default: requirements.txt)")
    parser.add_argument("--out-dir", type=Path, default=Path("dist"), help="where the zip goes (default dist)")
    parser.add_argument("--config", type=Path, help="JSON configuration file; the options below override its keys")
    parser.add_argument("--failover-header", help="origin custom header that marks the failover origin")
    parser.add_argument("--mrap-host-pattern", action="append", help="MRAP host to sign, '*' = one label (repeatable)")
    parser.add_argument("--query-param", action="append", help="query parameter passed to S3 (repeatable)")
    parser.add_argument("--method", action="append", help="method to sign: GET, HEAD, OPTIONS (repeatable)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--check-python", help="CPython of the target's version: compiles the .pyc files and runs the "
                                               "isolation check (default: python3.X on PATH, else pyenv's)")
    parser.add_argument("--require-pyc", action="store_true",
                        help="refuse to build without .pyc files when no CPython of the target's version is found")
    parser.add_argument("--pip-cache-dir", type=Path, help="pip's download cache (default: pip's own)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    given = {
        "failover_header": args.failover_header,
        "mrap_host_patterns": args.mrap_host_pattern,
        "query_allowlist": args.query_param,
        "allowed_methods": args.method,
        "log_level": args.log_level,
    }
    try:
        target.python_version(args.runtime)
        target.check_arch(args.arch)
        config = function.resolve_config(args.config, {k: v for k, v in given.items() if v is not None})
        result = build.build_package(
            args.runtime, config, args.out_dir, args.requirements, arch=args.arch, cache_dir=args.pip_cache_dir,
            check_python=args.check_python, require_bytecode=args.require_pyc,
            progress=lambda message: print(f"package: {message}", file=sys.stderr),
        )
    except (PackagingError, ConfigError) as error:
        print(f"package: refused: {error}", file=sys.stderr)
        return 1
    print(build.summary(result))
    return 0
