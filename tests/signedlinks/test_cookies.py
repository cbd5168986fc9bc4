"""Signed cookies set by the app on one host reach the images on another host of the same company domain: the
Set-Cookie attributes `signedlinks` writes, run through the standard library's cookie jar (which applies the
browser rules of Domain, Path and Secure), and the parent domain both hosts share. The browser test
(tests/examples/test_browser.py) checks the same in Chromium, SameSite included."""
from __future__ import annotations

import http.cookiejar
import urllib.request
from email.message import Message
from typing import Dict, List

import pytest

from signedlinks import SignedLinksError, set_cookie_headers, shared_cookie_domain

COOKIES = {"CloudFront-Policy": "eyJTdGF0ZW1lbnQiOltdfQ__", "CloudFront-Signature": "c2lnbmF0dXJl",
           "CloudFront-Key-Pair-Id": "K2JCJMDEHXQW5F", "CloudFront-Hash-Algorithm": "SHA256"}


class _Response:
    """What CookieJar.extract_cookies reads from a response: its Set-Cookie headers."""

    def __init__(self, set_cookies: List[str]) -> None:
        self._headers = Message()
        for value in set_cookies:
            self._headers["Set-Cookie"] = value

    def info(self) -> Message:
        return self._headers


def sent_cookies(set_cookies: List[str], page_url: str, image_url: str) -> Dict[str, str]:
    """The cookies a browser-like jar sends with a request for `image_url` after the page at `page_url` set them."""
    jar = http.cookiejar.CookieJar()
    jar.extract_cookies(_Response(set_cookies), urllib.request.Request(page_url))  # type: ignore[arg-type]
    image = urllib.request.Request(image_url)
    jar.add_cookie_header(image)
    header = image.get_header("Cookie") or ""
    return dict(pair.split("=", 1) for pair in header.split("; ") if pair)


def test_cookies_for_the_shared_parent_domain_reach_the_images_host() -> None:
    headers = set_cookie_headers(COOKIES, domain=shared_cookie_domain("app.example.com", "images.example.com"))

    sent = sent_cookies(headers, "https://app.example.com/gallery", "https://images.example.com/photos/a.png")

    assert sent == COOKIES


def test_over_plain_http_cookies_without_secure_are_sent_and_secure_ones_are_not() -> None:
    page, image = "http://app.mrap-edge.test:8080/cookies", "http://images.mrap-edge.test:8081/images/red.png"

    assert sent_cookies(set_cookie_headers(COOKIES, domain="mrap-edge.test", secure=False), page, image) == COOKIES
    assert sent_cookies(set_cookie_headers(COOKIES, domain="mrap-edge.test"), page, image) == {}


@pytest.mark.parametrize("attributes", [
    dict(domain=None),  # host-only: back to app.example.com only
    dict(domain="app.example.com"),
    dict(domain="example.com", path="/gallery"),
], ids=["host-only", "app-host-domain", "app-path"])
def test_attributes_that_keep_the_cookies_from_the_images_host_are_caught(attributes: Dict[str, str]) -> None:
    # The cookie jar is a fair judge: these are the attribute mistakes that lose the cookies in a browser.
    headers = set_cookie_headers(COOKIES, **attributes)  # type: ignore[arg-type]

    assert sent_cookies(headers, "https://app.example.com/gallery", "https://images.example.com/photos/a.png") == {}


@pytest.mark.parametrize("app, images, parent", [
    ("app.example.com", "images.example.com", "example.com"),
    ("intranet.eu.example.com", "images.example.com", "example.com"),
    ("APP.Example.com:8443", "images.example.com.", "example.com"),
    ("app.mrap-edge.test:8080", "images.mrap-edge.test:8081", "mrap-edge.test"),
    ("127.0.0.1:8080", "127.0.0.1:8081", None),  # one host, two ports: host-only cookies reach both
])
def test_the_shared_parent_is_the_longest_common_domain(app: str, images: str, parent: str) -> None:
    assert shared_cookie_domain(app, images) == parent


def test_host_only_cookies_reach_another_port_of_the_same_host() -> None:
    headers = set_cookie_headers(COOKIES, domain=shared_cookie_domain("127.0.0.1:8080", "127.0.0.1:8081"),
                                 secure=False)

    assert sent_cookies(headers, "http://127.0.0.1:8080/cookies", "http://127.0.0.1:8081/images/red.png") == COOKIES


@pytest.mark.parametrize("app, images, reason", [
    ("app.example.com", "d111111abcdef8.cloudfront.net", "cloudfront.net is a public suffix"),
    ("app.example.com", "images.example.org", "no parent domain in common"),
    ("127.0.0.1:8080", "images.example.com", "an IP address"),
])
def test_hosts_whose_cookies_cannot_meet_are_refused_in_one_line(app: str, images: str, reason: str) -> None:
    with pytest.raises(SignedLinksError, match=reason) as refused:
        shared_cookie_domain(app, images)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("attributes", [
    dict(same_site="None", secure=False),
    dict(same_site="lax"),
    dict(domain="com"),
    dict(path="images"),
], ids=["samesite-none-without-secure", "samesite-spelling", "single-label-domain", "relative-path"])
def test_attributes_a_browser_rejects_are_refused(attributes: Dict[str, object]) -> None:
    with pytest.raises(SignedLinksError):
        set_cookie_headers(COOKIES, **attributes)  # type: ignore[arg-type]
