"""Build the Lambda@Edge deployment zip: wheels for the target runtime (never the host's), `edge/`, its configuration.

The zip is reproducible (same inputs, same bytes) and checked before it is declared good: every wheel's tags fit the
target runtime on manylinux2014 x86_64, every native library is an ELF x86-64 object, the function imports and signs
an MRAP origin request from the extracted zip in an isolated interpreter, and the size is under Lambda@Edge's limit.
It carries `.pyc` files compiled by the target runtime's own CPython.

Where each decision lives:
    target.py        the runtimes (the template's), the platform, the size limit; refusals of a target
    wheels.py        the wheels for the target: downloaded, their tags checked, their run-time files unpacked
    native.py        every native library ELF 64-bit x86-64 and the target's
    function.py      edge/'s sources and the configuration baked beside them
    bytecode.py      the .pyc files, compiled by the target's CPython (compile_child.py, run in it)
    archive.py       the reproducible zip, its SHA-256, published whole or not at all
    smoke.py         the import-and-sign check in isolation (smoke_child.py, run in the checked interpreter)
    interpreters.py  finding the target's CPython on this machine; the bare environment of every check
    build.py         the whole build in order, and its summary
    cli.py           the command (scripts/package): options, one-line refusals

Entry point for other code: `build_package(...) -> PackageResult`. Every refusal is a PackagingError (or the
function's own ConfigError) whose message is one line saying why.
"""
from __future__ import annotations

from .archive import file_sha256
from .build import PackageResult, build_package, summary
from .errors import PackagingError
from .function import REPO_ROOT, resolve_config
from .interpreters import find_python, python_search_places
from .target import ARCH, DEFAULT_RUNTIME, MAX_ZIP_BYTES, RUNTIMES, check_arch, python_version

__all__ = ["RUNTIMES", "DEFAULT_RUNTIME", "ARCH", "MAX_ZIP_BYTES", "REPO_ROOT", "PackagingError", "PackageResult",
           "python_version", "check_arch", "resolve_config", "find_python", "python_search_places", "build_package",
           "file_sha256", "summary"]
