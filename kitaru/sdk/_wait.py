"""`kitaru.wait()`: pause the execution until a human (or system) answers."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from kitaru.errors import KitaruWaitValidationError
from kitaru.runtime._context import Stop, Suspend, require_flow_body

if TYPE_CHECKING:
    from kitaru.config._models import KitaruConfig

_POLL = 0.2


def _adapter(schema: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(schema if schema is not None else Any)


def json_schema_of(schema: Any) -> dict[str, Any] | None:
    """The JSON schema an answer must match (None: anything JSON)."""
    return None if schema is None else _adapter(schema).json_schema()


def coerce_answer(schema: Any, answer: Any) -> Any:
    """Validate a JSON answer against `schema` and return it as that type."""
    from pydantic import ValidationError

    if schema is None:
        return answer
    try:
        return _adapter(schema).validate_python(answer)
    except ValidationError as exc:
        raise KitaruWaitValidationError(f"answer {answer!r} does not match the expected schema: {exc}") from exc


def _terminal(config: KitaruConfig) -> tuple[TextIO, TextIO] | None:
    """The process's own (stdin, stdout) when waits prompt there, else None."""
    stdin, stdout = sys.__stdin__, sys.__stdout__
    if stdin is None or stdout is None:
        return None
    interactive = config.interactive if config.interactive is not None else stdin.isatty() and stdout.isatty()
    return (stdin, stdout) if interactive else None


def _prompt(question: str | None, name: str, schema: Any, terminal: tuple[TextIO, TextIO]) -> Any:
    """Ask at the terminal until the answer validates."""
    stdin, stdout = terminal
    while True:
        shown = question or f"Input for {name}"
        stdout.write(f"\n{shown}\n(JSON or plain text) > ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            raise EOFError("stdin closed while waiting for input")
        text = line.strip()
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        try:
            coerce_answer(schema, value)
            return value
        except KitaruWaitValidationError as exc:
            stdout.write(f"invalid answer: {exc}\n")


def wait(
    *,
    schema: Any = None,
    name: str | None = None,
    question: str | None = None,
    timeout: float | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Wait for input: returns the answer validated against `schema`, or None without a schema (a plain
    "continue", as in Kitaru 0.4; the answer is still recorded). Flow body only.

    With a terminal attached it prompts; otherwise it polls for `timeout` seconds, then the
    execution becomes `waiting` and this process stops running it until someone answers.
    """
    from kitaru.artifacts import put_value
    from kitaru.runtime._steps import load_output, stops_on_lost_lease

    ctx = require_flow_body("kitaru.wait()")
    wait_name = name or "wait"
    from kitaru.store._guards import check_name

    check_name(wait_name, "wait name")
    inv, seq, rec = ctx.assign(wait_name, None, "wait")
    if rec is not None and rec["status"] == "completed":
        return None if schema is None else coerce_answer(schema, load_output(ctx, rec["output"]))
    state = ctx.state
    stored = state.open_wait({"exec_id": ctx.exec_id, "invocation_id": inv, "name": wait_name, "question": question,
                              "schema": json_schema_of(schema), "metadata": metadata or {}})
    call = {"exec_id": ctx.exec_id, "invocation_id": inv, "seq": seq, "name": wait_name, "type": "wait",
            "input_hash": None, "input_preview": question, "cache_key": None}
    with stops_on_lost_lease():
        attempt = state.start_call(call, owner=ctx.owner)
    call["started_at"] = time.time()
    limit = timeout if timeout is not None else (ctx.config.wait_timeout or 0.0)
    deadline = time.monotonic() + limit
    while True:
        if stored["status"] == "answered":
            answer = stored["answer"]
            value = coerce_answer(schema, answer)
            with stops_on_lost_lease():
                state.complete_call(call, attempt, owner=ctx.owner, output=put_value(ctx.store, answer),
                                    metadata={"wait": wait_name})
            return None if schema is None else value
        if stored["status"] == "aborted":
            raise Stop(f"wait {inv!r} was aborted")
        terminal = _terminal(ctx.config)
        if terminal is not None:
            answer = _prompt(question, inv, schema, terminal)
            state.resolve_wait(ctx.exec_id, inv, status="answered", answer=answer)
        elif time.monotonic() >= deadline:
            raise Suspend(inv)
        else:
            time.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))
            ctx.boundary()  # the heartbeat reports cancel requests and a lost lease
        stored = state.get_wait(ctx.exec_id, inv) or stored
