"""Benchmark: the handler against its floors, warm and cold, and against a naive signer, in one run.

    make bench            # or: python -m scripts.bench [--rounds N] [--strict] [--zip PATH] [--python PATH]

Warm: the floor is one raw ECDSA P-256 signature made with `cryptography` (the one operation SigV4A cannot do
without). Cold: the floor is the target runtime's interpreter importing `_awscrt`, which is what any awscrt signer
pays before it signs anything; it is measured on the default runtime's deployment zip under that CPython run as
`python -I -S -B` (as Lambda runs it: isolated, over a read-only code directory), in callgrind instructions, broken
down step by step, with and without the zip's .pyc files.

Every figure comes from this one run on this machine, and the comparisons are ratios. Instruction counts do not move
with the machine's load; wall-clock figures do, and are labelled so. Batches of the warm contenders are interleaved so
that drift in the machine's speed affects all of them alike.

Only the function's public entry points are driven (`edge.handler.lambda_handler` with an event and the credentials
in the environment, `edge.signing.Signer`), so the bench measures whatever edge/ is, however it is arranged inside.

What is measured is apart from how it is printed:
    contenders.py    the warm contenders: the floor, awscrt alone, the handler on three keys, the naive signer
    naive_signer.py  the naive baseline (what the 2023 AWS sample does per request); not part of the function
    wall_clock.py    warm batches interleaved, and the host's cold start (cold_child.py, run in a fresh interpreter)
    callgrind.py     instruction counts, and the warm ones per call (warm_child.py, run under callgrind)
    cold_start.py    the deployment zip's cold start under the target's CPython, step by step
    report.py        the targets, and the tables and verdicts printed from the figures
    cli.py           the command: which sections run, in which order
"""
