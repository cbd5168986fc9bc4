"""An example web app whose images come through CloudFront with signed URLs or signed cookies (see app.py)."""
from .app import AppConfig, ImagesApp, bucket_lister

__all__ = ["AppConfig", "ImagesApp", "bucket_lister"]
