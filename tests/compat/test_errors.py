"""Kitaru 0.4 compatibility: error bases and FailureOrigin (issue 12, "Public namespace" → Errors)."""

from __future__ import annotations

import enum

import pytest

import kitaru
from kitaru import errors as e


@pytest.mark.parametrize("cls", [e.KitaruContextError, e.KitaruStateError, e.KitaruRuntimeError])
def test_context_state_runtime_errors_are_runtime_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, RuntimeError) and issubclass(cls, e.KitaruError)
    with pytest.raises(RuntimeError):
        raise cls("x")


def test_backend_error_is_a_kitaru_runtime_error() -> None:
    assert issubclass(e.KitaruBackendError, e.KitaruRuntimeError)
    assert issubclass(e.KitaruBackendError, RuntimeError)


def test_wait_validation_error_is_a_usage_error() -> None:
    assert issubclass(e.KitaruWaitValidationError, e.KitaruUsageError)
    assert issubclass(e.KitaruWaitValidationError, ValueError)


def test_usage_error_stays_a_value_error_and_execution_errors_keep_their_tree() -> None:
    assert issubclass(e.KitaruUsageError, ValueError)
    assert issubclass(e.KitaruUserCodeError, e.KitaruExecutionError)
    assert issubclass(e.KitaruDivergenceError, e.KitaruExecutionError)
    assert issubclass(e.KitaruExecutionError, e.KitaruRuntimeError)
    assert issubclass(e.KitaruLogRetrievalError, e.KitaruError)
    assert issubclass(e.KitaruFeatureNotAvailableError, e.KitaruError)


def test_failure_origin_is_an_enum_that_compares_with_strings() -> None:
    assert issubclass(e.FailureOrigin, enum.Enum)
    assert e.FailureOrigin("user_code") is e.FailureOrigin.USER_CODE == "user_code"
    assert e.FailureOrigin("from-a-newer-server") is e.FailureOrigin.UNKNOWN
    err = e.KitaruExecutionError("x", exec_id="1", status="failed", failure_origin="divergence")
    assert err.failure_origin is e.FailureOrigin.DIVERGENCE


@kitaru.checkpoint
def explode() -> None:
    raise KeyError("boom")


@kitaru.flow
def failing() -> None:
    explode()


def test_a_failed_execution_raises_with_an_enum_origin() -> None:
    handle = failing.run()
    with pytest.raises(kitaru.KitaruUserCodeError) as info:
        handle.wait()
    assert isinstance(info.value.failure_origin, kitaru.FailureOrigin)
    assert info.value.failure_origin == kitaru.FailureOrigin.USER_CODE
    assert info.value.exec_id == handle.exec_id


def test_feature_not_available_names_what_brings_it() -> None:
    err = e.KitaruFeatureNotAvailableError("kitaru.memory", provided_by="pip install 'kitaru[memory]'")
    assert "kitaru.memory" in str(err) and "pip install" in str(err)
