"""The function's side of the package: `edge/`'s sources and the configuration baked beside them.

The configuration is validated by the function's own `Config`, so that the zip never carries one the function
would refuse at its first request.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional

from edge.config import Config

from .errors import PackagingError
from .wheels import is_left_out

__all__ = ["REPO_ROOT", "EDGE_SOURCE", "CONFIG_NAME", "resolve_config", "copy_function"]

REPO_ROOT = Path(__file__).resolve().parents[2]
EDGE_SOURCE = REPO_ROOT / "edge"
CONFIG_NAME = "mrap-edge.json"  # edge.config.CONFIG_FILE: read by the function beside its code


def resolve_config(config_file: Optional[Path] = None, overrides: Optional[Mapping[str, Any]] = None) -> Config:
    """Defaults < config file < overrides, each validated by the function's own Config.from_mapping."""
    config = Config()
    if config_file is not None:
        try:
            values = json.loads(Path(config_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise PackagingError(f"unable to read configuration {config_file}: {error}") from None
        config = Config.from_mapping(values, source=str(config_file))
    if overrides:
        config = Config.from_mapping({**config.to_mapping(), **overrides}, source="(command-line options)")
    return config


def copy_function(source: Path, root: Path, config: Config) -> None:
    """`source`'s .py files to `root/edge/`, and the configuration as `root/edge/mrap-edge.json`."""
    if not (source / "handler.py").is_file():
        raise PackagingError(f"{source.name}/handler.py not found: nothing to package")
    for path in sorted(source.rglob("*.py")):
        rel = path.relative_to(source)
        if is_left_out(rel.parts):
            continue
        target = root / "edge" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    text = json.dumps(config.to_mapping(), indent=2, sort_keys=True) + "\n"
    (root / "edge" / CONFIG_NAME).write_text(text, encoding="utf-8")
