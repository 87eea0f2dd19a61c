"""Start, replay and continue executions on the local orchestrator."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.artifacts import ArtifactStore, get_value
from kitaru.artifacts._blobs import encode_value, write_encoded
from kitaru.config._paths import resolve_home
from kitaru.config._resolve import resolve_config
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.runtime._context import new_owner
from kitaru.runtime._dispatch import dispatch_runner, stack_orchestrator
from kitaru.runtime._replay import plan_replay
from kitaru.runtime._runner import bind_inputs, failure_from, run_body, start_heartbeat
from kitaru.runtime._source import FlowDefinition, describe_source, load_flow
from kitaru.stacks import ResolvedStack, artifact_store_for_stack, resolve_stack, stack_layer, store_from_root
from kitaru.store import StateStore, acting_as, execution_scoped, is_remote, new_exec_id, open_state

if TYPE_CHECKING:
    from kitaru.config._models import KitaruConfig


def dispatch_grace() -> float:
    """Seconds a dispatched runner has to start and take over the lease heartbeat (`KITARU_DISPATCH_GRACE`)."""
    from kitaru.config._tunables import tunables

    return tunables().dispatch_grace


def _stack(config: KitaruConfig, home: Path | None = None, state: StateStore | None = None) -> ResolvedStack:
    """The run's stack, resolved once per start (reading its spec is a server round trip when connected)."""
    home = home or resolve_home()
    return resolve_stack(config.stack, home=home, state=state or open_state(home))


def _stored_config(row: dict[str, Any]) -> KitaruConfig:
    """The frozen configuration an execution was started with."""
    from kitaru.config._models import KitaruConfig

    return KitaruConfig.model_validate(row["config"])


def start(
    flow: FlowDefinition, args: tuple[Any, ...], kwargs: dict[str, Any], run_options: dict[str, Any]
) -> tuple[str, StateStore]:
    """Create an execution for `flow` and run it here until it ends or waits."""
    config = resolve_config(flow.options, run_options, stack_layer=stack_layer(flow.options, run_options))
    inputs = bind_inputs(flow.fn, args, kwargs)
    stack = _stack(config)
    return _create_and_run(flow, config, inputs, stack=stack, detach=_runs_remotely(stack))


def _runs_remotely(stack: ResolvedStack) -> bool:
    """Whether the stack's orchestrator runs jobs elsewhere (then `.run()` returns once it is dispatched)."""
    from kitaru.stacks._service import require_server_for_remote

    if not stack.orchestrator.remote:
        return False
    require_server_for_remote(stack.spec, stack.state)
    return True


def _create_and_run(
    flow: FlowDefinition, config: KitaruConfig, inputs: dict[str, Any], *, stack: ResolvedStack, original: str | None = None,
    replay_from: str | None = None, seed: dict[str, Any] | None = None, detach: bool = False,
) -> tuple[str, StateStore]:
    home, state, store = stack.home, open_state(stack.home), stack.artifact_store
    orchestrator = stack.orchestrator if detach else None
    from kitaru.runtime._recovery import sweep

    sweep(state)
    exec_id, owner = new_exec_id(), new_owner()
    source = describe_source(flow.fn)
    if orchestrator is not None and orchestrator.remote:
        source = _with_code(source, flow.name, stack.code_store(), home)
        if config.image is not None:  # the job's image, fixed now: continuations on the server run the same one
            from kitaru.images._resolve import dispatch_image

            source["image"] = dispatch_image(config, stack)
    remote = is_remote(state)  # on a server only the execution's runtime may write to storage: record first
    encoded, inputs_ref = encode_value(store, inputs)
    if not remote:
        write_encoded(store, encoded, inputs_ref)
    state.create_execution(
        {"id": exec_id, "flow_name": flow.name, "flow_source": source, "stack": config.stack or "default",
         "config": config.stored(), "inputs": inputs_ref, "original_exec_id": original,
         "replay_from": replay_from},
        owner=owner, lease_ttl=max(config.lease_ttl, dispatch_grace()) if detach else config.lease_ttl,
        seed=seed,
    )
    # detached: this process holds the lease until the job is submitted and recorded (writing large inputs or a
    # slow backend must not let the lease lapse before anyone can ask the orchestrator about the job)
    holder = start_heartbeat(state, exec_id, owner, dispatch_grace()) if orchestrator is not None else None
    try:
        if remote:
            scoped = execution_scoped(state, exec_id)
            with acting_as(scoped):
                write_encoded(store, encoded, inputs_ref)
            if scoped is not state:
                scoped.close()
        if orchestrator is not None:  # detached: resolved above
            dispatch_runner(exec_id, orchestrator=orchestrator, owner=owner, home=home, state=state,
                            cwd=source.get("cwd"), image=source.get("image"))
            return exec_id, state
    finally:
        if holder is not None:
            holder.stop()  # the runner's time to take over: what is left of the last renewal (>= 3/4 of the grace)
    run_body(exec_id=exec_id, fn=flow.fn, flow_name=flow.name, inputs_ref=inputs_ref, state=state, store=store,
             owner=owner, config=config, home=home)
    return exec_id, state


