"""One Region's S3 endpoint in a process of its own: moto's S3 application served on 127.0.0.1.

Run as `python -m infra.local.s3.server`; it prints `{"port": N}` once it listens, then serves until its stdin
closes (the parent stopped or died), so it never outlives the stack that started it. It ignores SIGINT: a
terminal's Ctrl-C reaches every process of the foreground group, and stopping is the parent's to decide (it closes
the stdin), so the user sees the demo's clean stop and no traceback from here.

Why a process per Region: moto costs more CPU per request than the rest of the stand-ins together, and in the
stand-ins' process it competes for one interpreter lock with everything else. Why moto's S3 app and not its
all-services server: the all-services dispatcher works out which service a request is for on every request (a
directory listing of moto's modules, behind one lock), which costs as much as answering it; here every request
is for S3. A process per Region also gives each Region a backend of its own, as each Region's bucket is on AWS.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading

__all__ = ["main"]


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Imported here: the parent imports this module's name only, not moto.
    from moto.moto_server.werkzeug_app import create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        def setup(self) -> None:
            super().setup()
            # werkzeug writes the headers and the body separately: on a kept-alive connection Nagle would hold
            # the body back until the client's delayed ACK, about 40 ms per response.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_request(self, *args: object, **kwargs: object) -> None:
            pass  # one access-log line per request, formatted even when the logger drops it

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_backend_app("s3")
    app.debug = False  # moto turns on Flask's debug helpers, which check every request's form data
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="s3", daemon=True).start()
    sys.stdout.write(json.dumps({"port": server.server_address[1]}) + "\n")
    sys.stdout.flush()
    sys.stdin.read()  # until EOF
    # Nothing to keep: the buckets live in this process only. Exiting at once spares the server's shutdown (a poll
    # interval) and moto's teardown, about 1.5 s of every stack's stop.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
