"""mrap-edge's version: the one place it is written. Every tool's `--version` prints it; CHANGELOG.md starts here."""

__all__ = ["VERSION"]

VERSION = "0.1.0"
