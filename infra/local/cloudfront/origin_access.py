"""Native mode: CloudFront's origin access control with `SigningProtocol: sigv4a` on the MRAP origin, as the
stand-in plays it (CloudFront Developer Guide, "Restrict access to an Amazon S3 Multi-Region Access Point origin").

- CloudFront signs every request to the MRAP itself, after its cache and origin request policies have chosen what
  is forwarded, with credentials of its own (never the function role's): SigV4A, scope `s3`, region set `*`. S3
  knows the request comes from the service principal `cloudfront.amazonaws.com` for this distribution
  (`aws:SourceArn`), which the MRAP policy must allow. No function runs.
- "Lambda@Edge origin triggers (both origin request and origin response) are incompatible with origins that use a
  SigV4a OAC, whether the origin is accessed directly or through an origin group": a distribution configured so is
  refused before it serves anything, as CloudFront's API refuses the configuration. The error code CloudFront
  returns for it is not documented, so the refusal names none.

The signature is botocore's CRT SigV4A signer (`wire.sigv4a_signed_headers`, awscrt underneath), never the
function's own code in `edge/`: the stand-in plays CloudFront, and S3's side (`infra.local.s3.verifier`) judges it
without either.
"""
from __future__ import annotations

from typing import Optional

from infra.local.cloudfront.settings import DistributionSettings

__all__ = ["SIGV4A", "ORIGIN_TRIGGERS", "signs_natively", "native_refusal"]

SIGV4A = "sigv4a"
# The Lambda@Edge event types that run for an origin ("origin triggers").
ORIGIN_TRIGGERS = ("origin-request", "origin-response")


def signs_natively(settings: DistributionSettings) -> bool:
    """Whether CloudFront itself signs requests to the MRAP origin (a sigv4a origin access control on it)."""
    return settings.primary_oac_protocol == SIGV4A


def native_refusal(settings: DistributionSettings) -> Optional[str]:
    """CloudFront's refusal of a distribution whose MRAP origin (reached directly or through the origin group, as
    the default behaviour does) uses a sigv4a origin access control while the behaviour has an origin trigger."""
    triggers = [event for event in settings.function_events if event in ORIGIN_TRIGGERS]
    if not signs_natively(settings) or not triggers:
        return None
    return (f"unable to start the distribution: a Lambda@Edge {' and '.join(triggers)} trigger on origin "
            f"{settings.primary.origin_id} (through its origin group), which uses a SigV4a origin access control; "
            f"CloudFront refuses this configuration (its error code is not documented): use NativeMode=false (the "
            f"function signs) or remove the trigger")
