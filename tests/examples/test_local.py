"""The example app beside the local stack without a browser (urllib), and `make demo ARGS=--app`: the page's
signed URLs and the cookie page's cookies open the images through the CloudFront stand-in, where an unsigned
request is refused."""
from __future__ import annotations

import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from examples.app.local import start_beside
from infra.local.stack import LocalStack, StackOptions
from infra.local.template import load_settings
from signedlinks.keys import generate_key_pair

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys = generate_key_pair(tmp_path_factory.mktemp("key") / "signing-key")
    settings = load_settings(parameters={"SignedUrlPublicKey1": keys.public_pem})
    with LocalStack(StackOptions(client_regions=("eu-west-2",), settings=settings)) as stack:
        server = start_beside(stack, settings.trusted_keys[0][0], keys.private_key)
        try:
            yield server.url()
        finally:
            server.stop()


def _get(url: str, cookie: str = "") -> Tuple[int, Dict[str, List[str]], bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            headers: Dict[str, List[str]] = {}
            for name, value in response.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            return response.status, headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {}, error.read()


def _sources(page: bytes) -> List[str]:
    return [src.replace("&amp;", "&") for src in re.findall(r'<img src="([^"]+)"', page.decode())]


def test_the_signed_url_page_links_images_the_stand_in_serves(app_url: str) -> None:
    status, _, page = _get(app_url + "/")

    sources = _sources(page)
    assert status == 200 and len(sources) == 7
    for source in sources:
        code, _, body = _get(source)
        assert (code, body[:4]) == (200, b"\x89PNG"), source
        assert _get(source.split("?", 1)[0])[0] == 403  # the same image unsigned: refused


def test_the_cookie_page_sets_host_only_cookies_that_open_its_images(app_url: str) -> None:
    status, headers, page = _get(app_url + "/cookies")

    set_cookies = headers["set-cookie"]
    assert status == 200 and not any("Domain=" in value or "Secure" in value for value in set_cookies)
    cookie = "; ".join(value.split(";", 1)[0] for value in set_cookies)
    for source in _sources(page):
        code, _, body = _get(source, cookie)
        assert (code, body[:4]) == (200, b"\x89PNG"), source


def test_make_demo_with_app_serves_the_app_and_passes() -> None:
    done = subprocess.run([sys.executable, "-m", "infra.local.demo", "--app", "--check", "--count", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"the example app: http://127\.0\.0\.1:\d+/ \(signed URLs\)", done.stdout)
    assert "signed URLs are required" in done.stdout and done.stdout.rstrip().endswith("stopped")
