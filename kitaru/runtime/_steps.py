"""Running one durable step (checkpoint or llm call): journal lookup, cache, attempts, commit.

Order of effects for a completed step: run → serialize → write bytes (atomic) → commit the
journal record. A crash before the commit re-runs the step; never a record without bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kitaru.artifacts import get_value, hash_inputs
from kitaru.artifacts._blobs import encode_value, write_encoded
from kitaru.errors import KitaruBackendError, KitaruStateError, KitaruUsageError
from kitaru.runtime._context import ExecutionContext, Stop, _checkpoint, _checkpoint_metadata
from kitaru.stacks import store_from_root
from kitaru.store import CancelRequested, LeaseLost

_MAX_BACKOFF = 5.0
log = logging.getLogger("kitaru.runtime")
T = TypeVar("T")


@dataclass(frozen=True)
class StepSpec(Generic[T]):
    """What the runtime needs to know about a step (`T`: what its function returns)."""

    name: str
    fn: Callable[..., T]
    type: str = "checkpoint"
    retries: int = 0
    cache: bool | None = None
    isolated: bool = False
    code_hash: Callable[[], str] = field(default=lambda: "")


def load_output(ctx: ExecutionContext, ref: dict[str, Any]) -> Any:
    """Load a recorded output, verifying its hash (from this execution's store or the recorded one)."""
    store = ctx.store if ref.get("store") in (None, ctx.store.root) else store_from_root(ref["store"])
    return get_value(store, ref)


def error_info(exc: BaseException) -> dict[str, Any]:
    """A JSON description of an exception for the journal (an isolated checkpoint's: as its job recorded it)."""
    recorded = getattr(exc, "__kitaru_error__", None)
    if isinstance(recorded, dict) and recorded.get("type"):
        return dict(recorded)
    return {
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc))[-8000:],
    }


