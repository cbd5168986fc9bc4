"""The command-line tools for people: `scripts/sign-url` and `scripts/cloudfront-keys`. Bad input is one line on
stderr and exit status 2; a private key is never printed."""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import __version__
from .keys import (
    KEY_TYPES,
    SLOT_PARAMETERS,
    KeyFileError,
    generate_key_pair,
    rotation_plan,
    slot_parameters,
    template_parameter_names,
    update_command,
    write_parameters,
)
from .signer import LinkSigner, SignedLinksError

__all__ = ["sign_url_main", "cloudfront_keys_main"]

# The project's template, when the tools run from a checkout.
TEMPLATE = Path(__file__).resolve().parents[1] / "cloudformation.template"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> "None":  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}\n")


def _moment(text: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time (e.g. 2026-12-31T23:00:00Z): {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time zone (e.g. a trailing Z for UTC): {text!r}")
    return moment


def sign_url_main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _Parser(prog="sign-url", description="Print a CloudFront signed URL (or signed cookies) for URL.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("url", help="the CloudFront URL, percent-encoded, e.g. https://d111111abcdef8.cloudfront.net/a.png")
    parser.add_argument("--key-pair-id", required=True, help="the public key's id in the key group (K...)")
    parser.add_argument("--private-key", required=True, type=Path, help="PEM private key file")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--expires-in", type=int, metavar="SECONDS", help="valid for this many seconds from now")
    when.add_argument("--expires-at", type=_moment, metavar="TIME", help="valid until this ISO 8601 time")
    parser.add_argument("--ip-range", help="custom policy: only viewers in this IPv4 address or CIDR range")
    parser.add_argument("--resource", help="custom policy: the resource pattern (* and ? wildcards) to sign")
    parser.add_argument("--not-before", type=_moment, metavar="TIME", help="custom policy: not valid before")
    parser.add_argument("--sha1", action="store_true", help="hash with SHA-1 (CloudFront's default) not SHA-256")
    parser.add_argument("--cookies", action="store_true",
                        help="print the signed cookies for URL (a resource pattern) as one Cookie header value")
    args = parser.parse_args(argv)
    try:
        signer = LinkSigner.from_pem_file(args.key_pair_id, args.private_key,
                                          hash_algorithm="SHA1" if args.sha1 else "SHA256")
        conditions = dict(expires_in=args.expires_in, expires_at=args.expires_at, ip_range=args.ip_range,
                          not_before=args.not_before)
        if args.cookies:
            if args.resource:
                raise SignedLinksError("with --cookies the URL argument is the resource; drop --resource")
            cookies = signer.cookies(args.url, **conditions)
            print("; ".join(f"{name}={value}" for name, value in cookies.items()))
        else:
            print(signer.url(args.url, resource=args.resource, **conditions))
    except SignedLinksError as error:
        print(f"sign-url: {error}", file=sys.stderr)
        return 2
    return 0


def cloudfront_keys_main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _Parser(prog="cloudfront-keys", description="Key pairs for CloudFront signed URLs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write a new key pair (private key mode 0600)")
    rotate = commands.add_parser("rotate", help="write a new key pair and print the rotation steps")
    for command in (generate, rotate):
        command.add_argument("--type", choices=KEY_TYPES, default="ecdsa",
                             help="ecdsa (P-256, shorter links) or rsa (2048); default ecdsa")
        command.add_argument("--out", type=Path, default=Path("cloudfront-signing-key"), metavar="PREFIX",
                             help="write PREFIX.pem (private), PREFIX.pub.pem (public) and the parameter files")
        command.add_argument("--template", type=Path, default=TEMPLATE,
                             help="the stack's template, for the names of its parameters")
        command.add_argument("--stack-name", default="mrap-edge")
    rotate.add_argument("--current-slot", type=int, choices=(1, 2), required=True,
                        help="which parameter holds it now: 1 = SignedUrlPublicKey1, 2 = SignedUrlPublicKey2")
    args = parser.parse_args(argv)
    try:
        names = template_parameter_names(args.template)
        for suffix in ((".parameters.json",) if args.command == "generate"
                       else (".step1.parameters.json", ".step3.parameters.json")):
            if Path(f"{args.out}{suffix}").exists():
                raise KeyFileError(f"{args.out}{suffix} already exists; not overwriting it (choose another --out)")
        files = generate_key_pair(args.out, args.type)
        print(f"private key: {files.private_key} (mode 0600; keep it with the application, never in the stack)")
        print(f"public key:  {files.public_key}")
        if args.command == "generate":
            document = write_parameters(Path(f"{args.out}.parameters.json"),
                                        slot_parameters({"SignedUrlPublicKey1": files.public_pem}, names))
            print("Put the public key in key slot 1 of the stack (nothing else changes):")
            print("   " + update_command(args.stack_name, document))
            print("then sign links with the private key and the stack output SignedUrlKeyPairId1.")
        else:
            old, new = SLOT_PARAMETERS[args.current_slot - 1], SLOT_PARAMETERS[2 - args.current_slot]
            step1 = write_parameters(Path(f"{args.out}.step1.parameters.json"),
                                     slot_parameters({new: files.public_pem}, names))
            step3 = write_parameters(Path(f"{args.out}.step3.parameters.json"),
                                     slot_parameters({old: ""}, names))
            for line in rotation_plan(args.current_slot, step1, step3, args.stack_name):
                print(line)
    except KeyFileError as error:
        print(f"cloudfront-keys: {error}", file=sys.stderr)
        return 2
    return 0
