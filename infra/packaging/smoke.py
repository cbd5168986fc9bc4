"""The import-and-sign check: the function imports and signs an MRAP origin request from the extracted zip alone,
under the most faithful interpreter at hand, and the build says which one that was.

The work happens in a child program (`smoke_child.py`) run as Lambda runs the function (isolated, over the zip);
this module gives it the event, fake credentials and nothing of the builder's environment, and judges its facts.
"""
from __future__ import annotations

import json
import re
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Literal, Optional, Sequence, Tuple

from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

from edge.config import Config

from .errors import PackagingError
from .interpreters import bare_env, base_python
from .wheels import pip_download, unpack_wheel, wheel_entries

__all__ = ["SmokeMode", "SmokeReport", "SMOKE_HOST", "smoke_event", "run_smoke", "smoke_check"]

SMOKE_CHILD = Path(__file__).with_name("smoke_child.py")
# The smoke event's origin: the MRAP host of the CloudFront guide's example, unless the config does not sign it.
SMOKE_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
# An object's key: the guide's example asks for "/", the bucket root, which the function answers 404 unsigned.
SMOKE_KEY = "/mrap-edge-smoke-check.json"
SIGV4A_ALGORITHM = "AWS4-ECDSA-P256-SHA256"
# Fake credentials, where Lambda puts the role's.
SMOKE_ENV = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
             "AWS_SESSION_TOKEN": "smoke-test-session-token", "AWS_REGION": "us-east-1",
             "AWS_DEFAULT_REGION": "us-east-1"}


# "target": the zip under the target's Python; "host": the zip under the host's Python (abi3 wheels load there);
# "stand-in": the zip with wheels the host cannot load swapped for the same versions built for the host.
SmokeMode = Literal["target", "host", "stand-in"]


@dataclass(frozen=True)
class SmokeReport:
    mode: SmokeMode
    python: str
    detail: str
    authorization: str


def smoke_event(config: Config) -> Dict[str, Any]:
    """The CloudFront Developer Guide's example origin request, for an object, to an MRAP host the config signs."""
    host = SMOKE_HOST if config.is_mrap_host(SMOKE_HOST) else config.mrap_host_patterns[0].replace("*", "mfzwi23gnjvgw")
    request = {
        "clientIp": "203.0.113.178",
        "headers": {
            "x-forwarded-for": [{"key": "X-Forwarded-For", "value": "203.0.113.178"}],
            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
            "via": [{"key": "Via", "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)"}],
            "host": [{"key": "Host", "value": host}],
            "cache-control": [{"key": "Cache-Control", "value": "no-cache, cf-no-cache"}],
        },
        "method": config.allowed_methods[0],
        "origin": {"custom": {"customHeaders": {}, "domainName": host, "keepaliveTimeout": 5, "path": "",
                              "port": 443, "protocol": "https", "readTimeout": 30,
                              "sslProtocols": ["TLSv1", "TLSv1.1", "TLSv1.2"]}},
        "querystring": "",
        "uri": SMOKE_KEY,
    }
    cf_config = {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
                 "eventType": "origin-request",
                 "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="}
    return {"Records": [{"cf": {"config": cf_config, "request": request}}]}


def _judge(facts: Dict[str, Any], config: Config, expect_bytecode: bool) -> str:
    """The child's Authorization once every fact it reported is as it must be; else the one-line reason."""
    if facts["stray"]:
        raise PackagingError(f"isolation check: sys.path reaches beyond the zip and the stdlib: {facts['stray']}")
    if facts["outside"]:
        raise PackagingError(f"isolation check: {', '.join(facts['outside'])} imported from outside the zip")
    if facts["config"] != config.to_mapping():
        raise PackagingError(f"the function reads {facts['config']} from the zip, not {config.to_mapping()}")
    if expect_bytecode and facts["compiled"]:
        raise PackagingError(f"Python {facts['python']} compiled {', '.join(facts['compiled'])} at import instead "
                             f"of loading the .pyc files in the zip")
    auth: str = facts["authorization"]
    found = re.search(r"SignedHeaders=([^,\s]+)", auth)
    signed_headers = found.group(1).split(";") if found else []
    if not auth.startswith(SIGV4A_ALGORITHM) or "x-amz-cf-id" not in signed_headers:
        raise PackagingError(
            f"the function did not sign with SigV4A and x-amz-cf-id (status {facts['status']}): {auth!r}")
    return auth


