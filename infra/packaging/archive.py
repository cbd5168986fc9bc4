"""The zip itself: reproducible (same tree, same bytes), named by its SHA-256, published whole or not at all."""
from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

__all__ = ["ZIP_DATE", "ZIP_LEVEL", "write_zip", "file_sha256", "publish"]

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
ZIP_LEVEL = 9


def write_zip(root: Path, path: Path) -> None:
    """Sorted entries, one timestamp, one mode per kind, one compression level: same tree, same bytes."""
    entries = sorted(
        p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.rglob("*")
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, so that the modes below are read on every host OS
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10  # 0x10: the MS-DOS directory flag
                archive.writestr(info, b"", compress_type=zipfile.ZIP_STORED)
            else:
                info.external_attr = 0o100644 << 16
                data = (root / name).read_bytes()
                archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file: the zip's name in S3 and the Lambda version's trigger."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish(built: Path, out_dir: Path, sha256: str) -> Path:
    """Copy the checked zip to `out_dir/mrap-edge-<sha256[:16]>.zip`; a reader never sees it half-written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"mrap-edge-{sha256[:16]}.zip"
    partial = out_dir / f".{final.name}.partial"
    shutil.copyfile(built, partial)
    os.replace(partial, final)
    return final
