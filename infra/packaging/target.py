"""The target the zip is built for: which runtimes, which platform, how big; the refusals of a target it cannot be.

The runtimes are the template's (`infra.template_facts`): packaging builds exactly what the stack accepts.
"""
from __future__ import annotations

import re
from typing import FrozenSet, Tuple

from packaging.tags import Tag, compatible_tags, cpython_tags

from infra.template_facts import allowed_runtimes, default_runtime

from .errors import PackagingError

__all__ = ["RUNTIMES", "DEFAULT_RUNTIME", "ARCH", "PIP_PLATFORM", "PLATFORMS", "MAX_ZIP_BYTES", "RUNTIME_PROVIDED",
           "python_version", "check_arch", "check_size", "target_tags"]

# The stack's runtimes (the template's parameter Runtime), each a Python that Lambda@Edge runs.
RUNTIMES: Tuple[str, ...] = allowed_runtimes()
DEFAULT_RUNTIME = default_runtime()
ARCH = "x86_64"  # Lambda@Edge runs x86_64 only
PIP_PLATFORM = "manylinux2014_x86_64"
# manylinux2014 = glibc 2.17: older glibc tags load too, newer ones may not.
PLATFORMS: Tuple[str, ...] = ("manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64") + tuple(
    f"manylinux_2_{minor}_x86_64" for minor in range(17, 4, -1)
)
# "50 MB zipped" (Lambda@Edge quotas); counted in decimal megabytes so a zip near the limit is refused, not deployed.
MAX_ZIP_BYTES = 50_000_000
# The runtime ships these and the function does not import them.
RUNTIME_PROVIDED: FrozenSet[str] = frozenset({"boto3", "botocore"})

_RUNTIME_NAME = re.compile(r"^python(\d)\.(\d+)$")


def python_version(runtime: str) -> Tuple[int, int]:
    """(major, minor) of a runtime the stack accepts; any other is refused."""
    found = _RUNTIME_NAME.match(runtime)
    if runtime not in RUNTIMES or not found:
        raise PackagingError(f"unsupported runtime {runtime!r}: the stack takes {', '.join(RUNTIMES)} "
                             "(the template's parameter Runtime)")
    return int(found.group(1)), int(found.group(2))


def check_arch(arch: str) -> None:
    if arch != ARCH:
        raise PackagingError(f"unsupported architecture {arch!r}: Lambda@Edge runs {ARCH} only")


def check_size(size: int) -> None:
    if size >= MAX_ZIP_BYTES:
        raise PackagingError(f"zip is {size} bytes; Lambda@Edge takes at most {MAX_ZIP_BYTES} bytes zipped")


def target_tags(runtime: str) -> FrozenSet[Tag]:
    """The wheel tags the runtime loads on manylinux2014 x86_64."""
    major, minor = python_version(runtime)
    # cp3X-cp3X, cp3X-abi3 and older cp3Y-abi3, then pure-Python py3 tags; platforms as above plus "any".
    tags = set(cpython_tags((major, minor), [f"cp{major}{minor}"], PLATFORMS))
    tags.update(compatible_tags((major, minor), f"cp{major}{minor}", PLATFORMS))
    return frozenset(tags)
