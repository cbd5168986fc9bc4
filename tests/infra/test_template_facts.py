"""The template as the one list of runtimes: read from its parameter Runtime, and refused when it does not say."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from infra.template_facts import TEMPLATE, TemplateError, allowed_runtimes, default_runtime


def write_template(path: Path, runtime: Dict[str, Any]) -> Path:
    path.write_text(json.dumps({"Parameters": {"Runtime": {"Type": "String", **runtime}}}))
    return path


def test_the_runtimes_are_the_project_templates_allowed_values_in_its_order() -> None:
    declared = json.loads(TEMPLATE.read_text(encoding="utf-8"))["Parameters"]["Runtime"]
    assert allowed_runtimes() == tuple(declared["AllowedValues"]) and default_runtime() == declared["Default"]


def test_another_template_gives_its_own_list(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.json", {"AllowedValues": ["python3.14"], "Default": "python3.14"})
    assert (allowed_runtimes(path), default_runtime(path)) == (("python3.14",), "python3.14")


@pytest.mark.parametrize("runtime, reason", [
    ({}, "has no AllowedValues list"),
    ({"AllowedValues": []}, "has no AllowedValues list"),
    ({"AllowedValues": ["python3.13"], "Default": "python3.12"}, "has Default 'python3.12', not one of its"),
], ids=["no list", "an empty list", "a default outside the list"])
def test_a_template_that_does_not_say_is_refused_saying_why(
    tmp_path: Path, runtime: Dict[str, Any], reason: str
) -> None:
    path = write_template(tmp_path / "t.json", runtime)
    with pytest.raises(TemplateError, match=reason):
        default_runtime(path)


def test_a_missing_template_or_parameter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"^unable to read template .*absent.json: "):
        allowed_runtimes(tmp_path / "absent.json")
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(TemplateError, match=r"^unable to find parameter Runtime in template "):
        allowed_runtimes(tmp_path / "empty.json")
