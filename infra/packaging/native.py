"""The native libraries of the package: every one an ELF 64-bit little-endian x86-64 object, every version-specific
extension module the target's Python's; a Mach-O, a DLL or another machine's ELF is refused, saying which it is."""
from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import List, Optional

from .errors import PackagingError
from .target import python_version

__all__ = ["check_native_libraries"]

_ELF_MACHINES = {0x03: "x86", 0x28: "ARM", 0x3E: "x86-64", 0xB7: "AArch64", 0xF3: "RISC-V"}
_MACHO_MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_NATIVE_SUFFIX = re.compile(r"\.(so(\.[0-9.]+)?|dylib|pyd|dll)$")
_EXTENSION_VERSION = re.compile(r"\.cpython-(\d)(\d+)")


def _elf_problem(head: bytes) -> Optional[str]:
    """Why an ELF header is not a 64-bit little-endian x86-64 object, or None if it is."""
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return "truncated ELF header"
    if head[4] != 2:  # e_ident[EI_CLASS]: 2 = ELFCLASS64
        return "32-bit ELF, not 64-bit"
    if head[5] != 1:  # e_ident[EI_DATA]: 1 = little-endian
        return "big-endian ELF, not little-endian"
    (machine,) = struct.unpack_from("<H", head, 18)  # e_machine
    if machine != 0x3E:
        return f"ELF for {_ELF_MACHINES.get(machine, 'machine')} (0x{machine:x}), not x86-64"
    return None


def _extension_problem(name: str, runtime: str) -> Optional[str]:
    """A version-specific extension module names its Python: it must be the target's."""
    found = _EXTENSION_VERSION.search(name)
    if found and (int(found.group(1)), int(found.group(2))) != python_version(runtime):
        return f"extension module for Python {found.group(1)}.{found.group(2)}, not {runtime}"
    return None


def _native_problem(path: Path, runtime: str) -> Optional[str]:
    with path.open("rb") as file:
        head = file.read(64)
    if head.startswith(b"\x7fELF"):
        return _elf_problem(head) or _extension_problem(path.name, runtime)
    if not _NATIVE_SUFFIX.search(path.name):
        return None  # not named like a library, and not ELF: data or Python
    if head[:4] in _MACHO_MAGICS:
        return "Mach-O (macOS) library, not ELF x86-64"
    if head[:2] == b"MZ":
        return "Windows DLL, not ELF x86-64"
    return "not an ELF object"


def check_native_libraries(root: Path, runtime: str) -> List[str]:
    """Every native library under `root` must be ELF 64-bit x86-64; returns their paths relative to `root`."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        problem = _native_problem(path, runtime)
        if problem:
            raise PackagingError(f"{rel}: {problem}")
        with path.open("rb") as file:
            if file.read(4) == b"\x7fELF":
                found.append(rel)
    return found
