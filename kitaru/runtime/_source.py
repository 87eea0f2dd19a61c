"""Where a flow is defined, recorded so another process can re-import it (resume, retry, replay)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kitaru.errors import KitaruUsageError

_REENTRY_MODULE = "__kitaru_main__"
_reentry_depth = 0


@runtime_checkable
class FlowDefinition(Protocol):
    """What the runtime needs of a `@flow` object (`kitaru.sdk.Flow`): its function, name and options."""

    @property
    def fn(self) -> Callable[..., Any]: ...

    @property
    def name(self) -> str: ...

    @property
    def options(self) -> dict[str, Any]: ...


def describe_source(fn: Callable[..., Any]) -> dict[str, Any]:
    """Module (or script file) and qualified name of a flow function, plus its import root."""
    module = fn.__module__
    qualname = fn.__qualname__
    if "<locals>" in qualname:
        source: dict[str, Any] = {"module": None, "file": None, "qualname": qualname, "importable": False}
        return source
    mod = sys.modules.get(module)
    mod_file: str | None = getattr(mod, "__file__", None) if mod is not None else None
    file = os.path.abspath(mod_file) if mod_file else None
    if module in ("__main__", _REENTRY_MODULE):
        return {"module": None, "file": file, "qualname": qualname, "importable": file is not None, "cwd": os.getcwd()}
    root = None
    if file is not None:
        root = str(Path(file).parents[module.count(".")] if Path(file).name != "__init__.py"
                   else Path(file).parents[module.count(".") + 1])
    return {"module": module, "file": file, "qualname": qualname, "root": root, "importable": True, "cwd": os.getcwd()}


def importing_for_reentry() -> bool:
    """True while a runner imports a user's script to continue one of its executions."""
    return _reentry_depth > 0


def load_flow(source: dict[str, Any]) -> FlowDefinition:
    """Re-import the flow object a recorded source description points at; a name that is not a @flow, or a
    module that is not here, is a usage error."""
    try:
        obj = load_object(source)
    except ModuleNotFoundError as exc:
        name = source.get("module") or ""
        if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
            raise  # the flow's module is here; something it imports is not
        origin = source.get("root") or "its working directory"
        raise KitaruUsageError(f"flow module {name!r} is not importable here (it was imported from {origin}): run"
                               " this where the flow's code lives, or put its directory on PYTHONPATH") from None
    if not isinstance(obj, FlowDefinition):
        where = source.get("module") or source.get("file")
        raise KitaruUsageError(f"{source['qualname']!r} in {where} is a {type(obj).__name__}, not a @flow;"
                               " decorate it with @kitaru.flow")
    return obj


def load_object(source: dict[str, Any]) -> object:
    """Re-import the object a source description points at."""
    global _reentry_depth
    if not source.get("importable"):
        raise KitaruUsageError(
            f"flow {source.get('qualname')!r} is defined inside a function, so another process cannot import it;"
            " define @flow functions at module level"
        )
    _reentry_depth += 1
    try:
        if source.get("module"):
            root = source.get("root")
            if root and root not in sys.path:
                sys.path.insert(0, root)
            module = importlib.import_module(source["module"])
        else:
            file = source["file"]
            if not file or not os.path.exists(file):
                raise KitaruUsageError(f"flow script {file!r} no longer exists; restore it to continue this execution")
            folder = os.path.dirname(file)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            spec = importlib.util.spec_from_file_location(_REENTRY_MODULE, file)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[_REENTRY_MODULE] = module
            spec.loader.exec_module(module)
            sys.modules["__main__"] = module  # objects pickled as __main__.X load again
    finally:
        _reentry_depth -= 1
    obj: object = module
    try:
        for part in source["qualname"].split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise KitaruUsageError(
            f"flow {source['qualname']!r} is no longer defined in {source.get('module') or source.get('file')};"
            " restore it to continue this execution"
        ) from None
    return obj
