"""Small SDK functions: log, save/load, current_execution_id, secrets, connect."""

from __future__ import annotations

import json
from typing import Any

from kitaru.errors import KitaruContextError, KitaruUsageError
from kitaru.runtime._context import checkpoint_metadata, current_checkpoint, current_context


def current_execution_id() -> str | None:
    """The id of the execution this code runs in, or None outside a flow."""
    ctx = current_context()
    return ctx.exec_id if ctx is not None else None


def log(**metadata: Any) -> None:
    """Attach metadata to the running checkpoint (or, in the flow body, to the execution): each keyword
    becomes a top-level metadata key, as in Kitaru 0.4."""
    ctx = current_context()
    if ctx is None:
        raise KitaruContextError("kitaru.log() can only be called inside a @flow or @checkpoint")
    try:
        text = json.dumps(metadata, default=str, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise KitaruUsageError(f"kitaru.log() metadata must be JSON-serializable: {exc}") from exc
    target = checkpoint_metadata()
    if target is not None:
        target.update(json.loads(text))
    else:
        ctx.state.set_execution_metadata(ctx.exec_id, json.loads(text))
    if ctx.sink is not None:
        ctx.sink.emit("kitaru", "INFO", text, current_checkpoint())


def _require_checkpoint(what: str) -> Any:
    """The execution context, if called inside a running checkpoint (Kitaru 0.4's rule for save/load)."""
    ctx = current_context()
    if ctx is None or current_checkpoint() is None:
        where = "outside a flow" if ctx is None else "in the flow body"
        raise KitaruContextError(f"{what} can only be called inside a @checkpoint (it was called {where}); move it"
                                 " into a checkpoint, or read results with KitaruClient().artifacts")
    return ctx


def save(name: str, value: Any, *, type: str = "output", tags: list[str] | None = None) -> None:
    """Persist a named artifact of the running checkpoint (load it later with `kitaru.load` in a checkpoint,
    or with `KitaruClient().artifacts.get(exec_id, name).load()`)."""
    ctx = _require_checkpoint("kitaru.save()")
    if not name:
        raise KitaruUsageError("kitaru.save() needs a non-empty name")
    save_artifact(ctx, name, value, type=type, tags=tags)


def save_artifact(ctx: Any, name: str, value: Any, *, type: str = "output", tags: list[str] | None = None) -> None:
    """Write a named artifact of the running execution (bytes first, then the record)."""
    from kitaru.store._guards import check_name

    check_name(name, "artifact name")
    from kitaru.artifacts import put_value

    ref = put_value(ctx.store, value)
    ctx.state.save_artifact({"exec_id": ctx.exec_id, "name": name, "type": type, "tags": tags or [], "ref": ref,
                             "invocation_id": current_checkpoint()})


def load(exec_id: str, name: str) -> Any:
    """Inside a checkpoint: load an artifact saved by an execution (or a checkpoint output by invocation id)."""
    _require_checkpoint("kitaru.load()")
    return load_artifact(exec_id, name)


def load_artifact(exec_id: str, name: str) -> Any:
    """Load an artifact saved by an execution (or a checkpoint output by invocation id), from anywhere."""
    from kitaru.artifacts import get_value
    from kitaru.stacks import store_from_root
    from kitaru.store import current_state

    state = current_state()
    rows = state.list_artifacts(exec_id, name)
    if rows:
        ref = rows[0]["ref"]
        return get_value(store_from_root(ref["store"]), ref)
    for call in state.load_journal(exec_id):
        if call["invocation_id"] == name and call["status"] == "completed":
            return get_value(store_from_root(call["output"]["store"]), call["output"])
    raise KitaruUsageError(
        f"execution {exec_id} has no artifact or completed checkpoint named {name!r};"
        f" list them with `kitaru executions get {exec_id}`"
    )


def get_secret(name: str) -> dict[str, str]:
    """A secret's key/value pairs."""
    from kitaru.store import current_state

    data = current_state().get_secret(name)
    if data is None:
        raise KitaruUsageError(f"secret {name!r} does not exist; create it with `kitaru secrets set {name} --KEY=value`")
    return data


def create_secret(name: str, values: dict[str, str] | None = None, **kv: str) -> None:
    """Create or replace a secret from key/value pairs."""
    from kitaru.store import current_state

    data = {**(values or {}), **kv}
    if not name or not data:
        raise KitaruUsageError("a secret needs a name and at least one KEY=value pair")
    current_state().put_secret(name, {k: str(v) for k, v in data.items()})


def list_secrets() -> list[dict[str, Any]]:
    """Every secret's name and keys (never values)."""
    from kitaru.store import current_state

    return current_state().list_secrets()


def delete_secret(name: str) -> None:
    """Delete a secret."""
    from kitaru.store import current_state

    if not current_state().delete_secret(name):
        raise KitaruUsageError(f"secret {name!r} does not exist; list secrets with `kitaru secrets list`")
