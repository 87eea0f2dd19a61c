"""Flavors Kitaru knows of, and which distribution provides each (for install hints)."""

from __future__ import annotations

KNOWN_FLAVORS: dict[str, str] = {
    "s3": "kitaru-s3",
    "ecr": "kitaru-s3",
    "gcs": "kitaru-gcs",
    "gcp": "kitaru-gcs",
    "azure": "kitaru-azure",
    "acr": "kitaru-azure",
    "kubernetes": "kitaru-k8s",
    "vertex": "kitaru-vertex",
    "sagemaker": "kitaru-sagemaker",
}


def install_hint(flavor: str) -> str | None:
    """`flavor 's3' is provided by kitaru-s3: pip install kitaru-s3`, or None if unknown."""
    dist = KNOWN_FLAVORS.get(flavor)
    return f"flavor {flavor!r} is provided by {dist}: pip install {dist}" if dist else None
