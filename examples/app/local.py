"""The example app beside the local stack (`make demo ARGS=--app`, the browser test): it lists the data Region's
bucket of the stand-in's S3 and links to the CloudFront stand-in, with the stack's signing key."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .app import AppConfig, ImagesApp, bucket_lister
from .server import AppServer, start_server

__all__ = ["start_beside"]


def start_beside(stack: Any, key_pair_id: str, private_key: Path, distribution_domain: Optional[str] = None,
                 host: str = "127.0.0.1", port: int = 0) -> AppServer:
    """Serve the app for a started `LocalStack`. `distribution_domain` defaults to the first edge location's
    address (http://127.0.0.1:<port>): the app and the images are then one host on two ports, so host-only
    cookies reach the images."""
    region = stack.client_regions()[0]
    domain = distribution_domain or stack.url(region, "")
    bucket = stack.buckets.buckets[stack.data_region].bucket
    app = ImagesApp(AppConfig(key_pair_id, str(private_key), domain),
                    bucket_lister(stack.buckets.client(stack.data_region), bucket))
    return start_server(app, host, port)
