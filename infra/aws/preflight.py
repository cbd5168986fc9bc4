"""Everything deploy can check before it packages, uploads or changes anything: one call at the top of `deploy()`.

The limits come from where they are decided: the template's parameter constraints (AllowedValues, AllowedPattern,
MinValue/MaxValue, MaxLength) for every parameter deploy passes, S3's canonical URI rule (`edge.canonical`) for the
origin path, the bucket rules in `regions`. Only reads: with `--dry-run` it runs and prints the same, and the one AWS
call it makes (the deployed stack's parameters, to refuse a change of an MRAP's Regions) is a describe.

Refusals raise one `ToolError` listing every problem, one line each; warnings are printed and returned.
"""
from __future__ import annotations

import ipaddress
import json
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set

from edge.canonical import canonical_uri
from edge.errors import MrapEdgeError

from .clients import ClientFactory
from .errors import ToolError
from .regions import PRICE_CLASSES, Bucket, bucket_name_problem, price_class_for
from .stack import check_mrap_change, check_template_size

__all__ = [
    "LOG_RETENTION_DAYS",
    "MAX_OAC_NAME",
    "OAC_SUFFIXES",
    "check_parameters",
    "check_names",
    "check_cidrs",
    "check_origin_path",
    "check_log_retention",
    "zip_runtimes",
    "check_zip",
    "price_class_warnings",
    "preflight",
]

Say = Callable[[str], None]

# CloudFront limits an origin access control's name to 64 characters; the template names two after the stack.
MAX_OAC_NAME = 64
OAC_SUFFIXES = ("-failover", "-mrap-sigv4a")
# CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128 characters.
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
# The values CloudWatch Logs accepts for a retention (PutRetentionPolicy); 0 here means "leave the groups alone".
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)
# Deploy options by template parameter, so that a refusal names what the user typed.
_OPTION = {
    "MrapName": "--mrap-name", "FunctionName": "--function-name", "Runtime": "--runtime", "MemorySize": "--memory",
    "Timeout": "--timeout", "PriceClass": "--price-class", "AllowedIpv4Cidrs": "--allowed-cidrs",
    "OriginPath": "--origin-path", "FailoverStatusCodes": "--failover-status-codes", "BucketNames": "--buckets",
    "BucketRegions": "--buckets", "CodeBucket": "--code-bucket", "NativeMode": "--native",
}
# Parameters with a check of their own below, stricter than the template's pattern (one message, not two).
_CHECKED_APART = {"OriginPath"}
# Python bytecode and version-specific extension modules name the interpreter they are for.
_PYC = re.compile(r"\.cpython-3(\d+)\.pyc$")
_EXTENSION = re.compile(r"\.cpython-3(\d+)-x86_64-linux-gnu\.so$")


def _option(parameter: str) -> str:
    return _OPTION.get(parameter, parameter)


def check_parameters(template: Mapping[str, Any], parameters: Mapping[str, str]) -> List[str]:
    """Each value against the constraints its template parameter declares, as CloudFormation would check it when the
    change set is made (minutes later, after the uploads)."""
    problems = []
    declared: Mapping[str, Any] = template.get("Parameters", {})
    for name, value in parameters.items():
        if name in _CHECKED_APART:
            continue
        spec = declared.get(name)
        if spec is None:
            problems.append(f"parameter {name}: the template does not declare it")
            continue
        option = _option(name)
        if "AllowedValues" in spec and value not in spec["AllowedValues"]:
            problems.append(f"{option} {value!r}: choose one of {', '.join(spec['AllowedValues'])}")
            continue
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{option} {value!r}: not a number")
                continue
            low, high = spec.get("MinValue"), spec.get("MaxValue")
            if (low is not None and number < low) or (high is not None and number > high) or number != int(number):
                problems.append(f"{option} {value}: give a whole number from {low} to {high}")
            continue
        if spec.get("Type") == "String":
            if "MaxLength" in spec and len(value) > spec["MaxLength"]:
                problems.append(f"{option} {value!r}: at most {spec['MaxLength']} characters")
            elif "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
                problems.append(f"{option} {value!r}: {spec.get('Description', spec['AllowedPattern'])}")
    return problems


