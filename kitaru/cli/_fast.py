"""Start-up speed: parse simple CLI values without pydantic.

typer >= 0.2x coerces every parameter through a pydantic TypeAdapter, which costs ~0.25 s per
invocation (importing pydantic + building adapters): most of the CLI's start-up budget. For the
plain types our commands use (str, int, float, bool, Enum, Path) we install equivalent light
coercers. Anything else, or a typer whose internals differ, keeps typer's own path: this only
ever changes speed, never which values are accepted.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

_SIMPLE = (str, int, float, bool)


def _fast_param_class() -> Any:
    """A typer RuntimeParam subclass for simple types, or None if typer's internals differ."""
    try:
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam
        from typer._param_types import coerce_cli_choice, coerce_cli_path
    except ImportError:
        return None

    class FastParam(RuntimeParam):
        """Coerce str/int/float/bool/Enum/Path values without pydantic."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind, info = self.annotation, self.parameter_info
            try:
                if isinstance(kind, type) and issubclass(kind, enum.Enum):
                    return coerce_cli_choice(value, choices=list(kind), case_sensitive=info.case_sensitive, ctx=ctx)
                if isinstance(kind, type) and issubclass(kind, Path):
                    return coerce_cli_path(value, info, path_type=kind, param=param, ctx=ctx)
                if kind is str:
                    return value.decode() if isinstance(value, bytes) else str(value)
                if kind is bool:
                    return _to_bool(value)
                number = _to_number(kind, value)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None
            if info.min is not None and number < info.min:
                raise BadParameter(f"{number} is smaller than the minimum {info.min}.", ctx=ctx, param=param)
            if info.max is not None and number > info.max:
                raise BadParameter(f"{number} is larger than the maximum {info.max}.", ctx=ctx, param=param)
            return number

    return FastParam


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y", "on", ""):
        return text != ""
    if text in ("0", "false", "f", "no", "n", "off"):
        return False
    raise ValueError(f"{value!r} is not a valid boolean.")


def _to_number(kind: type, value: Any) -> Any:
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    try:
        return kind(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a valid {'integer' if kind is int else 'number'}.") from None


def _eligible(descriptor: Any) -> bool:
    info, kind = descriptor.parameter_info, descriptor.annotation
    if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None:
        return False
    if not isinstance(kind, type):
        return False
    if issubclass(kind, Path):
        return True
    if issubclass(kind, enum.Enum):
        return True
    if kind in _SIMPLE:
        if kind in (int, float) and getattr(info, "clamp", False):
            return False
        return kind is not str or not (getattr(info, "path_type", None) or getattr(info, "resolve_path", False))
    return False


def install(command: Any) -> int:
    """Give every simple parameter in a click command tree the light coercer; returns how many."""
    cls = _fast_param_class()
    if cls is None:
        return 0
    count, stack = 0, [command]
    while stack:
        cmd = stack.pop()
        commands = getattr(cmd, "commands", {})
        stack.extend(commands.built_values() if hasattr(commands, "built_values") else commands.values())
        count += sum(_give(cls, param) for param in cmd.params)
        _wrap_help_option(cls, cmd)
    return count


def _give(cls: Any, param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", "missing") is not None:
        return False
    if param.multiple or param.nargs != 1 or not _eligible(descriptor):
        return False
    param._runtime_param = cls(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
    return True


def _wrap_help_option(cls: Any, cmd: Any) -> None:
    """The --help option is made per invocation; give it the light coercer too."""
    original = cmd.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            _give(cls, option)
        return option

    cmd.get_help_option = get_help_option