def run_smoke(root: Path, python: str, config: Config, expect_bytecode: bool = False) -> Tuple[str, str]:
    """Import the function from `root` alone and sign the smoke event; return (python version, Authorization).

    With `expect_bytecode`, also refuse if any module of the zip was compiled at import instead of loaded from its
    .pyc (which is what every cold container would then do)."""
    done = subprocess.run([python, "-I", "-S", "-B", str(SMOKE_CHILD), str(root)],
                          input=json.dumps(smoke_event(config)), capture_output=True, text=True, cwd=root,
                          env={**SMOKE_ENV, **bare_env()}, timeout=120)
    if done.returncode != 0:
        last = ([line for line in done.stderr.splitlines() if line.strip()] or ["no output"])[-1]
        raise PackagingError(f"the function does not import and sign from the zip: {last.strip()}")
    facts = json.loads(done.stdout.splitlines()[-1])
    auth = _judge(facts, config, expect_bytecode)
    return facts["python"], auth.split("Signature=")[0].rstrip(", ")


def _swap_for_host_wheels(root: Path, foreign: Sequence[Path], work: Path, pip_options: Sequence[str],
                          cache_dir: Optional[Path]) -> str:
    """Replace in `root` each wheel the host cannot load by the same version built for the host; says which."""
    swapped = []
    for wheel in foreign:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        for rel, _ in wheel_entries(wheel):
            (root / rel).unlink(missing_ok=True)
        dest = work / f"host-{name}"
        dest.mkdir()
        host_wheels = pip_download(["--no-deps", f"{name}=={version}", *pip_options], dest, cache_dir, "the host")
        unpack_wheel(host_wheels[0], root)
        swapped.append(f"{host_wheels[0].name} for {wheel.name}")
    return "; ".join(swapped)


def smoke_check(zip_path: Path, runtime: str, config: Config, wheels: Sequence[Path], work: Path,
                target_python: Optional[str] = None, pip_options: Sequence[str] = (),
                cache_dir: Optional[Path] = None, expect_bytecode: bool = False) -> SmokeReport:
    """Import and sign from the extracted zip with the most faithful interpreter at hand, and say which one it was.

    `target_python` is a CPython of the runtime's version (find_python), or None when there is none here."""
    root = work / "extracted"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root)
    if target_python:
        python, auth = run_smoke(root, target_python, config, expect_bytecode)
        detail = "the zip as built, under the target's Python version"
        if expect_bytecode:
            detail += ", every module of the zip loaded from its .pyc"
        return SmokeReport("target", python, detail, auth)
    host = set(sys_tags())
    foreign = [w for w in wheels if not (parse_wheel_filename(w.name)[3] & host)]
    if not foreign:
        python, auth = run_smoke(root, base_python(), config)
        return SmokeReport("host", python, "the zip as built, under the host's Python (its wheels load there)", auth)
    # The host cannot load these wheels (e.g. cp313-abi3 under 3.11): swap in the same versions built for the host.
    # Then edge/, the config and the wheels' Python code are checked, not the target's native build itself, which
    # only the ELF and tag checks cover.
    swapped = _swap_for_host_wheels(root, foreign, work, pip_options, cache_dir)
    python, auth = run_smoke(root, base_python(), config)
    return SmokeReport("stand-in", python, f"stand-in: host Python cannot load the target wheels; used {swapped}", auth)
