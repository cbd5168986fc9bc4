"""`scripts/record-fixtures`: turn logged origin-request events into redacted test fixtures.

At DEBUG the function logs each incoming event as a JSON line with the event under the key "event". Lambda@Edge
writes those lines in the Region where the edge ran it, to /aws/lambda/us-east-1.<function>, so every Region is read.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from edge.log import redact_event  # the function's own redaction, applied again to what it logged

from ..version import VERSION
from .clients import HOME_REGION, ClientFactory, SessionClients, ToolError
from .edge_services import enabled_regions, log_group_name
from .errors import error_code, refusal, unexpected
from .stack import deployed_function_name

__all__ = ["log_group_name", "events_in_message", "record_fixtures", "function_name_of", "main"]

Say = Callable[[str], None]
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def events_in_message(message: str) -> Optional[Dict[str, Any]]:
    """The CloudFront event of a debug log line, or None for any other line."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        line = json.loads(message[start:])
    except ValueError:
        return None
    event = line.get("event") if isinstance(line, dict) else None
    if not isinstance(event, dict) or not event.get("Records"):
        return None
    return event


def _log_messages(logs: Any, group: str, start_ms: int) -> Iterator[str]:
    paginator = logs.get_paginator("filter_log_events")
    # A cheap server-side filter; the exact check is done on the parsed line.
    for page in paginator.paginate(logGroupName=group, startTime=start_ms, filterPattern='"Records"'):
        for event in page.get("events", []):
            yield event["message"]


def record_fixtures(clients: ClientFactory, function_name: str, out_dir: Path, regions: Optional[Sequence[str]] = None,
                    since_seconds: int = 3600, limit: int = 50, say: Say = print,
                    now: Callable[[], float] = time.time) -> List[Path]:
    group = log_group_name(function_name)
    start_ms = int((now() - since_seconds) * 1000)
    written: List[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for region in regions or enabled_regions(clients):
        found = 0
        try:
            for message in _log_messages(clients("logs", region), group, start_ms):
                event = events_in_message(message)
                if event is None:
                    continue
                request_id = str(event["Records"][0].get("cf", {}).get("config", {}).get("requestId", "unknown"))
                path = out_dir / f"recorded-{_SAFE_NAME.sub('_', request_id)[:16]}.json"
                path.write_text(json.dumps(redact_event(event), indent=2, sort_keys=True) + "\n", encoding="utf-8")
                written.append(path)
                found += 1
                if len(written) >= limit:
                    say(f"{region}: {found} event(s); limit of {limit} reached")
                    return written
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                continue  # no edge in this Region ran the function: no log group
            raise refusal(f"read {group} in {region}", error,
                          "the identity needs logs:FilterLogEvents; pass --regions to read fewer Regions") from None
        say(f"{region}: {found} event(s) from {group}")
    if not written:
        raise ToolError(f"unable to find debug events in {group}: deploy with log_level DEBUG and send requests first")
    return written


def function_name_of(clients: ClientFactory, stack_name: str) -> str:
    """The deployed function's name (the template gives each stack its own), from the stack's outputs."""
    name = deployed_function_name(clients, stack_name)
    if not name:
        raise ToolError(f"unable to find the function of stack {stack_name} in {HOME_REGION}: no such stack, or it "
                        "deploys none (native mode); pass --function-name")
    return name


def main(argv: Optional[Sequence[str]] = None, clients: Optional[ClientFactory] = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/record-fixtures", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    parser.add_argument("--stack-name", default="mrap-edge", help="read the function's name from this stack")
    parser.add_argument("--function-name", help="the function's name (default: the stack's FunctionName output)")
    parser.add_argument("--regions", help="comma-separated (default: every Region enabled in the account)")
    parser.add_argument("--since", type=int, default=3600, help="seconds back from now")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/events"))
    args = parser.parse_args(argv)
    try:
        regions = [r for r in args.regions.split(",") if r] if args.regions else None
        factory = clients or SessionClients()
        function_name = args.function_name or function_name_of(factory, args.stack_name)
        paths = record_fixtures(factory, function_name, args.out, regions, args.since, args.limit)
        print(f"wrote {len(paths)} fixture(s) to {args.out}")
    except ToolError as error:
        print(f"record-fixtures: {error}", file=sys.stderr)
        return 1
    except NoCredentialsError:
        print("record-fixtures: unable to find AWS credentials: run where they are set up (CloudShell, or after aws "
              "configure / aws sso login)", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"record-fixtures: {unexpected(error)}", file=sys.stderr)
        return 1
    return 0
