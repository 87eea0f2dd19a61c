"""`@checkpoint`: a durable step of a flow. Its output is recorded; it never runs twice."""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from kitaru.errors import KitaruUsageError
from kitaru.runtime._context import ExecutionContext, require_flow_body

if TYPE_CHECKING:
    import concurrent.futures

    from kitaru.runtime._steps import StepSpec

T = TypeVar("T")
_MAX_WORKERS = 8


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
        runtime: Literal["inline", "isolated"] = "inline",
        cache: bool | None = None,
    ) -> None:
        if retries < 0:
            raise KitaruUsageError(f"@checkpoint(retries=...) must be >= 0, got {retries}")
        if runtime not in ("inline", "isolated"):
            raise KitaruUsageError(f"@checkpoint(runtime=...) must be 'inline' or 'isolated', got {runtime!r}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = fn.__name__
        self.retries = retries
        self.type = type or "checkpoint"
        self.runtime = runtime
        self.cache = cache
        self._takes_id = "id" in inspect.signature(fn).parameters
        self._code_hash: str | None = None

    def _spec(self) -> StepSpec:
        from kitaru.runtime._steps import StepSpec

        return StepSpec(name=self.name, fn=self.fn, type=self.type, retries=self.retries, cache=self.cache,
                        code_hash=self.code_hash)

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

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        ctx = require_flow_body(f"checkpoint {self.name!r}")
        explicit = self._split_id(kwargs)
        inv, seq, rec = ctx.assign(self.name, explicit, "checkpoint")
        from kitaru.runtime._steps import run_step

        return run_step(ctx, self._spec(), args, kwargs, inv=inv, seq=seq, rec=rec)

    def submit(self, *args: Any, **kwargs: Any) -> CheckpointFuture[T]:
        """Run concurrently; the invocation id is assigned now, so ids stay deterministic."""
        ctx = require_flow_body(f"checkpoint {self.name!r}.submit()")
        explicit = self._split_id(kwargs)
        inv, seq, rec = ctx.assign(self.name, explicit, "checkpoint")
        from kitaru.runtime._steps import run_step

        run = contextvars.copy_context().run
        future = _executor(ctx).submit(run, run_step, ctx, self._spec(), args, kwargs, inv=inv, seq=seq, rec=rec)
        return CheckpointFuture(future, inv)

    def map(self, *iterables: Iterable[Any]) -> CheckpointFutures[T]:
        """Submit one call per item (zipped across iterables), in order."""
        return CheckpointFutures(self.submit(*items) for items in zip(*iterables, strict=False))

    def __repr__(self) -> str:
        return f"<checkpoint {self.name}>"


def _executor(ctx: ExecutionContext) -> concurrent.futures.ThreadPoolExecutor:
    import concurrent.futures

    with ctx.lock:
        pool = getattr(ctx, "executor", None)
        if pool is None:
            pool = concurrent.futures.ThreadPoolExecutor(_MAX_WORKERS, thread_name_prefix=f"kitaru-{ctx.exec_id[:8]}")
            ctx.executor = pool  # type: ignore[attr-defined]
        return pool


@overload
def checkpoint(fn: Callable[..., T], /) -> Checkpoint[T]: ...


@overload
def checkpoint(
    *, retries: int = 0, type: str | None = None, runtime: Literal["inline", "isolated"] = "inline",
    cache: bool | None = None,
) -> Callable[[Callable[..., T]], Checkpoint[T]]: ...


def checkpoint(fn: Callable[..., T] | None = None, /, **options: Any) -> Any:
    """Mark a function as a durable checkpoint: `@checkpoint` or `@checkpoint(retries=2, ...)`."""
    if fn is not None:
        return Checkpoint(fn, **options)
    return lambda f: Checkpoint(f, **options)
