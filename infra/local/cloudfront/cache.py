"""What each CloudFront edge location keeps, and for how long ("Manage how long content stays in the cache",
"Control how long CloudFront caches errors"): per POP, under the cache policy's key (`key`); a 200 to a GET for
the TTL its headers and the policy give (`rules.response_ttl`); what the viewer got for an origin's error for that
error's caching time (`rules.error_ttl`). Range and conditional requests and methods other than GET/HEAD are not
cached here."""
from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from infra.local.cloudfront.events import ViewerRequest, cache_key_query
from infra.local.cloudfront.rules import error_ttl, response_ttl
from infra.local.cloudfront.settings import DistributionSettings

__all__ = ["CacheKey", "Kept", "EdgeCache"]

CacheKey = Tuple[Any, ...]
Headers = List[Tuple[str, str]]
Kept = Tuple[int, Headers, bytes]  # status, headers (with Age), body
_UNCACHED_WHEN = frozenset({"range", "if-none-match", "if-modified-since", "if-match", "if-unmodified-since",
                            "if-range"})


class EdgeCache:
    def __init__(self) -> None:
        # key -> (stored at, expires at, status, headers, body)
        self._entries: Dict[CacheKey, Tuple[float, float, int, Headers, bytes]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(pop_region: str, viewer: ViewerRequest, settings: DistributionSettings) -> Optional[CacheKey]:
        """Per-POP key from the cache policy's query strings and headers; None: not cacheable."""
        if viewer.method not in ("GET", "HEAD"):
            return None
        if {name.lower() for name, _ in viewer.headers} & _UNCACHED_WHEN:
            return None
        query = cache_key_query(viewer.query, settings.cache_key_query)
        headers = tuple((h, tuple(viewer.values(h))) for h in settings.cache_key_headers)
        return (pop_region, viewer.path, query, headers)

    def lookup(self, key: Optional[CacheKey]) -> Optional[Kept]:
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
        now = time.monotonic()
        if entry is None or entry[1] <= now:
            return None
        stored, _, status, headers, body = entry
        return status, headers + [("Age", str(int(now - stored)))], body

    def keep_response(self, key: Optional[CacheKey], viewer: ViewerRequest, status: int, headers: Headers,
                      body: bytes, settings: DistributionSettings, default_ttl: int) -> None:
        """A 200 to a GET, for as long as its headers and the cache policy say."""
        if key is None or viewer.method != "GET" or status != 200:
            return
        ttl = response_ttl(headers, default_ttl, settings.min_ttl, settings.max_ttl, now=time.time())
        self._keep(key, ttl, status, headers, body)

    def keep_error(self, key: Optional[CacheKey], viewer: ViewerRequest, origin_status: int,
                   origin_headers: Headers, shown: Kept, settings: DistributionSettings) -> None:
        """What the viewer got (`shown`) for an origin's error, for as long as CloudFront caches that error."""
        if key is None or viewer.method != "GET":
            return
        configured = next((r for r in settings.error_responses if r.code == origin_status), None)
        ttl = error_ttl(origin_status, origin_headers, configured.min_ttl if configured else None,
                        settings.max_ttl, now=time.time())
        self._keep(key, ttl, *shown)

    def _keep(self, key: CacheKey, ttl: int, status: int, headers: Headers, body: bytes) -> None:
        if ttl <= 0:
            return
        now = time.monotonic()
        with self._lock:
            self._entries[key] = (now, now + ttl, status, headers, body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
