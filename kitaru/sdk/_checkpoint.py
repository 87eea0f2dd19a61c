"""`@checkpoint`: a durable step of a flow. Its output is recorded; it never runs twice."""

from __future__ import annotations

import contextvars
import enum
import functools
import hashlib
import inspect
import itertools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from kitaru.errors import KitaruUsageError
from kitaru.runtime._context import ExecutionContext, require_flow_body

if TYPE_CHECKING:
    import concurrent.futures

    from kitaru.runtime._steps import StepSpec

T = TypeVar("T")


class CheckpointRuntime(enum.StrEnum):
    """Where a checkpoint runs: in the flow's process (`inline`) or as its own job (`isolated`)."""

    INLINE = "inline"
    ISOLATED = "isolated"


def _runtime(value: Any) -> CheckpointRuntime:
    """`runtime=` as the enum; strings are case-insensitive ("Isolated" works), None means inline."""
    if value is None:
        return CheckpointRuntime.INLINE
    if isinstance(value, str):
        try:
            return CheckpointRuntime(value.strip().lower())
        except ValueError:
            pass
    raise KitaruUsageError(
        f"@checkpoint(runtime=...) must be 'inline' or 'isolated' (or a CheckpointRuntime), got {value!r}")


def _wait_for(after: Any) -> None:
    """Block until every future in `after` finished (one future, or an iterable of them); values pass."""
    if after is None:
        return
    items = [after] if isinstance(after, CheckpointFuture) or not isinstance(after, Iterable) or isinstance(
        after, (str, bytes, dict)) else list(after)
    for item in items:
        if isinstance(item, CheckpointFuture):
            item.result()


class CheckpointFuture(Generic[T]):
    """The pending result of `checkpoint.submit()`; its invocation id was fixed at submit time."""

    def __init__(self, future: concurrent.futures.Future[T], invocation_id: str) -> None:
        self._future = future
        self.invocation_id = invocation_id

    def result(self, timeout: float | None = None) -> T:
        """Block until the checkpoint finished; return its output or raise its error."""
        return self._future.result(timeout)

    load = result

    def done(self) -> bool:
        """Whether the checkpoint finished."""
        return self._future.done()

    def __repr__(self) -> str:
        return f"<CheckpointFuture {self.invocation_id} done={self.done()}>"


class CheckpointFutures(list[CheckpointFuture[T]]):
    """The futures of `checkpoint.map()`, in input order."""

    def result(self, timeout: float | None = None) -> list[T]:
        """All outputs, in input order."""
        return [f.result(timeout) for f in self]

    load = result


