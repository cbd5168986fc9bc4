"""An independent SigV4/SigV4A verifier that plays S3, for tests and the local MRAP stand-in.

`sigv4a` holds the specification steps; `s3` applies S3's rules on top. Neither uses awscrt or botocore.
"""
from .s3 import Credentials, S3Refusal, S3Verifier, VerifiedRequest

__all__ = ["Credentials", "S3Refusal", "S3Verifier", "VerifiedRequest"]
