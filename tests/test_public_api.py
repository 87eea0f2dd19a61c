"""The public surface users import stays importable and shaped as documented."""

from __future__ import annotations

import importlib

import pytest

import kitaru


@pytest.mark.parametrize("name", kitaru.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(kitaru, name) is not None


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("kitaru.client", ["KitaruClient", "ExecutionStatus", "Execution", "CheckpointCall", "CheckpointAttempt",
                           "PendingWait", "ArtifactRef", "LogEntry", "FailureInfo"]),
        ("kitaru.errors", ["KitaruError", "KitaruUsageError", "KitaruContextError", "KitaruStateError",
                           "KitaruRuntimeError", "KitaruExecutionError", "KitaruUserCodeError",
                           "KitaruDivergenceError", "KitaruBackendError", "KitaruWaitValidationError"]),
        ("kitaru.config", ["register_model_alias", "resolve_model_selection", "KitaruConfig", "ImageSettings"]),
    ],
)
def test_module_paths_users_import_today(module: str, names: list[str]) -> None:
    mod = importlib.import_module(module)
    for name in names:
        assert hasattr(mod, name), f"{module}.{name}"


def test_error_tree() -> None:
    from kitaru import errors as e

    assert issubclass(e.KitaruUsageError, ValueError) and issubclass(e.KitaruUsageError, e.KitaruError)
    assert issubclass(e.KitaruUserCodeError, e.KitaruExecutionError)
    assert issubclass(e.KitaruDivergenceError, e.KitaruExecutionError)
    assert issubclass(e.KitaruExecutionError, e.KitaruRuntimeError)
    err = e.KitaruExecutionError("x", exec_id="1", status="failed", failure_origin="runtime")
    assert (err.exec_id, err.status, err.failure_origin) == ("1", "failed", "runtime")


def test_statuses() -> None:
    from kitaru.client import ExecutionStatus

    assert [s.value for s in ExecutionStatus] == ["running", "waiting", "completed", "failed", "cancelled"]