class Checkpoint(Generic[T]):
    """A function whose output is persisted per execution; call it from a flow body."""

    def __init__(
        self,
        fn: Callable[..., T],
        *,
        retries: int = 0,
        type: str | None = None,
        runtime: CheckpointRuntime | Literal["inline", "isolated"] | str | None = None,
        cache: bool | None = None,
    ) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise KitaruUsageError(f"@checkpoint(retries=...) must be an integer >= 0, got {retries!r}")
        runtime = _runtime(runtime)
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = fn.__name__
        self.retries = retries
        self.type = type or "checkpoint"
        self.runtime = runtime
        self.cache = cache
        params = inspect.signature(fn).parameters
        self._takes_id = "id" in params
        self._takes_after = "after" in params
        self._code_hash: str | None = None

    def _spec(self) -> StepSpec[T]:
        from kitaru.runtime._steps import StepSpec

        return StepSpec(name=self.name, fn=self.fn, type=self.type, retries=self.retries, cache=self.cache,
                        isolated=self.runtime is CheckpointRuntime.ISOLATED, code_hash=self.code_hash)

    def code_hash(self) -> str:
        """Hash of the function's source: part of the cross-execution cache key."""
        if self._code_hash is None:
            try:
                src = inspect.getsource(self.fn)
            except (OSError, TypeError):
                src = self.fn.__qualname__
            self._code_hash = hashlib.sha256(src.encode()).hexdigest()
        return self._code_hash

    def _split_id(self, kwargs: dict[str, Any]) -> str | None:
        if self._takes_id:
            return None
        explicit = kwargs.pop("id", None)
        if explicit is not None and (not isinstance(explicit, str) or not explicit):
            raise KitaruUsageError(f"checkpoint id must be a non-empty string, got {explicit!r}")
        if explicit is not None:
            from kitaru.store._guards import check_name

            check_name(explicit, "checkpoint id")
        return explicit

    def _split_after(self, kwargs: dict[str, Any]) -> Any:
        return None if self._takes_after else kwargs.pop("after", None)

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        """Run in the flow body and return the output (plain value); `id=` names the call, `after=` are
        futures to finish first. Neither reaches the function unless it declares them."""
        ctx = require_flow_body(f"checkpoint {self.name!r}")
        explicit = self._split_id(kwargs)
        after = self._split_after(kwargs)
        inv, seq, rec = ctx.assign(self.name, explicit, "checkpoint")
        from kitaru.runtime._steps import run_step

        _wait_for(after)
        return run_step(ctx, self._spec(), args, kwargs, inv=inv, seq=seq, rec=rec)

    def submit(self, *args: Any, **kwargs: Any) -> CheckpointFuture[T]:
        """Run concurrently (after the futures in `after=`); the invocation id is assigned now, so ids stay
        deterministic."""
        ctx = require_flow_body(f"checkpoint {self.name!r}.submit()")
        explicit = self._split_id(kwargs)
        after = self._split_after(kwargs)
        inv, seq, rec = ctx.assign(self.name, explicit, "checkpoint")
        from kitaru.runtime._steps import run_step

        def run_after() -> T:
            _wait_for(after)  # earlier futures were queued first, so waiting here cannot deadlock the pool
            return run_step(ctx, self._spec(), args, kwargs, inv=inv, seq=seq, rec=rec)

        run = contextvars.copy_context().run
        future = _executor(ctx).submit(run, run_after)
        return CheckpointFuture(future, inv)

    def map(self, *iterables: Iterable[Any], after: Any = None, **constant_kwargs: Any) -> CheckpointFutures[T]:
        """Submit one call per item (zipped across iterables, shortest wins), in order; `constant_kwargs`
        go to every call, `after=` futures finish first."""
        return self._fan_out(zip(*iterables, strict=False), after, constant_kwargs)

    def product(self, *iterables: Iterable[Any], after: Any = None, **constant_kwargs: Any) -> CheckpointFutures[T]:
        """Submit one call per combination of the iterables (their cartesian product), in order."""
        return self._fan_out(itertools.product(*iterables), after, constant_kwargs)

    def _fan_out(self, rows: Iterable[tuple[Any, ...]], after: Any, constant: dict[str, Any]) -> CheckpointFutures[T]:
        if "id" in constant and not self._takes_id:
            raise KitaruUsageError(f"{self.name}.map()/product() cannot take id=: each call gets its own id")
        extra = {"after": after} if after is not None else {}
        return CheckpointFutures(self.submit(*items, **constant, **extra) for items in rows)

    def __repr__(self) -> str:
        return f"<checkpoint {self.name}>"


def _executor(ctx: ExecutionContext) -> concurrent.futures.ThreadPoolExecutor:
    import concurrent.futures

    with ctx.lock:
        pool = ctx.executor
        if pool is None:
            from kitaru.config._tunables import tunables

            pool = concurrent.futures.ThreadPoolExecutor(tunables().checkpoint_workers,
                                                         thread_name_prefix=f"kitaru-{ctx.exec_id[:8]}")
            ctx.executor = pool
        return pool


@overload
def checkpoint(fn: Callable[..., T], /) -> Checkpoint[T]: ...


@overload
def checkpoint(
    *, retries: int = 0, type: str | None = None,
    runtime: CheckpointRuntime | Literal["inline", "isolated"] | str | None = None, cache: bool | None = None,
) -> Callable[[Callable[..., T]], Checkpoint[T]]: ...


def checkpoint(fn: Callable[..., T] | None = None, /, **options: Any) -> Any:
    """Mark a function as a durable checkpoint: `@checkpoint` or `@checkpoint(retries=2, ...)`."""
    unknown = set(options) - {"retries", "type", "runtime", "cache"}
    if unknown:
        raise KitaruUsageError(f"unknown @checkpoint option(s) {sorted(unknown)}; valid: cache, retries, runtime, type")
    if fn is not None:
        return Checkpoint(fn, **options)
    _runtime(options.get("runtime"))  # a bad runtime fails at decoration, not at first call
    return lambda f: Checkpoint(f, **options)
