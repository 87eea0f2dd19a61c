"""KITARU_* environment variables that set configuration options.

Read on every run, in every runner process: a plain reader (no pydantic-settings, whose import alone cost
each runner about 140 ms). The values stay strings; `KitaruConfig` coerces and validates them like any layer.
"""

from __future__ import annotations

import os
from typing import Any

OPTIONS = ("stack", "image", "project", "cache", "retries", "default_model", "lease_ttl", "auto_recover",
           "wait_timeout", "interactive", "log_capture", "server_url")
"""The options a KITARU_<OPTION> variable sets (names are case-insensitive, as on Windows)."""


def read_env() -> dict[str, Any]:
    """The configuration options set through KITARU_* variables."""
    found = {name.upper(): value for name, value in os.environ.items() if name[:7].upper() == "KITARU_"}
    values: dict[str, Any] = {o: found[f"KITARU_{o.upper()}"] for o in OPTIONS if f"KITARU_{o.upper()}" in found}
    image = values.get("image")
    if isinstance(image, str) and image.strip().startswith("{"):  # KITARU_IMAGE as JSON ImageSettings
        import json

        try:
            values["image"] = json.loads(image)
        except ValueError as exc:
            from kitaru.errors import KitaruUsageError

            raise KitaruUsageError(f"KITARU_IMAGE is not valid JSON ({exc}); give an image name or a JSON object"
                                   " of ImageSettings fields") from None
    return values