def _with_code(source: dict[str, Any], flow_name: str, store: ArtifactStore, home: Path) -> dict[str, Any]:
    """Ship the flow's project to the stack's store so a remote runner can import it."""
    if not source.get("importable"):
        raise KitaruUsageError(f"flow {flow_name!r} must be defined at module level to run on a remote stack")
    from kitaru.runtime._code import package_code

    return {**source, "code": package_code(source, store, cache_dir=home / "code-cache", exclude=(home,))}


def replay(
    exec_id: str, *, from_: str, overrides: dict[str, Any] | None, inputs: dict[str, Any],
    flow: FlowDefinition | None = None, detach: bool = False, options: dict[str, Any] | None = None,
) -> tuple[str, StateStore]:
    """Fork `exec_id` into a new execution that re-runs from checkpoint `from_`; `options` (stack, image,
    cache, retries) override the configuration the source ran with."""
    state = open_state(resolve_home())
    source = state.get_execution(exec_id)
    if source is None:
        raise KitaruUsageError(f"execution {exec_id} does not exist; list them with `kitaru executions list`")
    same_inputs = not inputs and all(v is None for v in (options or {}).values()) and _is_json(overrides)
    if flow is None and same_inputs and state.server is not None and dispatched_by_server(source, state):
        # a client's replay of a remote stack's execution: the server replays the code that ran (its shipped
        # archive) with the recorded inputs, as it continues them; the flow's code need not be here. New inputs
        # or options are encoded here, from the flow loaded below.
        return state.server.replay_execution(exec_id, from_=from_, overrides=overrides)["exec_id"], state
    if flow is None:
        flow = load_flow(source["flow_source"])
    elif flow.name != source["flow_name"]:
        raise KitaruUsageError(f"execution {exec_id} ran flow {source['flow_name']!r}, not {flow.name!r}")
    config = _stored_config(source)
    # a replay re-runs its point and what follows: the cross-execution cache would hand back the source's
    # outputs instead, so it is off unless the replay asks for it
    changed = {"cache": False, **{k: v for k, v in (options or {}).items() if v is not None}}
    if changed:
        from kitaru.config._models import KitaruConfig

        config = KitaruConfig.model_validate({**config.model_dump(), **changed})
    stack = _stack(config, state=state)
    store = stack.artifact_store
    recorded = get_value(store_from_root(source["inputs"]["store"]), source["inputs"])
    unknown = set(inputs) - set(recorded)
    if unknown:
        raise KitaruUsageError(f"flow {flow.name!r} has no input(s) {sorted(unknown)}; its inputs are {sorted(recorded)}")
    calls, waits, point = plan_replay(
        source_exec_id=exec_id, journal=state.load_journal(exec_id), waits=state.list_waits(exec_id, status=None),
        from_=from_, overrides=overrides, store=store,
    )
    return _create_and_run(flow, config, {**recorded, **inputs}, original=exec_id, replay_from=point,
                           stack=stack, seed={"calls": calls, "waits": waits}, detach=detach or _runs_remotely(stack))


def _is_json(value: Any) -> bool:
    """Whether `value` travels as JSON unchanged (what a server-side replay's overrides must be)."""
    import json

    try:
        return bool(json.loads(json.dumps(value)) == value)
    except (TypeError, ValueError):
        return False


