"""Deploy tooling for mrap-edge on AWS: stack, buckets, probes, teardown and fixture recording.

The `scripts/` entry points are thin CLIs over the modules here; every AWS client comes from a `ClientFactory`
so that tests can hand in moto-backed clients or botocore Stubbers.
"""
