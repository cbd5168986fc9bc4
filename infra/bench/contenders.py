"""The warm contenders: the floor (one raw ECDSA P-256 signature), awscrt's SigV4A signature alone, the handler on
a plain key, a percent-encoded unicode key and a key to re-encode, and the naive signer; each a call of no argument."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Dict

__all__ = ["ROOT", "FAKE_ENV", "load_event", "ecdsa_floor", "awscrt_alone", "warm_contenders", "BATCH"]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "fixtures" / "events"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIAQNZGKIQY56JQ7WML",
    "AWS_SECRET_ACCESS_KEY": "29NkV8TqyLDTbFyLvZ5Sa1Dn0bmhN3ggWbeeXCd4",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEEXAMPLEc2Vzc2lvbi10b2tlbg==" * 8,  # real tokens are ~1 KB
    "AWS_REGION": "us-east-1",
}
# The message a SigV4A string to sign is about as long as: algorithm, date, scope and a hex digest.
STRING_TO_SIGN = b"AWS4-ECDSA-P256-SHA256\n20261122T000000Z\n20261122/s3/aws4_request\n" + b"0" * 64
MRAP_HOST = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
# Calls per batch: the naive signer is about a hundred times slower, so it gets fewer.
BATCH = {"floor": 200, "awscrt": 200, "handler": 200, "handler_encoded": 200, "handler_awkward": 200, "naive": 8}

Call = Callable[[], object]


def load_event(name: str) -> Dict[str, Any]:
    """One of the test suite's CloudFront events (read as data, not imported)."""
    event: Dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


def ecdsa_floor() -> Callable[[], bytes]:
    """One ECDSA P-256 signature with SHA-256 over a string-to-sign-sized message: the warm floor.

    The key and the signature algorithm object are made once, as a signer that keeps its key would; building
    `ec.ECDSA(hashes.SHA256())` at each call would add its own cost to the floor and flatter every ratio to it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    algorithm = ec.ECDSA(hashes.SHA256())
    return lambda: key.sign(STRING_TO_SIGN, algorithm)


def awscrt_alone() -> Call:
    """One awscrt SigV4A signature of a plain request through the function's own Signer, nothing else around it."""
    from edge.signing import Signer, credentials_from_environment

    signer = Signer(credentials_from_environment())
    headers = [("host", MRAP_HOST), ("x-amz-cf-id", "x" * 56)]
    return lambda: signer.sign("GET", "/images/cat.jpg", headers, time.time())


def _key_events() -> Dict[str, Dict[str, Any]]:
    plain, encoded, awkward = load_event("mrap-get"), load_event("mrap-get"), load_event("mrap-key-unicode")
    # A non-ASCII key as browsers send it (UTF-8, upper-case escapes), with a version and a tracking parameter
    encoded["Records"][0]["cf"]["request"]["uri"] = "/fotos/%C3%BCber/caf%C3%A9/%E5%86%99%E7%9C%9F.png"
    encoded["Records"][0]["cf"]["request"]["querystring"] = "versionId=3HL4kqtJlcpXroDTDmJ%2Bnrn&utm_source=x"
    # The worst case: raw unicode, lower-case escapes and reserved characters, all re-encoded
    awkward["Records"][0]["cf"]["request"]["uri"] = "/fotos/%c3%bcber/café/写真 (1)+!.png"
    awkward["Records"][0]["cf"]["request"]["querystring"] = "versionId=3HL4kqtJlcpXroDTDmJ+nrn&utm_source=x"
    return {"plain": plain, "encoded": encoded, "awkward": awkward}


def warm_contenders() -> Dict[str, Call]:
    """Every warm contender by name (the names of BATCH), in the order their batches run; credentials come from the
    environment, as on Lambda."""
    from edge.handler import lambda_handler

    from .naive_signer import naive_handler

    events = _key_events()
    plain = events["plain"]
    return {
        "floor": ecdsa_floor(),
        "awscrt": awscrt_alone(),
        "handler": lambda: lambda_handler(plain, None),
        "handler_encoded": lambda: lambda_handler(events["encoded"], None),
        "handler_awkward": lambda: lambda_handler(events["awkward"], None),
        "naive": lambda: naive_handler(json.loads(json.dumps(plain)), None),
    }
