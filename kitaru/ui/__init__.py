"""The web UI: server-rendered pages (Jinja2) + one small script, mounted at `/` next to the API.

`mount_ui(app)` adds it to the server app; `kitaru ui` (kitaru/ui/_local.py) serves it over the
embedded store on 127.0.0.1, protected by a per-start token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kitaru.ui._web import HERE

__all__ = ["HERE", "mount_ui"]


def mount_ui(app: Any) -> None:
    """Add the UI's pages, static files and error pages to a Kitaru server app (the API stays at /api/v1)."""
    from fastapi import Request
    from fastapi.responses import JSONResponse, RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles

    from kitaru.errors import KitaruError
    from kitaru.server._errors import ApiError, classify_error
    from kitaru.ui import _actions, _memory, _pages
    from kitaru.ui._session import CsrfRejected, NotLoggedIn
    from kitaru.ui._web import SECURITY_HEADERS, render

    app.mount("/ui-static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(_actions.router)
    app.include_router(_pages.router)
    app.include_router(_memory.router)
    api_handler = app.exception_handlers.get(ApiError)

    def is_api(request: Request) -> bool:
        return request.url.path.startswith(("/api/", "/ui/api/"))

    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if is_api(request) or request.method != "GET":
            return JSONResponse({"error": {"type": "Unauthorized", "message": "log in first"}}, status_code=401,
                                headers=SECURITY_HEADERS)
        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303, headers=SECURITY_HEADERS)

    async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        return render(request, "error.html", status_code=403, status=403,
                      message="This form expired or did not come from this site (CSRF check failed). Reload the"
                              " page and try again.")

    async def ui_error(request: Request, exc: Exception) -> Response:
        if is_api(request) and api_handler is not None:
            response: Response = await api_handler(request, exc)
            return response
        status, _, message = classify_error(exc)
        if is_api(request):
            return JSONResponse({"error": {"type": _, "message": message}}, status_code=status)
        return render(request, "error.html", status_code=status, status=status, message=message)

    app.add_exception_handler(NotLoggedIn, not_logged_in)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
    app.add_exception_handler(ApiError, ui_error)
    app.add_exception_handler(KitaruError, ui_error)
