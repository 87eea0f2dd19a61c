"""Configuration models users import: `KitaruConfig` and `ImageSettings`.

Plain frozen dataclasses with explicit validation: resolving the configuration is on the path
of every run, and a first run from an empty directory has a 0.5 s budget that importing
pydantic alone would eat a fifth of.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from kitaru.errors import KitaruUsageError

_SECRET_KEY = re.compile(r"(key|token|secret|password|passwd|credential)", re.IGNORECASE)
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class ConfigValidationError(KitaruUsageError):
    """Invalid configuration values; `problems` lists (field path, message) pairs."""

    def __init__(self, model: str, problems: list[tuple[tuple[str, ...], str]]) -> None:
        self.problems = problems
        listed = "; ".join(f"{'.'.join(loc)}: {msg}" for loc, msg in problems)
        super().__init__(f"invalid {model}: {listed}")


def _coerce(name: str, value: Any, kind: str, problems: list[tuple[tuple[str, ...], str]]) -> Any:
    """Coerce one value to bool/int/float/str/str-list/str-dict, recording a problem if it cannot be."""
    if value is None:
        return None
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, str)) and str(value).strip().lower() in _TRUE | _FALSE:
                return str(value).strip().lower() in _TRUE
            raise ValueError("expected a boolean")
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError("expected an integer")
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError("expected a number")
            return float(value)
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError("expected a string")
            return value
        if kind == "list":
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValueError("expected a list of strings")
            return list(value)
        if kind == "dict":
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError("expected a mapping of strings")
            return {k: str(v) for k, v in value.items()}
    except (TypeError, ValueError) as exc:
        problems.append(((name,), f"{exc} (got {value!r})"))
    return None


class _Model:
    """model_dump / model_fields / model_validate, so code written for the pydantic models keeps working."""

    _kinds: ClassVar[dict[str, str]]
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]  # every subclass is a dataclass
    model_fields: ClassVar[dict[str, dataclasses.Field[Any]]]  # set on each subclass below

    @classmethod
    def _fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def model_dump(self, *, mode: str = "python", exclude_none: bool = False) -> dict[str, Any]:
        """The values as a dict (nested settings as dicts)."""
        out: dict[str, Any] = {}
        for name in self._fields():
            value = getattr(self, name)
            if isinstance(value, _Model):
                value = value.model_dump(mode=mode, exclude_none=exclude_none)
            if exclude_none and value is None:
                continue
            out[name] = value
        return out

    @classmethod
    def model_validate(cls, data: dict[str, Any]) -> Self:
        """Build from a dict; ConfigValidationError lists every bad field."""
        if not isinstance(data, dict):
            raise ConfigValidationError(cls.__name__, [((), "expected a mapping")])
        unknown = sorted(set(data) - set(cls._fields()))
        if unknown:
            raise ConfigValidationError(cls.__name__, [((k,), "unknown option") for k in unknown])
        return cls(**data)

    def _check(self) -> None:
        problems: list[tuple[tuple[str, ...], str]] = []
        for name, kind in self._kinds.items():
            value = getattr(self, name)
            if kind == "any":
                continue
            if kind == "image":
                if isinstance(value, str):
                    value = ImageSettings(base_image=value) if value.strip() else None
                elif isinstance(value, dict):
                    try:
                        value = ImageSettings.model_validate(value)
                    except ConfigValidationError as exc:
                        problems += [((name, *loc), msg) for loc, msg in exc.problems]
                        value = None
                elif value is not None and not isinstance(value, ImageSettings):
                    problems.append(((name,), f"expected an image name, a mapping or ImageSettings (got {value!r})"))
            else:
                value = _coerce(name, value, kind, problems)
            object.__setattr__(self, name, value)
        self._bounds(problems)
        if problems:
            raise ConfigValidationError(type(self).__name__, problems)

    def _bounds(self, problems: list[tuple[tuple[str, ...], str]]) -> None:
        pass


@dataclass(frozen=True)
class ImageSettings(_Model):
    """How to build the container image a remote runtime runs in (Kitaru 0.4's fields, plus `image`: a
    prebuilt image to use as is). Wherever an image is accepted, a plain string means `base_image`."""

    base_image: str | None = None
    requirements: list[str] = field(default_factory=list)
    dockerfile: str | None = None
    build_context_root: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    apt_packages: list[str] = field(default_factory=list)
    replicate_local_python_environment: Any = None
    image_tag: str | None = None
    target_repository: str | None = None
    user: str | None = None
    platform: str | None = None
    image: str | None = None

    _kinds: ClassVar[dict[str, str]] = {
        "base_image": "str", "requirements": "list", "dockerfile": "str", "build_context_root": "str",
        "environment": "dict", "apt_packages": "list", "replicate_local_python_environment": "any",
        "image_tag": "str", "target_repository": "str", "user": "str", "platform": "str", "image": "str"}

    def __post_init__(self) -> None:
        self._check()


@dataclass(frozen=True)
class KitaruConfig(_Model):
    """The resolved configuration of one execution; frozen and stored with it."""

    stack: str | None = None
    image: ImageSettings | None = None
    cache: bool = True
    retries: int = 0
    project: str | None = None
    default_model: str | None = None
    lease_ttl: float = 5.0
    auto_recover: bool = False
    wait_timeout: float | None = None
    interactive: bool | None = None
    log_capture: bool = True
    server_url: str | None = None

    _kinds: ClassVar[dict[str, str]] = {"stack": "str", "image": "image", "cache": "bool", "retries": "int",
                                        "project": "str",
                                        "default_model": "str", "lease_ttl": "float", "auto_recover": "bool",
                                        "wait_timeout": "float", "interactive": "bool", "log_capture": "bool",
                                        "server_url": "str"}

    def __post_init__(self) -> None:
        self._check()

    def _bounds(self, problems: list[tuple[tuple[str, ...], str]]) -> None:
        if self.retries is not None and self.retries < 0:
            problems.append((("retries",), "must be >= 0"))
        if self.lease_ttl is not None and self.lease_ttl <= 0:
            problems.append((("lease_ttl",), "must be > 0 seconds"))
        if self.wait_timeout is not None and self.wait_timeout < 0:
            problems.append((("wait_timeout",), "must be >= 0 seconds"))
        for name in ("cache", "retries", "lease_ttl", "auto_recover", "log_capture"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(type(self), name))

    def stored(self) -> dict[str, Any]:
        """The JSON stored with an execution, secret-looking values redacted."""
        stored: dict[str, Any] = redact(self.model_dump(mode="json", exclude_none=True))
        return stored


KitaruConfig.model_fields = {f.name: f for f in dataclasses.fields(KitaruConfig)}
ImageSettings.model_fields = {f.name: f for f in dataclasses.fields(ImageSettings)}


def redact(value: Any, key: str = "") -> Any:
    """Replace values under secret-looking keys with '***', recursively."""
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if key and _SECRET_KEY.search(key) and isinstance(value, str) and value:
        return "***"
    return value
