"""The S3 stand-ins: the Multi-Region Access Point, the Regional buckets, replication, who may read what, and the
independent verifier.

Nothing is imported here, so that importing one module (the verifier, say) loads nothing else."""