def check_names(stack_name: str, code_bucket: Optional[str]) -> List[str]:
    """The names the template builds from the stack name, and the code bucket (the Regional buckets are checked
    when they are parsed: `regions.Bucket`)."""
    problems = []
    if not _STACK_NAME.match(stack_name):
        problems.append(f"--stack-name {stack_name!r}: a letter, then letters, digits and hyphens (at most 128)")
    longest = max(len(suffix) for suffix in OAC_SUFFIXES)
    if len(stack_name) + longest > MAX_OAC_NAME:
        problems.append(f"--stack-name {stack_name!r}: at most {MAX_OAC_NAME - longest} characters, because the "
                        f"stack names its origin access controls <stack>{OAC_SUFFIXES[1]} and CloudFront allows "
                        f"{MAX_OAC_NAME}")
    if code_bucket:
        problem = bucket_name_problem(code_bucket)
        if problem:
            problems.append(f"--code-bucket {code_bucket!r}: S3 bucket names are {problem}")
    return problems


def check_cidrs(text: str) -> List[str]:
    """Company ranges for the WAF IP set: IPv4 networks written with their network address (/1 to /32)."""
    problems = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append(f"--allowed-cidrs {item!r}: not an IPv4 range like 198.51.100.0/24")
            continue
        if network.version != 4:
            problems.append(f"--allowed-cidrs {item!r}: IPv6 is not supported (the distribution turns IPv6 off when "
                            "ranges are set)")
        elif "/" not in item or network.prefixlen == 0:
            problems.append(f"--allowed-cidrs {item!r}: write the prefix length, /1 to /32 "
                            f"(e.g. {network.network_address}/32)")
        elif str(network) != item:
            problems.append(f"--allowed-cidrs {item!r}: host bits are set; the range is {network}")
    return problems


def check_origin_path(path: str) -> List[str]:
    """CloudFront puts the origin path in front of the path the function signs, as it is: it must already be in S3's
    canonical form, or S3 computes another canonical request and every request is refused."""
    if path == "":
        return []
    if not path.startswith("/") or path.endswith("/") or "//" in path:
        return [f"--origin-path {path!r}: start with / and do not end with / (e.g. /images)"]
    try:
        canonical = canonical_uri(path)
    except MrapEdgeError as error:
        return [f"--origin-path {path!r}: {error}"]
    if canonical != path:
        return [f"--origin-path {path!r}: not in S3's canonical form; use {canonical!r}"]
    if any(segment in (".", "..") for segment in path.split("/")):
        return [f"--origin-path {path!r}: no . or .. segments (S3 keys keep them, browsers remove them)"]
    return []


def check_log_retention(days: int) -> List[str]:
    if days == 0 or days in LOG_RETENTION_DAYS:
        return []
    return [f"--log-retention-days {days}: CloudWatch Logs accepts {', '.join(map(str, LOG_RETENTION_DAYS))} "
            "(0: leave the log groups alone)"]


