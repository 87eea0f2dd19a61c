"""`@flow`: the durable boundary. `.run()` starts an execution, `.replay()` forks one."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from kitaru.errors import KitaruContextError, KitaruUsageError
from kitaru.runtime._context import current_context
from kitaru.runtime._source import importing_for_reentry
from kitaru.sdk._handle import FlowHandle

T = TypeVar("T")


class Flow(Generic[T]):
    """A flow function. Start it with `.run(...)`; calling it directly is a usage error."""

    def __init__(self, fn: Callable[..., T], **options: Any) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = fn.__name__
        self.options = {k: v for k, v in options.items() if v is not None}

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        raise KitaruUsageError(
            f"flow {self.name!r} cannot be called directly; start it with {self.name}.run(...), which returns a"
            " FlowHandle (use handle.wait() for the result)"
        )

    def _guard(self, what: str) -> None:
        if importing_for_reentry():
            raise KitaruUsageError(
                f"{self.name}.{what}() ran while a Kitaru runner imported this script to continue an execution;"
                " put the call under `if __name__ == \"__main__\":` so importing the file does not start flows"
            )
        if current_context() is not None:
            raise KitaruContextError(f"{self.name}.{what}() cannot be called inside another flow; call its checkpoints")

    def run(
        self,
        *args: Any,
        stack: str | None = None,
        image: Any = None,
        cache: bool | None = None,
        retries: int | None = None,
        **kwargs: Any,
    ) -> FlowHandle:
        """Start an execution with these inputs; on the local stack it runs here and returns when it
        completes, fails or starts waiting."""
        self._guard("run")
        run_options = {"stack": stack, "image": image, "cache": cache, "retries": retries}
        from kitaru.runtime import _launch

        exec_id, state = _launch.start(self, args, kwargs, run_options)
        return FlowHandle(exec_id, state)

    def replay(
        self,
        exec_id: str,
        *,
        from_: str,
        overrides: dict[str, Any] | None = None,
        stack: str | None = None,
        image: Any = None,
        cache: bool | None = None,
        retries: int | None = None,
        **inputs: Any,
    ) -> FlowHandle:
        """A new execution that reuses `exec_id`'s outputs before checkpoint `from_` and re-runs the rest;
        `stack`/`image`/`cache`/`retries` override the source's configuration, `inputs` its flow inputs."""
        self._guard("replay")
        from kitaru.runtime import _launch

        options = {"stack": stack, "image": image, "cache": cache, "retries": retries}
        new_id, state = _launch.replay(exec_id, from_=from_, overrides=overrides, inputs=inputs, flow=self,
                                       options=options)
        return FlowHandle(new_id, state)

    def __repr__(self) -> str:
        return f"<flow {self.name}>"


@overload
def flow(fn: Callable[..., T], /) -> Flow[T]: ...


@overload
def flow(
    *, stack: str | None = None, image: Any = None, cache: bool | None = None, retries: int | None = None
) -> Callable[[Callable[..., T]], Flow[T]]: ...


def flow(fn: Callable[..., T] | None = None, /, **options: Any) -> Flow[T] | Callable[[Callable[..., T]], Flow[T]]:
    """Mark a function as a durable flow: `@flow` or `@flow(stack=..., retries=...)`."""
    unknown = set(options) - {"stack", "image", "cache", "retries"}
    if unknown:
        raise KitaruUsageError(f"unknown @flow option(s) {sorted(unknown)}; valid: cache, image, retries, stack")
    if fn is not None:
        return Flow(fn, **options)
    return lambda f: Flow(f, **options)
