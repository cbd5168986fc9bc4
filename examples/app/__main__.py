"""Run the example app against a deployed distribution:

    python -m examples.app --key-pair-id K2JCJMDEHXQW5F --private-key cloudfront-signing-key.pem \\
        --distribution-domain images.example.com --bucket my-london-bucket [--prefix photos/] [--port 8000]

The bucket is listed with boto3 and the usual AWS credentials; images are loaded by the browser through CloudFront.
Bad input is one line and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
import threading
from typing import Optional, Sequence

from signedlinks import SignedLinksError

from .app import AppConfig, ImagesApp, bucket_lister
from .server import start_server


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--key-pair-id", required=True, help="stack output SignedUrlKeyPairId1 (K...)")
    parser.add_argument("--private-key", required=True, help="the key pair's PEM private key file")
    parser.add_argument("--distribution-domain", required=True,
                        help="the distribution's alternate domain name, e.g. images.example.com")
    parser.add_argument("--bucket", required=True, help="the bucket whose images the page lists")
    parser.add_argument("--prefix", default="", help="list only keys under this prefix")
    parser.add_argument("--region", help="the bucket's Region (default: the AWS configuration's)")
    parser.add_argument("--cookie-domain", help="Domain of the signed cookies (default: the parent domain the "
                                                "app's host and the distribution's share)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        import boto3

        config = AppConfig(args.key_pair_id, args.private_key, args.distribution_domain, args.prefix,
                           cookie_domain=args.cookie_domain)
        app = ImagesApp(config, bucket_lister(boto3.client("s3", region_name=args.region), args.bucket, args.prefix))
        server = start_server(app, args.host, args.port)
    except (SignedLinksError, ValueError, OSError) as error:
        print(f"example app: {error}", file=sys.stderr)
        return 2
    print(f"serving {server.url()}/ (signed URLs) and {server.url()}/cookies (signed cookies) until Ctrl-C")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
