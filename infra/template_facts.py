"""What the stack's template decides and the tools must agree with, read from the template itself.

The template (`cloudformation.template`) is the one list of the Python runtimes the function may run on: its
`Runtime` parameter's `AllowedValues`, and its `Default`. Packaging builds for them, preflight and status check
against them; none of them writes the list again.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Tuple

__all__ = ["TEMPLATE", "TemplateError", "allowed_runtimes", "default_runtime"]

TEMPLATE = Path(__file__).resolve().parents[1] / "cloudformation.template"


class TemplateError(Exception):
    """The template cannot be read, or does not say what a tool needs from it; the message says which."""


@lru_cache(maxsize=None)
def _parameter(template: Path, name: str) -> Dict[str, Any]:
    try:
        body = json.loads(Path(template).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TemplateError(f"unable to read template {template}: {error}") from None
    parameter = body.get("Parameters", {}).get(name)
    if not isinstance(parameter, dict):
        raise TemplateError(f"unable to find parameter {name} in template {template}")
    return parameter


def allowed_runtimes(template: Path = TEMPLATE) -> Tuple[str, ...]:
    """The runtimes the stack accepts, in the template's order: parameter `Runtime`, `AllowedValues`."""
    values = _parameter(template, "Runtime").get("AllowedValues")
    if not values or not all(isinstance(value, str) for value in values):
        raise TemplateError(f"unable to read the allowed runtimes: parameter Runtime of template {template} has no "
                            "AllowedValues list")
    return tuple(values)


def default_runtime(template: Path = TEMPLATE) -> str:
    """The runtime the stack takes when none is given: parameter `Runtime`, `Default` (one of the allowed ones)."""
    default = _parameter(template, "Runtime").get("Default")
    if default not in allowed_runtimes(template):
        raise TemplateError(f"unable to read the default runtime: parameter Runtime of template {template} has "
                            f"Default {default!r}, not one of its AllowedValues")
    return str(default)
