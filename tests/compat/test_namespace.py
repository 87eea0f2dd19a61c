"""Kitaru 0.4 compatibility: the public namespace and importable submodules (issue 12, "Public namespace")."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import kitaru

REFERENCE_ALL = (
    "FailureOrigin FlowHandle ImageSettings KitaruBackendError KitaruClient KitaruConfig KitaruContextError "
    "KitaruDivergenceError KitaruError KitaruExecutionError KitaruFeatureNotAvailableError KitaruLogRetrievalError "
    "KitaruRuntimeError KitaruStateError KitaruUsageError KitaruUserCodeError KitaruWaitValidationError StackInfo "
    "checkpoint configure connect create_stack current_stack delete_stack flow list_stacks llm memory load log "
    "save use_stack wait"
).split()


@pytest.mark.parametrize("name", REFERENCE_ALL)
def test_reference_names_are_in_all_and_resolve(name: str) -> None:
    assert name in kitaru.__all__
    assert getattr(kitaru, name) is not None


@pytest.mark.parametrize("module", ["kitaru.flow", "kitaru.checkpoint", "kitaru.wait", "kitaru.llm", "kitaru.logging",
                                    "kitaru.replay", "kitaru.memory", "kitaru.client", "kitaru.config",
                                    "kitaru.errors", "kitaru.adapters.pydantic_ai", "kitaru.mcp"])
def test_reference_submodules_import(module: str) -> None:
    assert importlib.import_module(module).__name__ == module


def test_importing_a_submodule_keeps_the_function_of_the_same_name() -> None:
    code = ("import kitaru.llm, kitaru.flow, kitaru.wait, kitaru.checkpoint, kitaru\n"
            "from kitaru.flow import flow\nfrom kitaru.llm import llm\nfrom kitaru.wait import wait\n"
            "from kitaru.checkpoint import checkpoint\n"
            "assert callable(kitaru.llm) and kitaru.llm is llm and kitaru.flow is flow and kitaru.wait is wait\n"
            "assert kitaru.checkpoint is checkpoint\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_runtime_exposes_get_current_execution_id() -> None:
    from kitaru.runtime import _get_current_execution_id

    assert _get_current_execution_id() is None

    @kitaru.flow
    def which() -> str | None:
        return _get_current_execution_id()

    handle = which.run()
    assert handle.wait() == handle.exec_id


@pytest.mark.parametrize("name", ["connect", "login_to_server", "create_stack", "delete_stack", "list_stacks",
                                  "current_stack", "use_stack", "register_model_alias", "list_model_aliases",
                                  "resolve_model_selection", "resolve_connection_config", "FrozenExecutionSpec",
                                  "KitaruConfig", "ImageSettings", "configure"])
def test_config_module_exports(name: str) -> None:
    import kitaru.config

    assert name in kitaru.config.__all__ and getattr(kitaru.config, name) is not None


def test_model_aliases_have_the_reference_shapes_and_the_first_is_default() -> None:
    from kitaru.config import (
        ModelAliasEntry,
        ResolvedModelSelection,
        list_model_aliases,
        register_model_alias,
        resolve_model_selection,
    )

    entry = register_model_alias("fast", model="openai/gpt-4o-mini", secret="team-openai")
    assert isinstance(entry, ModelAliasEntry)
    assert (entry.alias, entry.model, entry.secret, entry.is_default) == ("fast", "openai/gpt-4o-mini",
                                                                          "team-openai", True)
    register_model_alias("smart", model="anthropic/claude-3-5-sonnet")
    listed = {a.alias: a for a in list_model_aliases()}
    assert listed["fast"].is_default and not listed["smart"].is_default
    chosen = resolve_model_selection()
    assert isinstance(chosen, ResolvedModelSelection)
    assert (chosen.requested_model, chosen.alias, chosen.resolved_model, chosen.secret) == (
        None, "fast", "openai/gpt-4o-mini", "team-openai")
    by_name = resolve_model_selection("smart")
    assert (by_name.requested_model, by_name.alias, by_name.resolved_model, by_name.secret) == (
        "smart", "smart", "anthropic/claude-3-5-sonnet", None)
    direct = resolve_model_selection("openai/gpt-4o")
    assert (direct.alias, direct.resolved_model) == (None, "openai/gpt-4o")


def test_bad_alias_is_refused_and_nothing_is_stored() -> None:
    from kitaru.config import list_model_aliases, register_model_alias

    with pytest.raises(kitaru.KitaruUsageError):
        register_model_alias("a/b", model="openai/x")
    with pytest.raises(kitaru.KitaruUsageError):
        register_model_alias("ok", model="no-provider")
    assert list_model_aliases() == []


def test_memory_and_the_adapter_are_the_real_modules() -> None:
    import kitaru.adapters.pydantic_ai as kp

    assert callable(kitaru.memory.set) and callable(kitaru.memory.history)
    # without the extra: FeatureNotAvailable naming it; with it: a usage error for a non-agent
    with pytest.raises((kitaru.KitaruFeatureNotAvailableError, kitaru.KitaruUsageError), match="pydantic"):
        kp.wrap(object())
    assert issubclass(kitaru.KitaruFeatureNotAvailableError, kitaru.KitaruError)


def test_import_kitaru_stays_light() -> None:
    code = ("import sys, kitaru\nheavy = [m for m in ('pydantic', 'pydantic_settings', 'sqlalchemy', 'httpx', "
            "'kitaru.client', 'kitaru.store', 'kitaru.memory') if m in sys.modules]\nprint(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
