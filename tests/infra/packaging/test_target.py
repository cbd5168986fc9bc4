"""The target: exactly the runtimes the template allows, x86_64 only, under Lambda@Edge's size limit."""
from __future__ import annotations

import pytest

from infra.packaging import target
from infra.packaging.errors import PackagingError
from infra.template_facts import allowed_runtimes, default_runtime


def test_the_runtimes_are_the_templates_and_the_default_is_its_default() -> None:
    assert target.RUNTIMES == allowed_runtimes() and set(target.RUNTIMES) == {"python3.12", "python3.13"}
    assert target.DEFAULT_RUNTIME == default_runtime() == "python3.13"
    assert [target.python_version(runtime) for runtime in ("python3.12", "python3.13")] == [(3, 12), (3, 13)]


@pytest.mark.parametrize("runtime", ["python3.8", "python3.11", "python3.14", "3.13", "nodejs20.x"])
def test_a_runtime_the_template_does_not_allow_is_refused(runtime: str) -> None:
    with pytest.raises(PackagingError, match=rf"^unsupported runtime '{runtime}': the stack takes python3.13, "
                                             r"python3.12 \(the template's parameter Runtime\)$"):
        target.python_version(runtime)


def test_arm64_is_refused() -> None:
    target.check_arch("x86_64")
    with pytest.raises(PackagingError, match="^unsupported architecture 'arm64': Lambda@Edge runs x86_64 only$"):
        target.check_arch("arm64")


def test_a_zip_over_the_limit_is_refused() -> None:
    target.check_size(target.MAX_ZIP_BYTES - 1)
    with pytest.raises(PackagingError, match="at most 50000000 bytes"):
        target.check_size(target.MAX_ZIP_BYTES)


def test_the_target_loads_its_own_and_older_abi3_builds_and_pure_python() -> None:
    tags = {str(tag) for tag in target.target_tags("python3.12")}
    assert {"cp312-cp312-manylinux2014_x86_64", "cp311-abi3-manylinux2014_x86_64", "py3-none-any"} <= tags
    assert "cp313-abi3-manylinux2014_x86_64" not in tags and "cp312-cp312-manylinux_2_28_x86_64" not in tags
