"""Serializers: JSON for JSON-native values, pydantic models and dataclasses; raw for bytes
and str; pickle only as a last resort (and only loaded after the content hash matched)."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pickle
from typing import Any, Protocol

from kitaru.errors import KitaruUsageError


class Serializer(Protocol):
    """Turns values into bytes and back. `type_ref` names the class to rebuild, if any."""

    name: str

    def can_dump(self, value: Any) -> bool: ...

    def dump(self, value: Any) -> tuple[bytes | memoryview, str | None]: ...

    def load(self, data: bytes, type_ref: str | None) -> Any: ...


def _is_json_native(value: Any, depth: int = 0) -> bool:
    """True if `value` survives a JSON round trip unchanged (exact types, str keys)."""
    t = type(value)
    if t is str or t is int or t is float or t is bool or value is None:
        return True
    if depth > 64:
        return False
    if t is list:
        return all(_is_json_native(v, depth + 1) for v in value)
    if t is dict:
        return all(type(k) is str and _is_json_native(v, depth + 1) for k, v in value.items())
    return False


def _class_ref(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(ref: str) -> Any:
    module, _, qualname = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class RawSerializer:
    """bytes as they are; str as UTF-8."""

    name = "raw"

    def can_dump(self, value: Any) -> bool:
        return type(value) in (bytes, bytearray, str)

    def dump(self, value: Any) -> tuple[bytes | memoryview, str | None]:
        if type(value) is str:
            return value.encode("utf-8", "surrogatepass"), "str"
        return memoryview(value), type(value).__name__

    def load(self, data: bytes, type_ref: str | None) -> Any:
        if type_ref == "str":
            return data.decode("utf-8", "surrogatepass")
        return bytearray(data) if type_ref == "bytearray" else data


class JSONSerializer:
    """JSON-native values: dict/list/str/int/float/bool/None with exact types."""

    name = "json"

    def can_dump(self, value: Any) -> bool:
        return _is_json_native(value)

    def dump(self, value: Any) -> tuple[bytes | memoryview, str | None]:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(), None

    def load(self, data: bytes, type_ref: str | None) -> Any:
        return json.loads(data)


class PydanticSerializer:
    """pydantic models, rebuilt from JSON by their class."""

    name = "pydantic"

    def can_dump(self, value: Any) -> bool:
        return hasattr(type(value), "model_dump_json") and hasattr(type(value), "model_validate_json")

    def dump(self, value: Any) -> tuple[bytes | memoryview, str | None]:
        return value.model_dump_json().encode(), _class_ref(type(value))

    def load(self, data: bytes, type_ref: str | None) -> Any:
        return _import_class(type_ref or "").model_validate_json(data)


class DataclassSerializer:
    """Dataclasses whose fields are JSON-native (or nested such dataclasses)."""

    name = "dataclass"

    def can_dump(self, value: Any) -> bool:
        return dataclasses.is_dataclass(value) and not isinstance(value, type) and _is_json_native(
            dataclasses.asdict(value)
        )

    def dump(self, value: Any) -> tuple[bytes | memoryview, str | None]:
        return json.dumps(dataclasses.asdict(value), separators=(",", ":")).encode(), _class_ref(type(value))

    def load(self, data: bytes, type_ref: str | None) -> Any:
        from pydantic import TypeAdapter

        return TypeAdapter(_import_class(type_ref or "")).validate_json(data)


class PickleSerializer:
    """Anything picklable. Loaded only after the content hash was verified."""

    name = "pickle"

    def can_dump(self, value: Any) -> bool:
        return True

    def dump(self, value: Any) -> tuple[bytes | memoryview, str | None]:
        try:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), None
        except Exception as exc:
            raise KitaruUsageError(
                f"cannot serialize a {type(value).__name__} output ({exc}); return JSON data, bytes, a pydantic model,"
                " a dataclass or a picklable object, or register a serializer plugin"
            ) from exc

    def load(self, data: bytes, type_ref: str | None) -> Any:
        return pickle.loads(data)  # noqa: S301 - only called after the sha256 matched the journal


class SerializerRegistry:
    """Ordered serializers: plugin serializers first, then the built-ins, pickle last."""

    def __init__(self) -> None:
        self._builtin: list[Serializer] = [RawSerializer(), JSONSerializer(), PydanticSerializer(), DataclassSerializer()]
        self._extra: list[Serializer] = []
        self._fallback: Serializer = PickleSerializer()

    def register(self, serializer: Serializer) -> None:
        """Add a serializer that takes precedence over the built-ins."""
        self._extra.append(serializer)

    def for_value(self, value: Any) -> Serializer:
        """The first serializer that can dump `value`."""
        for s in (*self._extra, *self._builtin):
            if s.can_dump(value):
                return s
        return self._fallback

    def by_name(self, name: str) -> Serializer:
        """The serializer that wrote a stored value."""
        for s in (*self._extra, *self._builtin, self._fallback):
            if s.name == name:
                return s
        raise KitaruUsageError(
            f"no serializer named {name!r} is installed; install the plugin that provides it (`kitaru plugins list`)"
        )


serializers = SerializerRegistry()
