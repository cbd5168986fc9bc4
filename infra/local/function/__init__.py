"""The function as Lambda@Edge runs it: execution environments per edge location.

Nothing is imported here, so that importing one module (the verifier, say) loads nothing else."""
