"""Run a flow body durably: create or continue an execution, heartbeat its lease, record the outcome."""

from __future__ import annotations

import inspect
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.artifacts import ArtifactStore, get_value
from kitaru.artifacts._blobs import encode_value, write_encoded
from kitaru.errors import KitaruDivergenceError, KitaruStateError
from kitaru.runtime._capture import LogSink, install_capture, write_original_stderr
from kitaru.runtime._context import ExecutionContext, Stop, Suspend, _current, new_owner
from kitaru.runtime._steps import store_failure
from kitaru.store import CancelRequested, LeaseLost, StateStore, acting_as, execution_scoped

if TYPE_CHECKING:
    from kitaru.config._models import KitaruConfig

_LOG_FLUSH_INTERVAL = 0.25
_RECONCILE_EVERY = 5.0  # seconds between embedded reconciler passes in a runner's heartbeat


class Heartbeat(threading.Thread):
    """Renews a runner's lease from the moment it holds it; ships logs and watches for cancel
    while a flow body is attached. Losing the lease flags the attached body to stop."""

    def __init__(self, state: StateStore, exec_id: str, owner: str, lease_ttl: float) -> None:
        super().__init__(name=f"kitaru-heartbeat-{exec_id[:8]}", daemon=True)
        self.state, self.exec_id, self.owner, self.lease_ttl = state, exec_id, owner, lease_ttl
        self.renew_every = max(0.05, lease_ttl / 4)
        self.ctx: ExecutionContext | None = None
        self._stop_event = threading.Event()

    def attach(self, ctx: ExecutionContext | None) -> None:
        """Serve this flow body (None: only keep the lease)."""
        self.ctx = ctx

    def run(self) -> None:
        tick, waited, since_reconcile = min(_LOG_FLUSH_INTERVAL, self.renew_every), 0.0, 0.0
        while not self._stop_event.wait(tick):
            waited += tick
            since_reconcile += tick
            ctx = self.ctx
            try:
                if since_reconcile >= _RECONCILE_EVERY:  # embedded: lease holders run the reconciler
                    since_reconcile = 0.0
                    self._reconcile()
                if ctx is not None and ctx.sink is not None:
                    ctx.sink.flush()
                if ctx is not None:
                    ctx.mark_slow_calls(older_than=_LOG_FLUSH_INTERVAL)
                if waited >= self.renew_every:  # one call renews the lease and reports a cancel request
                    waited = 0.0
                    if not self.state.renew_lease(self.exec_id, owner=self.owner, lease_ttl=self.lease_ttl):
                        raise LeaseLost(self.exec_id)
            except LeaseLost:
                if ctx is not None:
                    ctx.stop_reason = "lease_lost"
            except CancelRequested:
                if ctx is not None:
                    ctx.stop_reason = "cancelled"  # the lease stays alive until the body stops at its boundary
            except Exception as exc:  # a busy store must not kill the heartbeat
                write_original_stderr(f"kitaru: heartbeat for {self.exec_id} failed: {exc}\n")

    def _reconcile(self) -> None:
        """Embedded only (a server runs its own): record lost runners of other executions, recover those that
        asked for it."""
        if self.state.server is None:
            from kitaru.runtime._recovery import sweep

            sweep(self.state)

    def stop(self) -> None:
        """Stop renewing (the caller has ended its turn or lost the lease)."""
        self._stop_event.set()
        self.join(timeout=5)


def start_heartbeat(state: StateStore, exec_id: str, owner: str, lease_ttl: float) -> Heartbeat:
    """Start keeping `owner`'s lease alive right away (before slow imports and store setup)."""
    heartbeat = Heartbeat(state, exec_id, owner, lease_ttl)
    heartbeat.start()
    return heartbeat


