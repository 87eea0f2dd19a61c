"""Liveness and readiness (no auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from kitaru.server._deps import Ctx

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
def ready(ctx: Ctx) -> Any:
    """The database answers (503 otherwise)."""
    try:
        ctx.state.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return JSONResponse({"status": "unavailable", "error": {"type": "KitaruBackendError",
                                                                "message": type(exc).__name__}}, status_code=503)
    return {"status": "ready"}
