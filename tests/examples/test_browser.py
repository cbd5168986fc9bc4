"""A real browser against the example app and the local stack: headless Chromium loads the app from
app.mrap-edge.test and its images from images.mrap-edge.test (both mapped to 127.0.0.1), through the CloudFront
stand-in with signed URLs required, the function, the MRAP stand-in and the Regional buckets.

Screenshots of each page are saved under test-artifacts/browser/ (git ignores the directory)."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Dict, Iterator, List
from urllib.parse import parse_qsl, urlsplit

import pytest

from examples.app.local import start_beside
from infra.local.signed_requests import SIGNING_QUERY_PARAMETERS
from infra.local.stack import LocalStack, StackOptions
from infra.local.template import load_settings
from signedlinks import LinkSigner
from signedlinks.keys import generate_key_pair
from tests.examples.chromium import Browser, chromium_executable

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PARENT = "mrap-edge.test"
APP_HOST, IMAGES_HOST = f"app.{PARENT}", f"images.{PARENT}"
IMAGE_KEYS = 7  # the sample set's images (infra/local/samples.py)
# What S3 or the signer would leak in an error body: none of it may reach the browser.
# (Compared case-insensitively; the error page itself may name the X-Amz-Cf-Id response header, which is CloudFront's.)
S3_INTERNALS = ("CanonicalRequest", "StringToSign", "SignatureProvided", "AWSAccessKeyId", "<HostId>",
                "<RequestId>", "x-amz-security-token", "x-amz-content-sha256", "x-amz-date", "AWS4-",
                "amazonaws.com", "mrap-edge-demo-", "ASIA")
IMAGES = "Array.from(document.images).map(i => [i.alt, i.currentSrc, i.complete, i.naturalWidth])"


@pytest.fixture(scope="module")
def chromium() -> str:
    executable, reason = chromium_executable()
    if executable is None:
        pytest.skip(reason)
    return executable


class World:
    def __init__(self, stack: LocalStack, app_url: str, private_key: Path, key_pair_id: str,
                 browser: Browser) -> None:
        self.stack, self.app_url, self.private_key, self.browser = stack, app_url, private_key, browser
        self.signer = LinkSigner.from_pem_file(key_pair_id, private_key)
        self.images_url = f"http://{IMAGES_HOST}:{stack.cloudfront.addresses['eu-west-2'][1]}"  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def world(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    keys = generate_key_pair(tmp_path_factory.mktemp("key") / "signing-key")
    settings = load_settings(parameters={"SignedUrlPublicKey1": keys.public_pem})
    key_pair_id = settings.trusted_keys[0][0]
    options = StackOptions(client_regions=("eu-west-2",), settings=settings)
    with LocalStack(options) as stack:
        images = f"http://{IMAGES_HOST}:{stack.cloudfront.addresses['eu-west-2'][1]}"  # type: ignore[union-attr]
        app = start_beside(stack, key_pair_id, keys.private_key, distribution_domain=images)
        try:
            with Browser(chromium, host_rules=(APP_HOST, IMAGES_HOST)) as browser:
                yield World(stack, f"http://{APP_HOST}:{app.address[1]}", keys.private_key, key_pair_id, browser)
        finally:
            app.stop()


def _images(browser: Browser) -> List[List[Any]]:
    return list(browser.evaluate(IMAGES))


def _image_requests(browser: Browser, since: int, kind: str) -> List[Dict[str, Any]]:
    return [e["params"] for e in browser.events[since:] if e["method"] == kind
            and IMAGES_HOST in (e["params"].get("request") or e["params"].get("response") or {}).get("url", "")]


def _assert_every_image_loaded(browser: Browser, screenshot: str) -> List[List[Any]]:
    browser.screenshot(ARTIFACTS / screenshot)
    images = _images(browser)
    assert len(images) == IMAGE_KEYS
    not_loaded = [alt for alt, _src, complete, width in images if not complete or width == 0]
    assert not_loaded == [], f"images that did not load: {not_loaded} (see {ARTIFACTS / screenshot})"
    return images


def test_every_signed_url_image_on_the_first_page_loads(world: World) -> None:
    browser = world.browser
    browser.call("Network.clearBrowserCache")  # whatever ran before: every image comes over the network
    since = browser.open(world.app_url + "/")

    images = _assert_every_image_loaded(browser, "signed-urls.png")

    assert all(urlsplit(src).netloc.startswith(IMAGES_HOST) and "Signature=" in src for _, src, _, _ in images)
    statuses = {r["response"]["url"]: r["response"]["status"] for r in _image_requests(browser, since,
                                                                                   "Network.responseReceived")}
    assert sorted(set(statuses.values())) == [200], statuses


def test_every_image_on_the_cookie_page_loads_with_the_cookies_the_browser_sent(world: World) -> None:
    browser = world.browser
    browser.call("Network.clearBrowserCache")  # whatever ran before: every image comes over the network
    since = browser.open(world.app_url + "/cookies")

    images = _assert_every_image_loaded(browser, "signed-cookies.png")

    assert not any("Signature=" in src for _, src, _, _ in images)  # plain URLs: the cookies open them
    sent = _image_requests(browser, since, "Network.requestWillBeSent")
    assert len(sent) == IMAGE_KEYS
    ids = {r["requestId"] for r in sent}
    extra = [e["params"] for e in browser.events[since:] if e["method"] == "Network.requestWillBeSentExtraInfo"
             and e["params"]["requestId"] in ids]
    assert {e["requestId"] for e in extra} == ids
    for info in extra:
        cookie = next((v for k, v in info["headers"].items() if k.lower() == "cookie"), "")
        names = {pair.split("=", 1)[0] for pair in cookie.split("; ")}
        assert {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"} <= names, info["headers"]
        blocked = [(c["cookie"]["name"], c["blockedReasons"]) for c in info.get("associatedCookies", [])
                   if c["blockedReasons"] and c["cookie"]["name"].startswith("CloudFront-")]
        assert blocked == []
    jar = browser.call("Network.getCookies", urls=[world.images_url + "/"])["cookies"]
    assert {c["domain"] for c in jar if c["name"].startswith("CloudFront-")} == {f".{PARENT}"}


@pytest.mark.parametrize("page", ["/", "/cookies"])
def test_a_reload_revalidates_or_hits_a_cache(world: World, page: str) -> None:
    browser = world.browser
    browser.open(world.app_url + page)

    since = browser.reload()

    _assert_every_image_loaded(browser, f"reload-{page.strip('/') or 'signed-urls'}.png")
    requested = {r["requestId"]: r["request"]["url"] for r in _image_requests(browser, since,
                                                                             "Network.requestWillBeSent")}
    from_memory = {e["params"]["requestId"] for e in browser.events[since:]
                   if e["method"] == "Network.requestServedFromCache"}
    answers = {r["requestId"]: r["response"] for r in _image_requests(browser, since, "Network.responseReceived")}
    how: Dict[str, str] = {}
    for request_id, url in requested.items():
        response = answers.get(request_id, {})
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        if request_id in from_memory or response.get("fromDiskCache"):
            how[url] = "browser cache"
        elif response.get("status") == 304:
            how[url] = "revalidated (304)"
        elif headers.get("x-cache", "").startswith("Hit from cloudfront"):
            how[url] = "CloudFront cache hit"
        else:
            how[url] = f"fetched again: {response.get('status')} {headers.get('x-cache')}"
    # An image the browser did not even ask for again came from its memory cache without an event: that counts.
    assert not [u for u, h in how.items() if h.startswith("fetched again")], how
    print(f"reload of {page}: " + ", ".join(sorted(set(how.values()))) if how else "no image requested again")


def _error_page_text(browser: Browser, url: str, screenshot: str) -> tuple:
    since = browser.open(url)
    browser.screenshot(ARTIFACTS / screenshot)
    response = next(e["params"]["response"] for e in browser.events[since:]
                    if e["method"] == "Network.responseReceived" and e["params"]["type"] == "Document")
    return response["status"], str(browser.evaluate("document.documentElement.outerHTML"))


def test_an_expired_link_shows_the_error_and_no_s3_internals(world: World) -> None:
    an_hour_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    past = LinkSigner(world.signer.key_pair_id, world.private_key.read_bytes(), clock=lambda: an_hour_ago.timestamp())
    expired = past.object_url(world.images_url, "images/red.png", expires_in=60)

    status, body = _error_page_text(world.browser, expired, "expired-link.png")

    assert status == 403 and "AccessDenied" in body
    assert [word for word in S3_INTERNALS if word.lower() in body.lower()] == []


def test_a_tampered_link_shows_the_error_and_no_s3_internals(world: World) -> None:
    good = world.signer.object_url(world.images_url, "images/red.png", expires_in=600)
    tampered = good.replace("images/red.png", "images/blue-large.png")

    status, body = _error_page_text(world.browser, tampered, "tampered-link.png")

    assert status == 403 and "AccessDenied" in body
    assert [word for word in S3_INTERNALS if word.lower() in body.lower()] == []


def test_a_signed_link_to_a_missing_image_shows_the_distributions_error_page(world: World) -> None:
    missing = world.signer.object_url(world.images_url, "images/not-there.png", expires_in=600)

    status, body = _error_page_text(world.browser, missing, "missing-image.png")

    assert status in (403, 404) and "This file cannot be shown right now" in body
    assert [word for word in S3_INTERNALS if word.lower() in body.lower()] == []


def test_no_request_to_the_mrap_carries_a_signing_parameter_or_a_cookie(world: World) -> None:
    browser = world.browser
    browser.open(world.app_url + "/")
    browser.open(world.app_url + "/cookies")
    mrap = world.stack.mrap
    assert mrap is not None

    received = list(mrap.received)

    assert len(received) >= IMAGE_KEYS  # the images went through the MRAP (cache misses at least once each)
    for request in received:
        names = {name for name, _ in parse_qsl(urlsplit(request.target).query, keep_blank_values=True)}
        assert names & set(SIGNING_QUERY_PARAMETERS) == set(), request.target
        assert request.header("cookie") == [], request.target
