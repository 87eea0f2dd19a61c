"""Operational tunables: every timing, size, pool and transport knob, with its default, in one place.

Each field is read from `KITARU_<NAME>` (e.g. `KITARU_DISPATCH_GRACE=30`) when `tunables()` is called, so
operators and tests change them through the environment. This reader is deliberately plain (no
pydantic-settings): the server client and the CLI read it, and their start-up budget has no room for
pydantic (bench/RESULTS.md). Flow configuration (`KitaruConfig`) is separate: it is frozen per execution.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any


@dataclasses.dataclass(frozen=True)
class Tunables:
    """Timings in seconds; `KITARU_` + the upper-cased field name overrides each."""

    dispatch_grace: float = 15.0
    """A dispatched runner's time to start and take over the lease heartbeat."""
    job_grace: float = 30.0
    """How long a remote job its orchestrator reports pending/running keeps an expired lease."""
    cancel_grace: float = 30.0
    """A runner's time to stop at a checkpoint boundary after a cancel before its job is stopped."""
    server_lease_grace: float = 15.0
    """After a server restart: the time running executions get to renew their leases."""
    server_reconcile_interval: float = 2.0
    """Seconds between the server's reconciler passes (0 turns the loop off)."""
    local_runner_command: str | None = None
    """The command that starts a runner on the `local` orchestrator, before its arguments (shell words; default:
    this interpreter's `python -m kitaru.runtime`), e.g. `nice -n 10 /venv/bin/python -m kitaru.runtime`, or a
    wrapper that sets resource limits. `kitaru.testing` forks runners from a warm process with it."""
    local_llm_threads: int = 0
    """Threads of the offline `local/` model (llama.cpp); 0: half the CPUs."""
    checkpoint_workers: int = 8
    """Threads per execution for `checkpoint.submit()` / `.map()`."""
    brokered_ttl: int = 3600
    """Lifetime the runtime asks for when the server brokers storage credentials."""
    server_credentials_max_ttl: int = 3600
    """The server's cap on brokered credentials' lifetime, for every flavor..."""
    server_credentials_ttl_caps: dict[str, int] = dataclasses.field(default_factory=dict)
    """...and per flavor (JSON, e.g. `{"s3": 900}`), where a cloud or a policy wants shorter."""
    client_timeout: float = 30.0
    """The server client's socket timeout per request (a saved login's `timeout` wins)."""
    client_retry_seconds: float = 60.0
    """How long the server client retries an unreachable server before giving up."""
    ssl_ca_cert: str | None = None
    """A CA bundle (PEM file) for the server's certificate (a saved login's `ssl_ca_cert` wins)."""
    server_proxy: str | None = None
    """An HTTP proxy (`http://host:port`) the server client goes through (CONNECT for https servers)."""
    db_pool: int = 20
    """Database connections per server process (SQLAlchemy pool; psycopg: one per worker thread)."""
    db_statement_timeout: float = 30.0
    """PostgreSQL: the longest one statement may run (and wait for locks) before it is cancelled."""
    sqlite_busy_timeout: float = 30.0
    """SQLite: the longest a write waits for the database lock (a server gets a bounded wait, never a hang)."""

    def ttl_cap(self, flavor: str) -> int:
        """The longest brokered-credential lifetime for `flavor`."""
        return min(self.server_credentials_max_ttl, self.server_credentials_ttl_caps.get(flavor, 1 << 30))


def tunables() -> Tunables:
    """The tunables as the environment sets them now; a bad value is a KitaruUsageError naming the variable."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Tunables):
        raw = os.environ.get(f"KITARU_{field.name.upper()}")
        if raw is None or raw == "":
            continue
        values[field.name] = _parse(field, raw)
    return Tunables(**values)


def _parse(field: dataclasses.Field[Any], raw: str) -> Any:
    kind = str(field.type)
    try:
        if kind.startswith("dict"):
            value = json.loads(raw)
            if not isinstance(value, dict) or not all(isinstance(v, int) and v > 0 for v in value.values()):
                raise ValueError("expected a JSON object of positive integers")
            return value
        if kind.startswith("str"):
            return raw
        number = int(raw) if kind == "int" else float(raw)
    except ValueError as exc:
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError(f"KITARU_{field.name.upper()}={raw!r} is invalid ({exc}); unset it or give a"
                               f" {kind} (default {field.default!r})") from None
    if number < 0:
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError(f"KITARU_{field.name.upper()}={raw!r} must not be negative")
    return number
