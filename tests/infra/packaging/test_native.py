"""Native libraries: ELF 64-bit little-endian x86-64 only, extension modules of the target's Python only."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from infra.packaging.errors import PackagingError
from infra.packaging.native import check_native_libraries
from infra.packaging.wheels import unpack_wheel


@pytest.mark.parametrize("kind, reason", [("aarch64", r"ELF for AArch64 \(0xb7\), not x86-64"),
                                          ("macos", r"Mach-O \(macOS\) library, not ELF x86-64")],
                         ids=["an arm64 ELF library", "a macOS library"])
def test_a_native_library_for_another_platform_is_refused(
    wrong_wheels: Dict[str, Path], tmp_path: Path, kind: str, reason: str
) -> None:
    unpack_wheel(wrong_wheels[kind], tmp_path)
    with pytest.raises(PackagingError, match=f"^_awscrt.abi3.so: {reason}$"):
        check_native_libraries(tmp_path, "python3.13")


def elf_header(elf_class: int, data: int, machine: int) -> bytes:
    return b"\x7fELF" + bytes([elf_class, data, 1]) + bytes(9) + b"\x03\x00" + machine.to_bytes(2, "little") + bytes(44)


@pytest.mark.parametrize("name, head, reason", [
    ("lib.so", elf_header(1, 1, 0x03), "32-bit ELF, not 64-bit"),
    ("lib.so.1", elf_header(2, 2, 0x3E), "big-endian ELF, not little-endian"),
    ("_x.cpython-39-x86_64-linux-gnu.so", elf_header(2, 1, 0x3E), "extension module for Python 3.9, not python3.13"),
    ("lib.dylib", b"\xcf\xfa\xed\xfe" + bytes(60), r"Mach-O \(macOS\) library"),
    ("x.pyd", b"MZ" + bytes(62), "Windows DLL"),
    ("empty.so", b"", "not an ELF object"),
    ("helper", elf_header(2, 1, 0xB7), "ELF for AArch64"),
], ids=["32-bit", "big-endian", "another Python's extension", "macOS", "Windows", "not ELF", "an unnamed binary"])
def test_native_files_that_are_not_elf_x86_64_are_refused(tmp_path: Path, name: str, head: bytes, reason: str) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / name).write_bytes(head)
    with pytest.raises(PackagingError, match=f"^pkg/{name}: {reason}"):
        check_native_libraries(tmp_path, "python3.13")


def test_an_elf_x86_64_library_passes(tmp_path: Path) -> None:
    (tmp_path / "_x.abi3.so").write_bytes(elf_header(2, 1, 0x3E))
    (tmp_path / "_y.cpython-313-x86_64-linux-gnu.so").write_bytes(elf_header(2, 1, 0x3E))
    (tmp_path / "data.txt").write_text("not native")
    (tmp_path / "image.bin").write_bytes(b"MZ" + bytes(62))  # not named like a library: data
    assert check_native_libraries(tmp_path, "python3.13") == ["_x.abi3.so", "_y.cpython-313-x86_64-linux-gnu.so"]
