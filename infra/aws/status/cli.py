"""Argument parsing and exit status of `scripts/status`."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Sequence

from botocore.exceptions import BotoCoreError

from ...version import VERSION
from ..clients import ClientFactory
from ..errors import ToolError
from . import StatusOptions, run_request_path, run_status
from .checklist import render_json, render_text
from .facts import quick_clients
from .signing import SIGNED_FOR_SECONDS, url_signer

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/status",
        description="Check the whole chain (distribution, function, MRAP, buckets and replication, request path, "
                    "WAF) and print each check with its evidence and fix. Exit 0 only when every check holds. "
                    "Reads only: nothing is changed.")
    parser.add_argument("--stack-name", help="the deployed stack (default mrap-edge; with --url, only when given)")
    parser.add_argument("--key", help="also read this key of yours through the distribution (and a version of it)")
    parser.add_argument("--expect-region", metavar="REGION",
                        help="the Region whose bucket should serve this shell (e.g. the CloudShell's Region)")
    parser.add_argument("--url", help="probe this base URL instead of the distribution; without --stack-name only the "
                                      "request path is checked (no AWS calls), e.g. make demo's http://127.0.0.1:PORT")
    parser.add_argument("--my-ip", help="this shell's public address, for the WAF check (default: asked of "
                                        "checkip.amazonaws.com)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request through the distribution")
    parser.add_argument("--key-pair-id", help="when the behaviour requires signed URLs: the public key's id in its "
                                              "key group (the stack's SignedUrlKeyPairId1 output)")
    parser.add_argument("--private-key", type=Path, metavar="PEM",
                        help=f"with --key-pair-id: its private key; each request is signed for {SIGNED_FOR_SECONDS} s")
    parser.add_argument("--json", action="store_true", help="print the checklist as JSON")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    return parser


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None, **hooks: Any) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.key_pair_id is None) != (args.private_key is None):
        parser.error("--key-pair-id and --private-key go together")
    options = StatusOptions(stack_name=args.stack_name or "mrap-edge", key=args.key, expect_region=args.expect_region,
                            url=args.url, timeout=args.timeout, my_ip=args.my_ip)
    try:
        if args.key_pair_id:
            options = replace(options, sign=url_signer(args.key_pair_id, args.private_key))
        if args.url and args.stack_name is None:
            checklist = run_request_path(options)
        else:
            checklist = run_status(clients or quick_clients(), options, **hooks)
    except (ToolError, BotoCoreError) as error:
        message = str(error) if isinstance(error, ToolError) else (
            f"unable to call AWS: {error} (run where AWS credentials are set up, e.g. CloudShell, or use --url)")
        if args.json:
            print(json.dumps({"target": args.url or f"stack {options.stack_name}", "ok": False, "error": message}))
        print(f"status: {message}", file=sys.stderr)
        return 1
    sys.stdout.write(render_json(checklist) if args.json else render_text(checklist))
    return 0 if checklist.ok else 1