def zip_runtimes(zip_path: Path) -> Optional[Set[str]]:
    """The runtimes the zip's files name: compiled bytecode (`*.cpython-3XY.pyc`) and version-specific extension
    modules (`*.cpython-3XY-x86_64-linux-gnu.so`) are each for one Python. None when no file names one (pure Python
    and abi3 wheels, no bytecode): such a zip runs on every runtime its wheels fit, which packaging checked."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    found: Set[str] = set()
    for name in names:
        match = _PYC.search(name) or _EXTENSION.search(name)
        if match:
            found.add(f"python3.{match.group(1)}")
    return found or None


def check_zip(zip_path: Optional[Path], runtime: str, runtimes: Sequence[str]) -> List[str]:
    if zip_path is None:
        return []  # deploy builds it, for `runtime`
    if not zip_path.is_file():
        return [f"--zip {zip_path}: no such file"]
    if not zipfile.is_zipfile(zip_path):
        return [f"--zip {zip_path}: not a zip file"]
    from ..packaging import MAX_ZIP_BYTES  # one home for the package size limit

    size = zip_path.stat().st_size
    if size > MAX_ZIP_BYTES:
        return [f"--zip {zip_path}: {size} bytes, over Lambda@Edge's {MAX_ZIP_BYTES / 1e6:.0f} MB for a zipped package"]
    with zipfile.ZipFile(zip_path) as archive:
        if "edge/handler.py" not in archive.namelist() and not any(
                n.startswith("edge/__pycache__/handler.") for n in archive.namelist()):
            return [f"--zip {zip_path}: no edge/handler.py, so not a package of this function (build one with "
                    "scripts/package)"]
    named = zip_runtimes(zip_path)
    if named is None or named == {runtime}:
        return []
    built = ", ".join(sorted(named))
    if len(named) > 1:
        return [f"--zip {zip_path}: holds files for {built} at once; rebuild it with scripts/package --runtime "
                f"{runtime}"]
    (other,) = named
    instead = f", or deploy with --runtime {other}" if other in runtimes else ""
    return [f"--zip {zip_path}: built for {built}, not {runtime}, so every cold start would fail; rebuild it with "
            f"scripts/package --runtime {runtime}{instead}"]


def price_class_warnings(buckets: Sequence[Bucket], price_class: str) -> List[str]:
    """Buckets whose nearby viewers the price class serves from far away (the MRAP then routes those viewers by the
    far edge's location, to a far bucket)."""
    if price_class not in PRICE_CLASSES:
        return []
    rank = PRICE_CLASSES.index(price_class)
    needed = [(b, price_class_for(b.region)) for b in buckets]
    far = [(b, c) for b, c in needed if PRICE_CLASSES.index(c) > rank]
    if not far:
        return []
    pick = max((c for _, c in far), key=PRICE_CLASSES.index)
    names = ", ".join(f"{b.name} ({b.region})" for b, _ in far)
    return [f"price class {price_class} has no edge locations near {names}: viewers there are served from North "
            f"America/Europe edges and the MRAP sends them to a bucket there, not to {names}; deploy with "
            f"--price-class {pick} to serve them nearby"]


def preflight(options: Any, parameters: Mapping[str, str], clients: Optional[ClientFactory] = None,
              say: Say = print, body: Optional[str] = None) -> List[str]:
    """Check `options` (a DeployOptions) and the stack `parameters` deploy will pass (those known before packaging);
    raise one ToolError naming every problem, print and return the warnings. With `clients`, also refuse a change of
    the deployed MRAP's buckets (a describe, nothing else)."""
    try:
        template = json.loads(Path(options.template).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ToolError(f"unable to read template {options.template}: {error}") from None
    declared = template.get("Parameters", {})
    # The runtimes the template allows (one without a list constrains nothing but the zip's own evidence).
    runtimes = list(declared.get("Runtime", {}).get("AllowedValues", [])) or [options.runtime]
    given: Dict[str, str] = dict(parameters)
    problems = check_parameters(template, given)
    if body is not None:  # the body deploy sends: CloudFormation refuses one over its size limit
        problems += check_template_size(body)
    problems += check_names(options.stack_name, options.code_bucket)
    problems += check_cidrs(options.allowed_cidrs)
    problems += check_origin_path(getattr(options, "origin_path", ""))
    problems += check_log_retention(getattr(options, "log_retention_days", 0))
    if not options.native:
        problems += check_zip(options.zip_path, options.runtime, runtimes)
    if problems:
        raise ToolError("unable to deploy:\n" + "\n".join(f"  {problem}" for problem in problems))
    warnings = price_class_warnings(options.buckets, options.price_class)
    for warning in warnings:
        say(f"warning: {warning}")
    if clients is not None:
        check_mrap_change(clients, options.stack_name, given, say)
    say(f"preflight: {len(given)} parameters within the template's limits, names, ranges"
        + (f", template body {len(body.encode()):,} bytes" if body is not None else "")
        + (", origin path" if getattr(options, "origin_path", "") else "")
        + ("" if options.native or options.zip_path is None else f", zip for {options.runtime}") + ": ok")
    return warnings
