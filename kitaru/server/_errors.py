"""Every error leaves the server as `{"error": {"type", "message"}}` with a fitting 4xx/5xx status."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from kitaru.errors import KitaruBackendError, KitaruError, KitaruStateError, KitaruUsageError, KitaruWaitValidationError
from kitaru.store import CancelRequested, LeaseLost

log = logging.getLogger("kitaru.server")


class ApiError(Exception):
    """An error with an explicit status and type."""

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def not_found(what: str) -> ApiError:
    """404 for a missing resource."""
    return ApiError(404, "NotFound", f"{what} does not exist")


def forbidden(message: str) -> ApiError:
    """403: authenticated, but not allowed."""
    return ApiError(403, "Forbidden", message)


_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def safe_message(message: str) -> str:
    """An error message with control characters (from names or ids a caller sent) written as visible escapes."""
    return message.translate(_CONTROLS)


def error_body(type_: str, message: str) -> dict[str, Any]:
    """The JSON error document."""
    return {"error": {"type": type_, "message": safe_message(message)}}


def error_response(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON error body."""
    return JSONResponse(error_body(type_, message), status_code=status, headers=headers)


_MAPPED: list[tuple[type[BaseException], int, str]] = [
    (LeaseLost, 409, "LeaseLost"),
    (CancelRequested, 409, "CancelRequested"),
    (KitaruWaitValidationError, 422, "KitaruWaitValidationError"),
    (KitaruStateError, 409, "KitaruStateError"),
    (KitaruUsageError, 422, "KitaruUsageError"),
    (KitaruBackendError, 503, "KitaruBackendError"),
]


_DUPLICATE = "a record with this key already exists"
_UNAVAILABLE = "the database is unavailable; retry later"


def _from_database(exc: BaseException | None) -> bool:
    """Whether an exception comes from a database driver (its text may show SQL, tables or hosts)."""
    while exc is not None:
        if type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg", "sqlalchemy", "_sqlite3"):
            return True
        exc = exc.__cause__
    return False


def classify_error(exc: BaseException) -> tuple[int, str, str]:
    """(HTTP status, error type, message) for an exception raised while serving a request.

    A message never carries a database's own error text: database errors get fixed messages.
    """
    if isinstance(exc, ApiError):
        return exc.status, exc.type, exc.message
    if isinstance(exc, sqlite3.IntegrityError):
        return 409, "Duplicate", _DUPLICATE
    if isinstance(exc, KitaruBackendError) and _from_database(exc.__cause__):
        return 503, "KitaruBackendError", _UNAVAILABLE
    for kind, status, name in _MAPPED:
        if isinstance(exc, kind):
            return status, name, str(exc) or name
    module = type(exc).__module__
    if module.startswith("psycopg"):
        import psycopg

        if isinstance(exc, psycopg.IntegrityError):
            return 409, "Duplicate", _DUPLICATE
        if isinstance(exc, (psycopg.DataError, psycopg.ProgrammingError)):
            return 422, "InvalidValue", "a value is out of range or malformed for the database"
        if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
            return 503, "KitaruBackendError", _UNAVAILABLE
    if module.startswith("sqlalchemy"):
        name = type(exc).__name__
        if name == "IntegrityError":
            return 409, "Duplicate", _DUPLICATE
        if name in ("DataError", "ProgrammingError"):
            return 422, "InvalidValue", "a value is out of range or malformed for the database"
        if name in ("OperationalError", "InterfaceError", "TimeoutError"):
            return 503, "KitaruBackendError", _UNAVAILABLE
    if module.startswith("sqlite3"):
        if isinstance(exc, sqlite3.OperationalError):
            return 503, "KitaruBackendError", _UNAVAILABLE
        return 422, "InvalidValue", "a value is out of range or malformed for the database"
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return 422, "InvalidValue", str(exc) or type(exc).__name__
    return 500, "InternalError", "internal server error"


def install_error_handlers(app: FastAPI, *, database_errors: bool = True) -> None:
    """Map domain, validation and database errors to JSON error bodies (`database_errors`: also SQLAlchemy's
    and psycopg's, which only their databases raise; the catch-all maps them too, with a logged traceback)."""

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        status, type_, message = classify_error(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
        return error_response(status, type_, message)

    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        names = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed"}
        headers: dict[str, Any] | None = getattr(exc, "headers", None)
        return error_response(exc.status_code, names.get(exc.status_code, "HTTPError"), str(exc.detail), headers)

    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()[:5])
        return error_response(422, "ValidationError", problems or "invalid request")

    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, on_http)  # type: ignore[arg-type]
    handled: list[type[Exception]] = [ApiError, KitaruError, LeaseLost, CancelRequested, sqlite3.Error, ValueError,
                                          TypeError, KeyError]
    if database_errors:
        try:
            from sqlalchemy.exc import SQLAlchemyError

            handled.append(SQLAlchemyError)
        except ImportError:  # pragma: no cover - sqlalchemy is a core dependency
            pass
        try:
            import psycopg

            handled.append(psycopg.Error)
        except ImportError:  # without kitaru[postgres]
            pass
    for kind in handled:
        app.add_exception_handler(kind, on_error)
    app.add_exception_handler(Exception, on_error)  # last resort: 500 with a JSON body
