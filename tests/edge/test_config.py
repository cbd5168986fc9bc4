"""Configuration: defaults, the packaged file, and clear refusals; a broken file makes every request fail closed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import Config, load_config
from edge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_when_the_file_is_absent(tmp_path: Path) -> None:
    config = load_config(tmp_path / "mrap-edge.json")
    assert config == Config()
    assert config.failover_header == "originTypeFailover"
    assert config.query_allowlist == ("versionId", "partNumber")
    assert config.allowed_methods == ("GET", "HEAD")
    assert config.log_level == "WARNING"


def test_the_file_overrides_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mrap-edge.json"
    path.write_text(json.dumps({"failover_header": "X-Secondary", "query_allowlist": ["versionId"],
                                "allowed_methods": ["get", "HEAD", "OPTIONS"], "log_level": "debug",
                                "mrap_host_patterns": ["*.mrap.accesspoint.s3-global.amazonaws.com",
                                                       "assets.internal.example.com"]}))
    config = load_config(path)
    assert config.failover_header == "X-Secondary"
    assert config.allowed_methods == ("GET", "HEAD", "OPTIONS")
    assert config.log_level == "DEBUG"
    assert config.is_mrap_host("assets.internal.example.com")
    assert Config.from_mapping(config.to_mapping()) == config


@pytest.mark.parametrize("values, message", [
    ({"failover_header": "bad header"}, "failover_header: not a header name"),
    ({"failover_header": "X-Amz-Failover"}, "X-Amz-*"),
    ({"mrap_host_patterns": []}, "at least one pattern"),
    ({"mrap_host_patterns": ["https://x.example.com/"]}, "not a host pattern"),
    ({"query_allowlist": ["X-Amz-Signature"]}, "signature parameter"),
    ({"query_allowlist": ["a=b"]}, "not a parameter name"),
    ({"query_allowlist": ["a b"]}, "not a parameter name"),
    ({"query_allowlist": [""]}, "not a parameter name"),
    ({"query_allowlist": "versionId"}, "expected a list of strings"),
    ({"allowed_methods": ["GET", "DELETE"]}, "'DELETE' is not one of GET, HEAD, OPTIONS"),
    ({"allowed_methods": []}, "at least one method"),
    ({"log_level": "LOUD"}, "log_level"),
    ({"log_level": 10}, "expected a string"),
    ({"failover_headr": "x"}, "unknown key 'failover_headr'"),
])
def test_bad_values_are_refused_naming_the_file_and_key(tmp_path: Path, values, message) -> None:
    path = tmp_path / "mrap-edge.json"
    path.write_text(json.dumps(values))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "mrap-edge.json" in str(error.value) and message in str(error.value)


def test_a_pattern_may_use_a_star_for_any_label() -> None:
    assert Config(mrap_host_patterns=("*.mrap.*",)).is_mrap_host("abc.mrap.example")


def test_invalid_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mrap-edge.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(path)


def test_host_patterns_match_one_label_per_star_and_nothing_more() -> None:
    config = Config()
    assert config.is_mrap_host("mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com")
    assert config.is_mrap_host("MFZWI23GNJVGW.MRAP.accesspoint.s3-global.amazonaws.com.")
    assert not config.is_mrap_host("a.b.mrap.accesspoint.s3-global.amazonaws.com")
    assert not config.is_mrap_host("mfzwi23gnjvgw.accesspoint.s3-global.amazonaws.com")
    assert not config.is_mrap_host("x.mrap.accesspoint.s3-global.amazonaws.com.evil.example")
    assert not config.is_mrap_host("bucket.s3.eu-west-2.amazonaws.com")


def test_a_broken_packaged_file_makes_every_request_fail_closed_with_a_reason(tmp_path: Path) -> None:
    # GIVEN the function as packaged, with a bad configuration file beside the code
    shutil.copytree(ROOT / "edge", tmp_path / "edge", ignore=shutil.ignore_patterns("__pycache__", "*.json"))
    (tmp_path / "edge" / "mrap-edge.json").write_text(json.dumps({"log_level": "LOUD"}))
    event = (ROOT / "tests" / "fixtures" / "events" / "mrap-get.json").read_text()
    script = (
        "import json, sys; from edge.handler import lambda_handler; "
        "print(json.dumps(lambda_handler(json.loads(sys.stdin.read()), None)))"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path), AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="x")
    # WHEN it is imported and invoked
    done = subprocess.run([sys.executable, "-c", script], input=event, capture_output=True, text=True, env=env,
                          cwd=tmp_path, check=True)
    # THEN import logs the reason once and the request gets a generated 500, not a stack trace
    lines = done.stdout.strip().splitlines()
    import_error, response = json.loads(lines[0]), json.loads(lines[-1])
    assert import_error["error"] == "ConfigError" and "log_level" in import_error["message"]
    assert response["status"] == "500" and "authorization" not in response["headers"]
