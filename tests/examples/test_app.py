"""The example app as WSGI, without a browser: its links and cookies checked by the local CloudFront stand-in's
independent verifier, links stable within a window (so caches work), and its failures said in one line."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Dict, List, Tuple
from wsgiref.util import setup_testing_defaults

import pytest

from examples.app import AppConfig, ImagesApp
from examples.app.__main__ import main
from examples.app.app import distribution_base_url
from infra.local.signed_requests import check_signed_request
from signedlinks.keys import generate_key_pair

KEYS = ["images/red.png", "photos/summer holiday 2024.png"]


@pytest.fixture
def key(tmp_path: Path) -> Tuple[Path, str]:
    files = generate_key_pair(tmp_path / "key")
    return files.private_key, files.public_pem


def get(app: ImagesApp, path: str, host: str = "app.example.com") -> Tuple[str, Dict[str, List[str]], str]:
    environ: Dict[str, object] = {"PATH_INFO": path, "HTTP_HOST": host}
    setup_testing_defaults(environ)
    answer: Dict[str, object] = {}

    def start_response(status: str, headers: List[Tuple[str, str]]) -> None:
        answer.update(status=status, headers=headers)

    body = b"".join(app(environ, start_response)).decode()
    headers: Dict[str, List[str]] = {}
    for name, value in answer["headers"]:  # type: ignore[union-attr]
        headers.setdefault(name.lower(), []).append(value)
    return str(answer["status"]), headers, body


def image_sources(body: str) -> List[str]:
    return [src.replace("&amp;", "&") for src in re.findall(r'<img src="([^"]+)"', body)]


def app_for(key: Tuple[Path, str], offset_s: float = 0.0, domain: str = "images.example.com",
            keys: List[str] = KEYS) -> ImagesApp:
    now = time.time()
    return ImagesApp(AppConfig("K2JCJMDEHXQW5F", str(key[0]), domain), lambda: keys, clock=lambda: now + offset_s)


def test_the_first_page_links_every_image_with_a_url_cloudfront_accepts(key: Tuple[Path, str]) -> None:
    status, _, body = get(app_for(key), "/")

    sources = image_sources(body)
    assert status == "200 OK" and len(sources) == len(KEYS)
    for source in sources:
        target = source[len("https://images.example.com"):]
        assert check_signed_request([("K2JCJMDEHXQW5F", key[1])], "https", "images.example.com", target, [],
                                    "192.0.2.1", time.time()) is None, source


def test_links_stay_the_same_within_a_window_and_change_in_the_next(key: Tuple[Path, str]) -> None:
    app = app_for(key)
    first = image_sources(get(app, "/")[2])

    assert image_sources(get(app, "/")[2]) == first  # ECDSA signatures differ each time: the app keeps its links
    later = app_for(key, offset_s=3600)
    assert image_sources(get(later, "/")[2]) != first


def test_the_cookie_page_sets_cookies_for_the_shared_domain_that_cloudfront_accepts(key: Tuple[Path, str]) -> None:
    status, headers, body = get(app_for(key), "/cookies")

    assert status == "200 OK"
    assert image_sources(body)[0] == "https://images.example.com/images/red.png"
    set_cookies = headers["set-cookie"]
    assert all("; Domain=example.com; Secure; HttpOnly; SameSite=Lax" in value for value in set_cookies)
    cookie = "; ".join(value.split(";", 1)[0] for value in set_cookies)
    for source in image_sources(body):
        target = source[len("https://images.example.com"):]
        assert check_signed_request([("K2JCJMDEHXQW5F", key[1])], "https", "images.example.com", target, [cookie],
                                    "192.0.2.1", time.time()) is None, source


def test_cookies_on_a_cloudfront_net_name_are_refused_on_the_page_in_one_line(key: Tuple[Path, str]) -> None:
    status, headers, body = get(app_for(key, domain="d111111abcdef8.cloudfront.net"), "/cookies")

    assert status.startswith("500") and "set-cookie" not in headers
    assert "cloudfront.net is a public suffix" in body


def test_a_bucket_that_cannot_be_listed_is_one_line_on_the_page(key: Tuple[Path, str]) -> None:
    def failing() -> List[str]:
        raise OSError("connection refused")

    app = ImagesApp(AppConfig("K2JCJMDEHXQW5F", str(key[0]), "images.example.com"), failing)

    status, _, body = get(app, "/")

    assert status.startswith("502") and "unable to list the images: connection refused" in body


@pytest.mark.parametrize("domain, base", [
    ("images.example.com", "https://images.example.com"),
    ("http://images.mrap-edge.test:8081/", "http://images.mrap-edge.test:8081"),
])
def test_the_distribution_domain_becomes_a_base_url(domain: str, base: str) -> None:
    assert distribution_base_url(domain) == base


@pytest.mark.parametrize("domain", ["ftp://images.example.com", "https://images.example.com/photos", ""])
def test_a_distribution_domain_that_is_not_a_host_is_refused(domain: str) -> None:
    with pytest.raises(ValueError, match="unable to use the distribution's domain"):
        distribution_base_url(domain)


@pytest.mark.parametrize("arguments, message", [
    (["--private-key", "/nonexistent/key.pem", "--distribution-domain", "images.example.com"],
     "example app: unable to read the private key /nonexistent/key.pem"),
    (["--private-key", "KEY", "--distribution-domain", "ftp://images.example.com"],
     "example app: unable to use the distribution's domain"),
])
def test_the_command_refuses_bad_configuration_in_one_line(key: Tuple[Path, str], capsys: pytest.CaptureFixture[str],
                                                           arguments: List[str], message: str) -> None:
    arguments = [str(key[0]) if a == "KEY" else a for a in arguments]

    code = main(["--key-pair-id", "K2JCJMDEHXQW5F", "--bucket", "images-london", *arguments])

    error = capsys.readouterr().err
    assert code == 2 and error.startswith(message) and error.count("\n") == 1
