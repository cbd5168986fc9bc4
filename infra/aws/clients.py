"""Where AWS clients come from: one callable, so tests can swap in moto-backed or stubbed clients per service."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from .errors import ToolError

__all__ = ["ClientFactory", "SessionClients", "ToolError", "HOME_REGION"]

# Lambda@Edge functions, CloudFront-scoped WAF and the stack all live in us-east-1.
HOME_REGION = "us-east-1"

ClientFactory = Callable[[str, str], Any]


class SessionClients:
    """Creates boto3 clients lazily and reuses them, one per (service, Region)."""

    def __init__(self, session: Optional[Any] = None) -> None:
        if session is None:
            import boto3  # imported here so that `--help` works without boto3 configured

            session = boto3.Session()
        self._session = session
        self._clients: Dict[Tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._session.client(service, region_name=region)
        return self._clients[key]
