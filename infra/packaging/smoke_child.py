"""A program, never imported: `smoke.run_smoke` runs it as `python -I -S -B smoke_child.py ROOT`, ROOT being the
extracted zip, with a CloudFront origin-request event on stdin; it prints one JSON line of facts and the parent
judges them.

-I -S -B: only the zip and the standard library on sys.path, and no .pyc written, because Lambda's code directory
is read-only so a cold container never writes one either. `compiled` lists the zip's files the import system
compiled from source instead of loading their .pyc: it reads a valid .pyc without calling
SourceLoader.source_to_code, and compiles through it when the .pyc is missing, stale or another Python's.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List


def record_compilations(compiled: List[str]) -> None:
    """Append to `compiled` the real path of every source the import system compiles from now on."""
    loader = sys.modules["_frozen_importlib_external"].SourceLoader
    source_to_code = loader.source_to_code

    def recording(self: Any, data: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        compiled.append(os.path.realpath(path))
        return source_to_code(self, data, path, *args, **kwargs)

    loader.source_to_code = recording


def stray_paths(root: str) -> List[str]:
    """Entries of sys.path that reach beyond the zip and the standard library."""
    base = os.path.realpath(sys.base_prefix)
    return [p for p in sys.path if os.path.realpath(p) != root and (
        not os.path.realpath(p).startswith(base + os.sep) or "site-packages" in p or "dist-packages" in p)]


def main() -> None:
    root = os.path.realpath(sys.argv[1])
    compiled: List[str] = []
    record_compilations(compiled)
    sys.path.insert(0, root)
    stray = stray_paths(root)
    import _awscrt
    import awscrt
    import edge.config
    import edge.handler

    files = {m.__name__: os.path.realpath(str(m.__file__)) for m in (edge.handler, awscrt, _awscrt)}
    result: Dict[str, Any] = edge.handler.lambda_handler(json.loads(sys.stdin.read()), None)
    auth = (result.get("headers", {}).get("authorization") or [{"value": ""}])[0]["value"]
    print(json.dumps({
        "python": sys.version.split()[0], "stray": stray,
        "outside": sorted(name for name, file in files.items() if not file.startswith(root + os.sep)),
        "config": edge.config.load_config().to_mapping(), "status": result.get("status"), "authorization": auth,
        "compiled": sorted(os.path.relpath(f, root) for f in compiled if f.startswith(root + os.sep)),
    }))


if __name__ == "__main__":
    main()