def run_step(
    ctx: ExecutionContext,
    spec: StepSpec[T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    inv: str,
    seq: int,
    rec: dict[str, Any] | None,
) -> T:
    """Return the step's recorded output, or run it (with retries) and record the output."""
    if rec is not None and rec["status"] == "completed":
        with backend_origin():
            recorded: T = load_output(ctx, rec["output"])  # what this step returned when it ran
            return recorded
    input_hash, preview = hash_inputs(args, kwargs)
    use_cache = spec.cache if spec.cache is not None else ctx.config.cache
    # the cache is per flow: same flow, same checkpoint code, same inputs (Kitaru 0.4's cache=True default)
    cache_key = (hashlib.sha256(f"{ctx.flow_name}\0{spec.name}\0{spec.code_hash()}\0{input_hash}".encode()).hexdigest()
                 if use_cache and input_hash is not None else None)  # no stable input hash: never cached
    call = {"exec_id": ctx.exec_id, "invocation_id": inv, "seq": seq, "name": spec.name, "type": spec.type,
            "input_hash": input_hash, "input_preview": preview, "cache_key": cache_key}
    if cache_key is not None and rec is None and ctx.may_hit_cache(cache_key):
        hit = ctx.state.find_cached_output(cache_key)
        if hit is not None and hit["exec_id"] != ctx.exec_id:  # across executions; inside one, every call runs
            try:
                cached: T = load_output(ctx, hit["output"])  # the same flow, checkpoint code and inputs
            except Exception as exc:  # noqa: BLE001 - the cached blob is gone or corrupted: run the checkpoint instead
                log.warning("cached output of %r from execution %s is unusable (%s: %s); running the checkpoint",
                            spec.name, hit["exec_id"], type(exc).__name__, exc)
            else:
                with stops_on_lost_lease():
                    ctx.state.record_reused_call(
                        {**call, "output": hit["output"], "reused_from": hit["exec_id"], "metadata": {"cache": "hit"}},
                        owner=ctx.owner)
                return cached
    earlier_attempts = int(rec["attempts"]) if rec is not None else 0  # from runs before this one
    attempt = earlier_attempts
    while True:
        ctx.boundary()
        attempt += 1
        call["started_at"] = time.time()
        ctx.track(inv, call, attempt)  # the heartbeat marks it running if it outlives one beat
        metadata: dict[str, Any] = {}
        token_cp, token_md = _checkpoint.set(inv), _checkpoint_metadata.set(metadata)
        started = time.perf_counter()
        ref = None
        value: T
        try:
            if spec.isolated:  # its own job on the stack's orchestrator; recorded below like any call
                from kitaru.runtime._isolated import run_isolated

                value, ref = run_isolated(ctx, spec.fn, spec.name, args, kwargs, inv=inv, attempt=attempt,
                                          metadata=metadata)
            else:
                value = spec.fn(*args, **kwargs)
        except (Stop, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            metadata["duration_s"] = time.perf_counter() - started
            final = attempt > earlier_attempts + spec.retries
            with store_failure(f"record the failed attempt {attempt} of checkpoint {inv!r}", ctx.exec_id, inv), \
                    ctx.untracking(inv), stops_on_lost_lease():
                ctx.state.fail_call(call, attempt, owner=ctx.owner, error=error_info(exc), final=final,
                                    metadata=metadata)
            if final:
                with contextlib.suppress(AttributeError, TypeError):  # e.g. an exception class with __slots__
                    exc.__kitaru_checkpoint__ = inv  # type: ignore[attr-defined]
                raise
            time.sleep(min(_MAX_BACKOFF, 0.05 * 2 ** (attempt - 1)))
            continue
        finally:
            _checkpoint.reset(token_cp)
            _checkpoint_metadata.reset(token_md)
        metadata["duration_s"] = time.perf_counter() - started
        if ref is None:  # an isolated call's job wrote its output already
            encoded, ref = encode_value(ctx.store, value)  # an unserializable output is the code's to fix
            with store_failure(f"write the output of checkpoint {inv!r} to the artifact store {ctx.store.root}",
                               ctx.exec_id, inv):
                write_encoded(ctx.store, encoded, ref)
        with store_failure(f"record the completed checkpoint {inv!r} in the state store", ctx.exec_id, inv), \
                ctx.untracking(inv), stops_on_lost_lease():
            ctx.state.complete_call(call, attempt, owner=ctx.owner, output=ref, metadata=metadata)
        return value


@contextlib.contextmanager
def backend_origin() -> Iterator[None]:
    """Mark a storage failure (an unreadable, missing or corrupted output) as the backend's, not user code's."""
    try:
        yield
    except KitaruUsageError:
        raise  # e.g. a serializer that is not installed here: says what to install
    except Exception as exc:
        with contextlib.suppress(AttributeError, TypeError):
            exc.__kitaru_origin__ = "backend"  # type: ignore[attr-defined]
        raise


@contextlib.contextmanager
def store_failure(action: str, exec_id: str, checkpoint: str | None = None) -> Iterator[None]:
    """A failure of the artifact or state store while doing `action` after the code ran: origin `backend`
    (`runtime` for a refused journal transition), with a message about the store, never about the user's code."""
    try:
        yield
    except KitaruUsageError:
        raise  # a value or name out of bounds: the message says what to change
    except Exception as exc:
        origin = "runtime" if isinstance(exc, KitaruStateError) else "backend"
        error = KitaruBackendError(
            f"could not {action}: {type(exc).__name__}: {exc}. The code itself ran; this is a storage failure:"
            f" fix the store (space, permissions, connectivity), then `kitaru executions retry {exec_id}`")
        error.__kitaru_origin__ = origin
        error.__kitaru_checkpoint__ = checkpoint
        raise error from exc


@contextlib.contextmanager
def stops_on_lost_lease() -> Iterator[None]:
    """Turn the state service's 'cancelled' / 'lease lost' signals into a Stop of the flow body."""
    try:
        yield
    except CancelRequested:
        raise Stop("cancelled") from None
    except LeaseLost:
        raise Stop("lease_lost") from None
