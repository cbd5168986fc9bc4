"""The function's side of the zip: edge/ and the configuration it reads, validated by the function's own Config."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.config import Config
from edge.errors import ConfigError
from infra.packaging import PackageResult
from infra.packaging.errors import PackagingError
from infra.packaging.function import copy_function, resolve_config

from .helpers import BAKED, extract, run_isolated


def test_options_override_the_config_file_and_both_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "edge.json"
    path.write_text(json.dumps({"log_level": "info", "query_allowlist": ["versionId"]}))
    config = resolve_config(path, {"allowed_methods": ["get"]})
    assert (config.log_level, config.query_allowlist, config.allowed_methods) == ("INFO", ("versionId",), ("GET",))
    path.write_text(json.dumps({"log_level": "LOUD"}))
    with pytest.raises(ConfigError, match="edge.json: log_level: 'LOUD' is not one of"):
        resolve_config(path)
    with pytest.raises(ConfigError, match=r"\(command-line options\): allowed_methods: 'POST' is not one of"):
        resolve_config(None, {"allowed_methods": ["POST"]})
    with pytest.raises(PackagingError, match=r"^unable to read configuration .*missing.json: "):
        resolve_config(tmp_path / "missing.json")


def test_a_source_without_a_handler_is_refused(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    with pytest.raises(PackagingError, match="^src/handler.py not found: nothing to package$"):
        copy_function(tmp_path / "src", tmp_path / "root", Config())


def test_the_baked_configuration_is_what_the_function_reads(package: PackageResult, tmp_path: Path) -> None:
    # edge.config needs only the stdlib, so the host reads it from either zip with the function's own loader.
    root = extract(package.path, tmp_path / "zip")
    read = run_isolated(root, "from edge.config import load_config, CONFIG_FILE; "
                              "print(json.dumps([str(CONFIG_FILE), load_config().to_mapping()]))")
    assert Path(read[0]) == (root / "edge" / "mrap-edge.json").resolve()
    assert read[1] == BAKED.to_mapping()