def bind_inputs(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Flow inputs by parameter name (so replay can override them one by one)."""
    from kitaru.errors import KitaruUsageError

    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise KitaruUsageError(f"invalid arguments for flow {fn.__name__!r}: {exc}") from exc
    bound.apply_defaults()  # recorded in full, so replay can override any input by name
    return dict(bound.arguments)


def call_with_inputs(fn: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    """Call `fn` with inputs recorded by `bind_inputs`."""
    bound = inspect.BoundArguments(inspect.signature(fn), OrderedDict(inputs))
    return fn(*bound.args, **bound.kwargs)


def failure_from(exc: BaseException, origin: str, *, checkpoint: str | None = None) -> dict[str, Any]:
    """The failure record stored with a failed execution."""
    return {"origin": origin, "reason": type(exc).__name__, "message": str(exc),
            "type": f"{type(exc).__module__}.{type(exc).__qualname__}", "checkpoint": checkpoint,
            "traceback": "".join(traceback.format_exception(exc))[-8000:]}


def run_body(
    *,
    exec_id: str,
    fn: Callable[..., Any],
    flow_name: str,
    inputs_ref: dict[str, Any],
    state: StateStore,
    store: ArtifactStore,
    owner: str,
    config: KitaruConfig,
    home: Path,
    heartbeat: Heartbeat | None = None,
) -> str:
    """Run (or continue) an execution whose lease `owner` holds; return its status afterwards."""
    scoped = execution_scoped(state, exec_id)  # on a server: act with this execution's runtime token
    heartbeat = heartbeat or start_heartbeat(scoped, exec_id, owner, config.lease_ttl)
    try:
        with acting_as(scoped):
            return _run_turns(exec_id, fn, flow_name, get_value(store, inputs_ref), scoped, store, owner, config,
                              heartbeat)
    finally:
        heartbeat.stop()
        if scoped is not state:
            scoped.close()


def _run_turns(exec_id: str, fn: Callable[..., Any], flow_name: str, inputs: dict[str, Any], state: StateStore,
               store: ArtifactStore, owner: str, config: KitaruConfig, heartbeat: Heartbeat) -> str:
    """Run the body; again after a failure while flow retries remain, or after an answer raced the suspend."""
    retries_left = config.retries
    while True:
        ctx = ExecutionContext(exec_id=exec_id, state=state, store=store, owner=owner, config=config,
                               flow_name=flow_name, journal=state.load_journal(exec_id))
        status = _run_once(ctx, fn, inputs, config, heartbeat)
        again = (("failed",) if status == "failed" and retries_left > 0 else
                 ("waiting",) if status == "waiting" and _answered_while_suspending(state, exec_id) else None)
        if again is None:
            return status
        if again == ("failed",):
            retries_left -= 1
        owner = new_owner()  # a new grant gets a new token: writes still in flight from the last turn stay fenced
        try:
            state.claim_execution(exec_id, owner=owner, lease_ttl=config.lease_ttl, statuses=again)
        except KitaruStateError:
            return status  # another runner took over (or it was cancelled meanwhile); a store failure propagates
        heartbeat.owner = owner


def _answered_while_suspending(state: StateStore, exec_id: str) -> bool:
    journal_waits = {r["invocation_id"] for r in state.load_journal(exec_id) if r["type"] == "wait" and r["status"] != "completed"}
    return any(w["invocation_id"] in journal_waits for w in state.list_waits(exec_id, status="answered"))


def _run_once(
    ctx: ExecutionContext, fn: Callable[..., Any], inputs: dict[str, Any], config: KitaruConfig, heartbeat: Heartbeat
) -> str:
    ctx.sink = LogSink(ctx.exec_id, ctx.state) if config.log_capture else None
    if ctx.sink is not None:
        install_capture()
    heartbeat.attach(ctx)
    token = _current.set(ctx)
    outcome: tuple[str, dict[str, Any] | None, dict[str, Any] | None]
    try:
        try:
            result = call_with_inputs(fn, inputs)
            if ctx.diverged is not None:
                raise ctx.diverged
            encoded, ref = encode_value(ctx.store, result)  # an unserializable result is the code's to fix
            with store_failure(f"write the flow's result to the artifact store {ctx.store.root}", ctx.exec_id):
                write_encoded(ctx.store, encoded, ref)
            outcome = ("completed", ref, None)
        except Suspend:
            outcome = ("waiting", None, None)
        except Stop as stop:
            if stop.reason == "lease_lost":
                return "lost"
            reason = "cancelled by user" if stop.reason == "cancelled" else stop.reason
            outcome = ("cancelled", None, {"origin": "cancelled", "reason": reason, "message": reason})
        except KitaruDivergenceError as exc:
            outcome = ("failed", None, failure_from(exc, "divergence"))
        except BaseException as exc:
            if ctx.diverged is not None:
                outcome = ("failed", None, failure_from(ctx.diverged, "divergence"))
            elif getattr(exc, "__kitaru_origin__", None) in ("backend", "infrastructure", "runtime"):
                outcome = ("failed", None, failure_from(exc, exc.__kitaru_origin__,  # type: ignore[attr-defined]
                                                        checkpoint=getattr(exc, "__kitaru_checkpoint__", None)))
            else:
                origin_cp = getattr(exc, "__kitaru_checkpoint__", None)
                outcome = ("failed", None, failure_from(exc, "user_code", checkpoint=origin_cp))
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                _finish(ctx, outcome)
                raise
    finally:
        if ctx.executor is not None:
            ctx.executor.shutdown(wait=True)  # every submitted checkpoint commits before the outcome
        _current.reset(token)
        heartbeat.attach(None)
        if ctx.sink is not None:
            ctx.sink.close()
    return _finish(ctx, outcome)


def _finish(ctx: ExecutionContext, outcome: tuple[str, dict[str, Any] | None, dict[str, Any] | None]) -> str:
    status, result, failure = outcome
    try:
        ctx.state.finish_execution(ctx.exec_id, owner=ctx.owner, status=status, result=result, failure=failure)
    except LeaseLost:
        return "lost"
    return status
