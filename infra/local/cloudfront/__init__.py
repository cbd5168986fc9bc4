"""The CloudFront stand-in: the distribution, its rules, events, signed requests and settings.

Nothing is imported here, so that importing one module (the verifier, say) loads nothing else."""
