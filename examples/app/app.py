"""An app like the seed user's, moved from S3 presigned URLs to CloudFront: a page listing the bucket's images,
each `<img>` a CloudFront signed URL, and a second page whose images are plain URLs that signed cookies open.

Standard library WSGI; the only mrap-edge code it uses is the `signedlinks` package. What changes in an app that
used presigned URLs is in `_signed_url` and `_cookie_headers`; listing the bucket stays as it was (boto3).

Links stay the same for a while (their expiry is the end of a fixed window), so that the browser's cache and
CloudFront's keep working across page loads: a fresh signature on every render would make every image a new URL.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote, urlsplit

from signedlinks import LinkSigner, set_cookie_headers, shared_cookie_domain

__all__ = ["AppConfig", "ImagesApp", "bucket_lister", "distribution_base_url", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif")
Lister = Callable[[], List[str]]
StartResponse = Callable[[str, List[Tuple[str, str]]], object]


def distribution_base_url(domain: str) -> str:
    """`images.example.com` -> `https://images.example.com`; a full `http(s)://host[:port]` is kept (the local
    stand-in serves plain http)."""
    base = domain.strip().rstrip("/")
    if "://" not in base:
        base = "https://" + base
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ValueError(f"unable to use the distribution's domain: {domain!r} (e.g. images.example.com)")
    return base


@dataclass(frozen=True)
class AppConfig:
    key_pair_id: str  # the public key's id in the distribution's trusted key group (stack output SignedUrlKeyPairId1)
    private_key: str  # the PEM file of that key pair's private key
    distribution_domain: str  # the distribution's alternate domain name (or its *.cloudfront.net name)
    prefix: str = ""  # list only keys under this prefix
    link_lifetime_s: int = 3600  # a link lives between one and two of these
    cookie_domain: Optional[str] = None  # default: the parent domain the app's host and the images' host share


def bucket_lister(s3_client: object, bucket: str, prefix: str = "") -> Lister:
    """The app's image list, as it was before CloudFront: ListObjectsV2 on the bucket."""

    def list_keys() -> List[str]:
        paginator = s3_client.get_paginator("list_objects_v2")  # type: ignore[attr-defined]
        keys = [item["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
                for item in page.get("Contents", [])]
        return sorted(key for key in keys if key.lower().endswith(IMAGE_SUFFIXES))

    return list_keys


class ImagesApp:
    """The WSGI application: `/` signed URLs, `/cookies` signed cookies."""

    def __init__(self, config: AppConfig, list_keys: Lister, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.base_url = distribution_base_url(config.distribution_domain)
        self.signer = LinkSigner.from_pem_file(config.key_pair_id, config.private_key)
        self.list_keys = list_keys
        self._clock = clock
        self._links: Dict[Tuple[str, int], str] = {}

    # --- the lines an app changes ---------------------------------------------------------------------------------
    def _expires_at(self) -> int:
        """The end of the next window: the same for every render in this window, at least one lifetime away."""
        lifetime = self.config.link_lifetime_s
        return (int(self._clock()) // lifetime + 2) * lifetime

    def _signed_url(self, key: str) -> str:
        expires_at = self._expires_at()
        if (key, expires_at) not in self._links:
            if len(self._links) > 10_000:
                self._links.clear()  # links of past windows
            self._links[(key, expires_at)] = self.signer.object_url(self.base_url, key, expires_at=expires_at)
        return self._links[(key, expires_at)]

    def _cookie_headers(self, app_host: str) -> List[str]:
        """Signed cookies for every image under the prefix, for the domain the app and the images share."""
        resource = f"{self.base_url}/{quote(self.config.prefix, safe='/-._~')}*"
        cookies = self.signer.cookies(resource, expires_at=self._expires_at())
        images_host = urlsplit(self.base_url).netloc
        domain = self.config.cookie_domain or shared_cookie_domain(app_host, images_host)
        return set_cookie_headers(cookies, domain=domain, secure=self.base_url.startswith("https://"))

    # --- pages ------------------------------------------------------------------------------------------------------
    def __call__(self, environ: Dict[str, object], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _respond(start_response, "405 Method Not Allowed", _page("Not allowed", "<p>GET only.</p>"))
        if path not in ("/", "/cookies"):
            return _respond(start_response, "404 Not Found", _page("Not found", "<p>No such page.</p>"))
        try:
            keys = self.list_keys()
        except Exception as error:  # the bucket could not be listed: say so on the page, in one line
            return _respond(start_response, "502 Bad Gateway",
                            _page("Images unavailable", f"<p>unable to list the images: {html.escape(str(error))}</p>"))
        if path == "/":
            images = [(key, self._signed_url(key)) for key in keys]
            return _respond(start_response, "200 OK", _gallery("Signed URLs", images, "/cookies", "signed cookies"))
        host = str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "")
        try:
            cookie_headers = self._cookie_headers(host)
        except ValueError as error:
            return _respond(start_response, "500 Internal Server Error",
                            _page("Signed cookies unavailable", f"<p>{html.escape(str(error))}</p>"))
        images = [(key, f"{self.base_url}/{quote(key, safe='/-._~')}") for key in keys]
        return _respond(start_response, "200 OK", _gallery("Signed cookies", images, "/", "signed URLs"),
                        [("Set-Cookie", value) for value in cookie_headers])


def _respond(start_response: StartResponse, status: str, body: str,
             extra: Iterable[Tuple[str, str]] = ()) -> List[bytes]:
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data))),
                            ("Cache-Control", "no-store"), *extra])
    return [data]


def _page(title: str, content: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block;margin:0 1em 1em 0;"
            "text-align:center}img{width:96px;height:96px;image-rendering:pixelated;border:1px solid #ccc}"
            "figcaption{font-size:small;max-width:12em;overflow-wrap:anywhere}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>\n{content}\n</body></html>\n")


def _gallery(title: str, images: List[Tuple[str, str]], other: str, other_name: str) -> str:
    figures = "\n".join(f'<figure><img src="{html.escape(src)}" alt="{html.escape(key)}">'
                        f"<figcaption>{html.escape(key)}</figcaption></figure>" for key, src in images)
    return _page(title, f'<p>{len(images)} images. <a href="{other}">The same with {other_name}</a>.</p>\n'
                        f"{figures or '<p>No images in the bucket.</p>'}")
