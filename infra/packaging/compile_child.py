"""A program, never imported: `bytecode.compile_bytecode` runs it in the target's interpreter as
`python -I -S compile_child.py ROOT`, with the paths to compile (relative to ROOT) one a line on stdin.

It writes each `.pyc` where that interpreter's import system looks for it, then prints the interpreter's version.
Invalidation mode: UNCHECKED_HASH. A timestamp .pyc is valid only while the source's mtime and size match the ones
recorded in it; the zip stores every file at 1980-01-01 and what modification times Lambda's unpacked copy ends up
with is not ours to choose, so a timestamp .pyc may be judged stale and the module compiled at each cold start
(the code directory is read-only, so nothing is ever cached). A hash-based .pyc carries the SipHash of its source
instead: CHECKED_HASH reads and hashes every source at each import to compare; UNCHECKED_HASH trusts the .pyc.
The zip is immutable and its .py and .pyc files are made together, so there is nothing for a check to find, and
UNCHECKED_HASH does the least work at import. (The tests check each .pyc's hash against its source, so a stale one
cannot slip in unseen.) `dfile` records the path inside the zip, not the build's temporary directory, so that the
bytes do not depend on where the build ran; the import system puts the real path into the code objects when it
loads them.
"""
from __future__ import annotations

import os
import py_compile
import sys


def main() -> None:
    root = sys.argv[1]
    for rel in sys.stdin.read().splitlines():
        try:
            py_compile.compile(os.path.join(root, rel), dfile=rel, doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        except py_compile.PyCompileError as error:
            sys.exit(f"{rel}: does not compile under Python {sys.version.split()[0]}: {error.exc_value}")
    print(sys.version.split()[0])


if __name__ == "__main__":
    main()
