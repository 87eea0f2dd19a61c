"""The inline session policy that scopes minted STS credentials to one bucket prefix."""

from __future__ import annotations

from typing import Any, Literal

READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]
WRITE_ACTIONS = [*READ_ACTIONS, "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                 "s3:ListMultipartUploadParts"]


def partition_of(region: str) -> str:
    """The ARN partition of a region (aws, aws-cn, aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def scoped_policy(bucket: str, prefix: str, access: Literal["read", "write"], *, region: str = "us-east-1") -> dict[str, Any]:
    """Allow object reads (and writes for `write`) under `bucket/prefix/`, and listing of that prefix only."""
    arn = f"arn:{partition_of(region)}:s3:::{bucket}"
    prefix = prefix.strip("/")
    objects = f"{arn}/{prefix}/*" if prefix else f"{arn}/*"
    listing: dict[str, Any] = {"Sid": "KitaruListPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn}
    if prefix:
        # the trailing slash matters: prefix "kitaru" would also list "kitaru-prod/..."
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}/", f"{prefix}/*"]}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "KitaruObjects", "Effect": "Allow", "Action": WRITE_ACTIONS if access == "write" else READ_ACTIONS,
             "Resource": objects},
            listing,
        ],
    }
