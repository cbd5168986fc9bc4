"""What an edge location keeps: which requests have a key, per POP, and what is kept for an origin's error."""
from __future__ import annotations

from dataclasses import replace

import pytest

from infra.local.cloudfront.cache import EdgeCache
from infra.local.cloudfront.events import ViewerRequest
from infra.local.cloudfront.settings import ErrorResponse, load_settings

SETTINGS = load_settings()


def viewer(method: str = "GET", target: str = "/a.png", *headers: tuple) -> ViewerRequest:
    return ViewerRequest(method, target, tuple(headers), "192.0.2.1")


@pytest.mark.parametrize("request_", [viewer("POST"), viewer("GET", "/a.png", ("Range", "bytes=0-1")),
                                      viewer("GET", "/a.png", ("If-None-Match", '"x"'))],
                         ids=["post", "range", "conditional"])
def test_what_has_no_cache_key(request_: ViewerRequest) -> None:
    assert EdgeCache.key("eu-west-2", request_, SETTINGS) is None


def test_each_pop_has_its_own_key_and_names_read_decoded() -> None:
    london = EdgeCache.key("eu-west-2", viewer("GET", "/a.png?version%49d=1"), SETTINGS)

    assert london == EdgeCache.key("eu-west-2", viewer("GET", "/a.png?versionId=1"), SETTINGS)
    assert london != EdgeCache.key("us-east-2", viewer("GET", "/a.png?versionId=1"), SETTINGS)


def test_what_the_viewer_got_for_an_error_is_kept_for_its_error_caching_time() -> None:
    cache = EdgeCache()
    settings = replace(SETTINGS, error_responses=(ErrorResponse(403, "/page.html", 403, min_ttl=60),
                                                  ErrorResponse(503, "", 503, min_ttl=0)))
    forbidden = EdgeCache.key("eu-west-2", viewer("GET", "/forbidden.png"), settings)
    unavailable = EdgeCache.key("eu-west-2", viewer("GET", "/unavailable.png"), settings)

    cache.keep_error(forbidden, viewer(), 403, [], (403, [("Content-Type", "text/html")], b"the page"), settings)
    cache.keep_error(unavailable, viewer(), 503, [], (503, [], b"S3's 503"), settings)

    kept = cache.lookup(forbidden)
    assert kept is not None and (kept[0], kept[2]) == (403, b"the page")
    assert cache.lookup(unavailable) is None  # ErrorCachingMinTTL 0: not kept
