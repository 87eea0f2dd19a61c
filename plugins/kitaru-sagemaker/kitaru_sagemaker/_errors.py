"""SageMaker / STS refusals as Kitaru errors that say what to do next."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kitaru.errors import KitaruBackendError


class SageMakerError(KitaruBackendError):
    """SageMaker (or STS, CloudWatch Logs) refused a request; `code` is AWS's error code."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class SageMakerJobNotFoundError(SageMakerError):
    """The training job does not exist (in this account and region)."""


_HINTS = {
    "AccessDeniedException": "the identity lacks a permission: see the IAM section of the kitaru-sagemaker README",
    "AccessDenied": "the identity lacks a permission: see the IAM section of the kitaru-sagemaker README",
    "ResourceLimitExceeded": "raise the account's SageMaker quota for this instance type, or pick another",
    "ResourceInUse": "a training job of that name exists already",
}


@contextmanager
def translate(action: str) -> Iterator[None]:
    """Turn botocore errors inside the block into `SageMakerError`s naming `action`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code, msg = str(err.get("Code", "")), str(err.get("Message", exc))
        if code == "ValidationException" and ("not found" in msg.lower() or "does not exist" in msg.lower()):
            raise SageMakerJobNotFoundError(f"cannot {action}: {msg}", code) from None
        hint = _HINTS.get(code)
        raise SageMakerError(f"cannot {action}: {code}: {msg}" + (f"; {hint}" if hint else ""), code) from None
    except BotoCoreError as exc:
        raise SageMakerError(f"cannot {action}: {exc} (check the region, `endpoint_url` and the network)") from None
