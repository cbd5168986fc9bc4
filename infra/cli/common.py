"""What every AWS command shares: the exit codes, the one-line error, Ctrl-C, the confirmation, --version."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from infra.aws.errors import ToolError, unexpected
from infra.version import VERSION

__all__ = ["EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "EXIT_NOT_YET", "EXIT_INTERRUPTED", "EXIT_CODES", "Confirm",
           "parser_for", "run", "confirmation", "print_json"]

# The exit codes of every command, one table.
EXIT_OK = 0
EXIT_REFUSED = 1  # a refusal: bad input, AWS said no, not confirmed; one line on stderr says why
EXIT_USAGE = 2  # argparse: unknown or contradictory options
EXIT_NOT_YET = 3  # done what could be done, and something is still under way (a backfill, replicas at the edge)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it
EXIT_CODES = {EXIT_OK: "done", EXIT_REFUSED: "refused (one line on stderr says why)",
              EXIT_USAGE: "usage error", EXIT_NOT_YET: "still under way (run again later)",
              EXIT_INTERRUPTED: "interrupted (Ctrl-C)"}

Confirm = Callable[[str], bool]


def parser_for(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog="exit codes: " + "; ".join(
        f"{code} {meaning}" for code, meaning in EXIT_CODES.items()))
    parser.add_argument("--version", action="version", version=f"{prog} {VERSION}")
    return parser


def run(prog: str, body: Callable[[], int], interrupted: str = "nothing more was started") -> int:
    """Run a command's body: its exit code, or one line on stderr and the code of the table for a refusal, an AWS
    error or Ctrl-C (`interrupted` says what is left in AWS then)."""
    try:
        return body()
    except ToolError as error:
        print(f"{prog}: {error}", file=sys.stderr)
    except (ClientError, BotoCoreError) as error:
        print(f"{prog}: {unexpected(error)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted; {interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_REFUSED


def _ask(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def confirmation(yes: bool, dry_run: bool, interactive: Optional[bool] = None,
                 ask: Optional[Confirm] = None) -> Optional[Confirm]:
    """None when there is nothing to ask (--yes, --dry-run); a terminal: ask; else refuse, saying what to pass."""
    if yes or dry_run:
        return None
    tty = sys.stdin.isatty() if interactive is None else interactive
    if tty:
        return ask or _ask

    def refuse(question: str) -> bool:
        raise ToolError("refusing to change anything without confirmation: no terminal to ask on; pass --yes (or "
                        "--dry-run to see what would change)")
    return refuse


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=1, sort_keys=True, default=str))