def claim_and_dispatch(exec_id: str, statuses: Sequence[str]) -> StateStore:
    """Take over a waiting/failed execution and continue it in a detached runner process."""
    home = resolve_home()
    state = open_state(home)
    row = state.get_execution(exec_id)
    if row is None:
        raise KitaruUsageError(f"execution {exec_id} does not exist; list them with `kitaru executions list`")
    if not row["flow_source"].get("importable"):
        raise KitaruStateError(f"execution {exec_id} cannot be continued: its flow is not importable from another process")
    if continue_on_server(row, state, statuses):
        return state
    orchestrator = stack_orchestrator(row["stack"], home=home, state=state)  # a stack that cannot run: nothing claimed
    owner = new_owner()
    ttl = max(_stored_config(row).lease_ttl, dispatch_grace())  # the new process needs time to start
    state.claim_execution(exec_id, owner=owner, lease_ttl=ttl, statuses=statuses)
    dispatch_runner(exec_id, orchestrator=orchestrator, owner=owner, home=home, state=state,
                    cwd=row["flow_source"].get("cwd"), image=row["flow_source"].get("image"))
    return state


def _runnable_source(source: dict[str, Any], home: Path) -> dict[str, Any]:
    """On a remote runner: the flow's project unpacked from its verified archive (nothing from the starter's disk)."""
    if os.environ.get("KITARU_FETCH_CODE") != "1":
        return source
    if not source.get("code"):
        raise KitaruStateError("this runner was started to run shipped code, but the execution has no code archive;"
                               " start it again from its project with `.run()`")
    from kitaru.runtime._code import fetch_code, unpacked_source

    unpacked = unpacked_source(source, fetch_code(source["code"], home / "code"))
    os.chdir(unpacked["cwd"])
    return unpacked


def continue_on_server(row: dict[str, Any], state: StateStore, statuses: Sequence[str]) -> bool:
    """Executions of remote stacks are continued by the server (through the stack's orchestrator), never here."""
    if state.server is None or not dispatched_by_server(row, state):
        return False
    return bool(state.server.continue_execution(row["id"], statuses)["continued"])


def dispatched_by_server(row: dict[str, Any], state: StateStore) -> bool:
    """Whether the execution's stack runs remotely, so the server (not this client) dispatches its runners."""
    from kitaru.stacks._service import stored_spec

    flavor = ((stored_spec(row["stack"], state) or {}).get("orchestrator") or {}).get("flavor", "local")
    if flavor == "local":
        return False
    from kitaru.plugins import get_plugin_manager

    known = get_plugin_manager().find_flavor("orchestrator", flavor)
    return known is None or known.remote  # a local-machine flavor whose plugin is here runs in this process


def continue_here(exec_id: str, owner: str | None) -> str:
    """Run an execution in this process (the body of `python -m kitaru.runtime`)."""
    home = resolve_home()
    state = open_state(home)
    row = state.get_execution(exec_id)
    if row is None:
        raise KitaruUsageError(f"execution {exec_id} does not exist in {home}")
    config = _stored_config(row)
    if owner is None:
        owner = new_owner()
        state.claim_execution(exec_id, owner=owner, lease_ttl=config.lease_ttl)
    elif not state.renew_lease(exec_id, owner=owner, lease_ttl=config.lease_ttl):
        raise KitaruStateError(f"execution {exec_id} was taken over by another runner before this one started")
    heartbeat = start_heartbeat(state, exec_id, owner, config.lease_ttl)  # before the slow imports below
    try:
        store = artifact_store_for_stack(config.stack, home)  # first: fetching the code reuses it (and its clients)
        flow = load_flow(_runnable_source(row["flow_source"], home))
    except Exception as exc:  # the runner cannot even start the body: fail the execution, say why
        heartbeat.stop()
        state.finish_execution(exec_id, owner=owner, status="failed", failure=failure_from(exc, "runtime"))
        raise
    return run_body(exec_id=exec_id, fn=flow.fn, flow_name=row["flow_name"], inputs_ref=row["inputs"], state=state,
                    store=store, owner=owner, config=config, home=home, heartbeat=heartbeat)
