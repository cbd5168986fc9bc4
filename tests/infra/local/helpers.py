"""Helpers shared by the local stand-ins' tests."""
from __future__ import annotations

import zipfile
from pathlib import Path

from infra.local.invoker import AwsCredentials, FunctionInvoker

__all__ = ["handler_zip", "zip_invoker"]


def handler_zip(directory: Path, handler_source: str) -> Path:
    """A deployment zip whose `edge.handler` module is `handler_source` (it defines `lambda_handler`)."""
    package = directory / "function.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("edge/__init__.py", "")
        archive.writestr("edge/handler.py", handler_source)
    return package


def zip_invoker(directory: Path, handler_source: str, **options) -> FunctionInvoker:
    """An invoker running a small stand-in handler (python -I -S starts it in a few tens of ms)."""
    return FunctionInvoker(AwsCredentials("AKIDTEST", "secret"), zip_path=handler_zip(directory, handler_source),
                           **options)
