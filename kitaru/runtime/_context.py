"""The per-execution runtime context: who owns the lease, the journal, id assignment."""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruContextError, KitaruDivergenceError, KitaruUsageError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from kitaru.artifacts import ArtifactStore
    from kitaru.config._models import KitaruConfig
    from kitaru.runtime._capture import LogSink
    from kitaru.runtime._isolated import CheckpointJobs
    from kitaru.store import StateStore


class Suspend(BaseException):
    """Unwinds the flow body when it must stop here: waiting for input."""


class Stop(BaseException):
    """Unwinds the flow body when the runner must stop: cancel requested or lease lost."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "cancelled" | "lease_lost"


def new_owner() -> str:
    """A lease owner token unique to one runner turn."""
    return f"{os.getpid()}:{os.urandom(6).hex()}"


@dataclass
class ExecutionContext:
    """Everything a running flow body needs; shared by its checkpoint threads."""

    exec_id: str
    state: StateStore
    store: ArtifactStore
    owner: str
    config: KitaruConfig
    flow_name: str
    journal: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    name_counts: dict[str, int] = field(default_factory=dict)
    used_ids: set[str] = field(default_factory=set)
    next_seq: int = 0
    diverged: KitaruDivergenceError | None = None
    stop_reason: str | None = None
    sink: LogSink | None = None
    executor: ThreadPoolExecutor | None = None
    jobs: CheckpointJobs | None = None  # where isolated checkpoints are submitted (resolved on first use)
    inflight: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    marked: set[str] = field(default_factory=set)
    mark_lock: threading.Lock = field(default_factory=threading.Lock)
    _by_seq: dict[int, dict[str, Any]] = field(default_factory=dict)
    _cache_index: frozenset[str] | None = None
    _cache_index_loaded: bool = False

    def __post_init__(self) -> None:
        self._by_seq = {rec["seq"]: rec for rec in self.journal}

    def may_hit_cache(self, cache_key: str) -> bool:
        """Whether a cross-execution cache lookup for `cache_key` can hit (the store's cache index, loaded at the
        first cached checkpoint of this turn; a store without one is always asked)."""
        from kitaru.store.service import CACHE_PREFIX

        if not self._cache_index_loaded:
            self._cache_index, self._cache_index_loaded = self.state.cache_index(self.flow_name), True
        return self._cache_index is None or cache_key[:CACHE_PREFIX] in self._cache_index

    def boundary(self) -> None:
        """A checkpoint boundary: stop here if the heartbeat saw a cancel request or lost the lease."""
        if self.stop_reason is not None:
            raise Stop(self.stop_reason)

    def track(self, inv: str, call: dict[str, Any], attempt: int) -> None:
        """Note a call in flight, for the heartbeat to mark running if it takes a while."""
        with self.lock:
            self.inflight[inv] = (call, attempt)

    @contextlib.contextmanager
    def untracking(self, inv: str) -> Iterator[None]:
        """Stop tracking a call while its outcome is written (so the heartbeat cannot race it)."""
        with self.mark_lock:
            with self.lock:
                self.inflight.pop(inv, None)
            yield

    def mark_slow_calls(self, older_than: float) -> None:
        """Heartbeat: write a 'running' journal row for calls in flight longer than `older_than` s."""
        import time

        now = time.time()
        with self.mark_lock:
            with self.lock:
                due = [(inv, c, a) for inv, (c, a) in self.inflight.items()
                       if now - c["started_at"] >= older_than and inv not in self.marked]
            for inv, call, attempt in due:
                from kitaru.store import CancelRequested

                try:
                    self.state.start_call(call, owner=self.owner, attempt=attempt)
                except CancelRequested:
                    return  # the next checkpoint boundary stops the body
                self.marked.add(inv)

    def assign(self, name: str, explicit_id: str | None, kind: str) -> tuple[str, int, dict[str, Any] | None]:
        """Give the next call its invocation id and position; return its journal record, if any.

        Ids are `name`, `name_2`, ... in call order (at submit time for futures), or `explicit_id`.
        Raises KitaruDivergenceError when the journal recorded a different call at this position.
        """
        with self.lock:
            if self.diverged is not None:
                raise self.diverged
            if explicit_id is not None:
                if explicit_id in self.used_ids:
                    raise KitaruUsageError(f"checkpoint id {explicit_id!r} is used twice in this execution; ids must be unique")
                inv = explicit_id
            else:
                n = self.name_counts.get(name, 0) + 1
                self.name_counts[name] = n
                inv = name if n == 1 else f"{name}_{n}"
                while inv in self.used_ids:  # an explicit id took the generated one
                    n += 1
                    self.name_counts[name] = n
                    inv = f"{name}_{n}"
            self.used_ids.add(inv)
            seq = self.next_seq
            self.next_seq += 1
            rec = self._by_seq.get(seq)
            if rec is not None and (rec["invocation_id"] != inv or rec["name"] != name):
                self.diverged = KitaruDivergenceError(
                    f"execution {self.exec_id} diverged from its journal at call #{seq + 1}: expected"
                    f" {rec['type']} {rec['invocation_id']!r} ({rec['name']}), but the flow called {kind} {inv!r} ({name})."
                    " The flow code changed since this execution ran; start a new run or replay it"
                    f" (`kitaru executions replay {self.exec_id} --from <checkpoint>`)",
                    exec_id=self.exec_id,
                    status="failed",
                    failure_origin="divergence",
                )
                raise self.diverged
            return inv, seq, rec


_current: contextvars.ContextVar[ExecutionContext | None] = contextvars.ContextVar("kitaru_execution", default=None)
_checkpoint: contextvars.ContextVar[str | None] = contextvars.ContextVar("kitaru_checkpoint", default=None)
_checkpoint_metadata: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "kitaru_checkpoint_metadata", default=None
)


def current_context() -> ExecutionContext | None:
    """The execution this code runs in, or None outside a flow."""
    return _current.get()


def current_checkpoint() -> str | None:
    """The invocation id of the checkpoint this code runs in, or None."""
    return _checkpoint.get()


def checkpoint_metadata() -> dict[str, Any] | None:
    """The metadata dict of the running checkpoint (kitaru.log and llm calls add to it)."""
    return _checkpoint_metadata.get()


def require_flow_body(what: str) -> ExecutionContext:
    """The current context, if called from a flow body (not outside, not inside a checkpoint)."""
    ctx = _current.get()
    if ctx is None:
        raise KitaruContextError(f"{what} can only be called inside a @flow; start the flow with .run()")
    inside = _checkpoint.get()
    if inside is not None:
        raise KitaruContextError(
            f"{what} cannot be called inside checkpoint {inside!r}; call it from the flow body instead"
        )
    return ctx
