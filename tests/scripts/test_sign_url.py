"""scripts/sign-url as a person runs it: its URL and cookies pass the local CloudFront stand-in's check (written
from the Developer Guide, independent of the signer), and bad input is one line and exit status 2."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Tuple

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from infra.local.cloudfront.signed_requests import check_signed_request

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sign-url"
BASE = "https://d111111abcdef8.cloudfront.net"


@pytest.fixture
def key(tmp_path: Path) -> Tuple[Path, Tuple[Tuple[str, str], ...]]:
    private = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "k.pem"
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return path, (("K2JCJMDEHXQW5F", public),)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def accepted(url: str, trusted: tuple, cookies: Tuple[str, ...] = (), client_ip: str = "192.0.2.1") -> bool:
    target = url[len(BASE):]
    return check_signed_request(trusted, "https", BASE[len("https://"):], target, cookies, client_ip,
                                time.time()) is None


def test_a_signed_url_cloudfront_accepts(key) -> None:
    path, trusted = key

    done = run("--key-pair-id", "K2JCJMDEHXQW5F", "--private-key", str(path), "--expires-in", "300",
               f"{BASE}/images/a.png")

    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert accepted(url, trusted)
    assert not accepted(url.replace("/a.png", "/b.png"), trusted)


def test_an_ip_range_and_a_wildcard_resource(key) -> None:
    path, trusted = key

    done = run("--key-pair-id", "K2JCJMDEHXQW5F", "--private-key", str(path), "--expires-at", "2099-01-01T00:00:00Z",
               "--ip-range", "192.0.2.0/24", "--resource", f"{BASE}/images/*", f"{BASE}/images/a.png")

    url = done.stdout.strip()
    assert "Policy=" in url and accepted(url, trusted)
    assert not accepted(url, trusted, client_ip="198.51.100.1")


def test_cookies_as_one_cookie_header_value(key) -> None:
    path, trusted = key

    done = run("--key-pair-id", "K2JCJMDEHXQW5F", "--private-key", str(path), "--expires-in", "300", "--cookies",
               f"{BASE}/images/*")

    assert done.returncode == 0, done.stderr
    cookie = done.stdout.strip()
    assert cookie.startswith("CloudFront-Policy=")
    assert accepted(f"{BASE}/images/b.png", trusted, cookies=(cookie,))


@pytest.mark.parametrize("args, message", [
    (["--expires-in", "300", "--private-key", "missing.pem", f"{BASE}/a.png"],
     "sign-url: unable to read the private key missing.pem: No such file or directory"),
    (["--expires-in", "300", "--ip-range", "2001:db8::/32", f"{BASE}/a.png"],
     "sign-url: CloudFront accepts only an IPv4 address or range in a policy: '2001:db8::/32'"),
    (["--expires-at", "2099-01-01T00:00:00", f"{BASE}/a.png"],
     "sign-url: argument --expires-at: give the time zone (e.g. a trailing Z for UTC): '2099-01-01T00:00:00'"),
    (["--expires-in", "300", f"{BASE}/a b.png"],
     "sign-url: the URL must be percent-encoded (no spaces, quotes or non-ASCII): 'https://d111111abcdef8"
     ".cloudfront.net/a b.png'"),
], ids=["no-key-file", "ipv6", "naive-time", "unencoded-url"])
def test_bad_input_is_one_line_and_exit_2(key, args, message) -> None:
    path, _ = key
    if "--private-key" not in args:
        args = ["--private-key", str(path), *args]

    done = run("--key-pair-id", "K2JCJMDEHXQW5F", *args)

    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.strip().splitlines() == [message]
