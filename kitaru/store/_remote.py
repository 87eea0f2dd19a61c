"""`RemoteStateService`: the StateService API over HTTP to a Kitaru server (same names, shapes, errors).

Writes are safe to retry: journal writes are upserts on the server; creates and replays use
client-chosen unique keys (a retried request that already landed answers 409 Duplicate, taken as
success); log batches carry an Idempotency-Key; claims and finishes are reconciled by reading back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from kitaru.auth import token_claims
from kitaru.errors import KitaruContextError, KitaruStateError, KitaruUsageError
from kitaru.store._guards import check_name
from kitaru.store._http import Duplicate, NotFound, Transport
from kitaru.store._protocol import RESUMABLE, JobStatusLookup
from kitaru.store._remote_memory import RemoteMemory
from kitaru.store.service import LeaseLost


def _q(part: str) -> str:
    return quote(part, safe="")


def _valid(name: str, what: str) -> bool:
    """Whether `name` could name a stored record (what is never stored is never found, as in the database)."""
    try:
        check_name(name, what)
    except KitaruUsageError:
        return False
    return True


class RemoteStateService(RemoteMemory):
    """Executions, journal, waits, logs, artifacts and settings on a Kitaru server."""

    def __init__(self, url: str, *, token: str | None = None, api_key: str | None = None,
                 retry_seconds: float | None = None, **tls: Any) -> None:
        self.http = Transport(url, token=token, api_key=api_key, retry_seconds=retry_seconds, **tls)
        self.url = self.http.url
        self.scope = None if api_key or not token else token_claims(token).get("exec")  # execution-scoped token?

    @property
    def server(self) -> RemoteStateService:
        """This client: the server link (tokens for runners, brokered credentials, continuations)."""
        return self

    @property
    def reads_secrets(self) -> bool:
        """Whether this client may read secret values: only a runtime's execution-scoped token may."""
        return self.scope is not None

    def me(self) -> dict[str, Any]:
        """Who this client is on the server (id, name, role), asked once."""
        found: dict[str, Any] | None = getattr(self, "_me", None)
        if found is None:
            found = self._me = self._get("/auth/me")
        return found

    def for_execution(self, exec_id: str) -> RemoteStateService:
        """This server, acting as the runtime of one execution (a token scoped to it; a runtime's retry budget)."""
        if self.scope == exec_id:
            return self
        return RemoteStateService(self.url, token=self.execution_token(exec_id), timeout=self.http.timeout,
                                  verify_ssl=self.http.verify_ssl, ssl_ca_cert=self.http.ssl_ca_cert)

    def _get(self, path: str, **params: Any) -> Any:
        return self.http.request("GET", path, params={k: v for k, v in params.items() if v is not None})[0]

    def _maybe(self, path: str, **params: Any) -> Any:
        try:
            return self._get(path, **params)
        except NotFound:
            return None

    def _send(self, method: str, path: str, body: Any = None, *, dedupe: bool = False, **kw: Any) -> Any:
        try:
            return self.http.request(method, path, json=body, **kw)[0]
        except Duplicate as exc:
            if dedupe and getattr(exc, "retried", False):
                return None  # our earlier attempt landed before the connection broke
            raise KitaruStateError(str(exc)) from None

    # ---------------------------------------------------------------- executions
    def create_execution(
        self, record: dict[str, Any], *, owner: str, lease_ttl: float, seed: dict[str, Any] | None = None
    ) -> None:
        """Insert a new running execution whose lease `owner` holds (with a replay's seeded journal)."""
        self._send("POST", "/executions", {"record": record, "owner": owner, "lease_ttl": lease_ttl, "seed": seed},
                   dedupe=True)

    def get_execution(self, exec_id: str) -> dict[str, Any] | None:
        """Return one execution row (as a dict), or None."""
        return self._maybe(f"/executions/{_q(exec_id)}") if exec_id else None

    def find_executions(self, prefix: str, limit: int = 10) -> list[str]:
        """Execution ids starting with `prefix`."""
        clean = "".join(c for c in prefix if c.isalnum())
        return self._get("/execution-ids", prefix=clean, limit=limit) if clean else []

    def list_executions(self, *, flow: str | None = None, status: str | None = None, limit: int = 50,
                        offset: int = 0, before: tuple[float, str] | None = None) -> list[dict[str, Any]]:
        """Newest first; filter by flow/status; page by offset or keyset (`before`)."""
        bt, bid = before if before else (None, None)
        result: list[dict[str, Any]] = self._get("/executions", flow=flow, status=status, limit=limit, offset=offset,
                                                 before_created_at=bt, before_id=bid)["items"]
        return result

    def claim_execution(self, exec_id: str, *, owner: str, lease_ttl: float,
                        statuses: Sequence[str] = RESUMABLE) -> dict[str, Any]:
        """Take the lease of an execution in one of `statuses` and mark it running."""
        try:
            result: dict[str, Any] = self.http.request(
                "POST", f"/executions/{_q(exec_id)}/claim",
                json={"owner": owner, "lease_ttl": lease_ttl, "statuses": list(statuses)})[0]
            return result
        except KitaruStateError:
            row = self.get_execution(exec_id)
            if row is not None and row["lease_owner"] == owner and row["status"] == "running":
                return row  # a retried claim that had already landed
            raise

    def renew_lease(self, exec_id: str, *, owner: str, lease_ttl: float) -> bool:
        """Extend this runner's lease; False if it was lost."""
        return bool(self._send("PUT", f"/executions/{_q(exec_id)}/lease",
                               {"owner": owner, "lease_ttl": lease_ttl})["renewed"])

    def finish_execution(self, exec_id: str, *, owner: str, status: str, result: dict[str, Any] | None = None,
                         failure: dict[str, Any] | None = None) -> None:
        """End this runner's turn: completed/failed/cancelled (terminal) or waiting (released)."""
        try:
            self.http.request("POST", f"/executions/{_q(exec_id)}/finish",
                              json={"owner": owner, "status": status, "result": result, "failure": failure})
        except LeaseLost:
            row = self.get_execution(exec_id)
            if row is None or row["lease_owner"] is not None or row["status"] != status or row["result"] != result:
                raise

    def request_cancel(self, exec_id: str) -> dict[str, Any]:
        """Cancel: a waiting/failed execution ends now; a running one stops at its next checkpoint."""
        result: dict[str, Any] = self._send("POST", f"/executions/{_q(exec_id)}/cancel")
        return result

    def expire_lost_runners(self, job_status: JobStatusLookup | None = None) -> list[dict[str, Any]]:
        """Mark running executions whose lease expired as failed; return them (the server asks the orchestrators
        itself, so `job_status` is not used)."""
        result: list[dict[str, Any]] = self._send("POST", "/executions/expire-lost")
        return result

    def continue_execution(self, exec_id: str, statuses: Sequence[str]) -> dict[str, Any]:
        """Ask the server to continue an execution of a remote stack (it dispatches the runner as the owner)."""
        result: dict[str, Any] = self._send("POST", f"/executions/{_q(exec_id)}/continue",
                                            {"statuses": list(statuses)})
        return result

    def replay_execution(self, exec_id: str, *, from_: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
        """Have the server replay an execution of a remote stack from its shipped code (it creates the new
        execution, owned by this principal, and dispatches its runner); {"exec_id", "job_id"}."""
        result: dict[str, Any] = self._send("POST", f"/executions/{_q(exec_id)}/replay",
                                            {"from": from_, "overrides": overrides})
        return result

    def record_dispatch(self, exec_id: str, *, orchestrator: str, job_id: str) -> None:
        """Remember where an execution's latest runner was dispatched."""
        self._send("PUT", f"/executions/{_q(exec_id)}/dispatch", {"orchestrator": orchestrator, "job_id": job_id})

    def set_execution_metadata(self, exec_id: str, metadata: dict[str, Any]) -> None:
        """Merge `metadata` into the execution's metadata."""
        self._send("PATCH", f"/executions/{_q(exec_id)}/metadata", {"metadata": metadata})

    def job_logs(self, exec_id: str) -> dict[str, Any]:
        """The orchestrator's own lines about the execution's job (scheduling, image pulls, events)."""
        return self._get(f"/executions/{_q(exec_id)}/job-logs")  # type: ignore[no-any-return]

    def bearer_token(self) -> str | None:
        """The token this connection sends now (refreshed or exchanged if needed)."""
        return self.http.token()

    def submit_checkpoint_job(self, exec_id: str, *, owner: str, job: dict[str, Any]) -> str:
        """Have the server dispatch one isolated checkpoint attempt (this runtime holds the lease); its handle."""
        return str(self._send("POST", f"/executions/{_q(exec_id)}/jobs", {**job, "owner": owner})["handle"])

    def checkpoint_job_status(self, exec_id: str, handle: str) -> dict[str, Any]:
        """The state of a checkpoint job the server dispatched for this execution."""
        return self._get(f"/executions/{_q(exec_id)}/jobs", handle=handle)  # type: ignore[no-any-return]

    def cancel_checkpoint_job(self, exec_id: str, handle: str) -> None:
        """Stop a checkpoint job the server dispatched for this execution."""
        self._send("DELETE", f"/executions/{_q(exec_id)}/jobs", params={"handle": handle})

    def execution_token(self, exec_id: str) -> str:
        """A bearer token a runtime can use for this execution only."""
        return str(self._send("POST", f"/executions/{_q(exec_id)}/token")["access_token"])

    # ------------------------------------------------------------------- journal
    def load_journal(self, exec_id: str) -> list[dict[str, Any]]:
        """Every checkpoint call of an execution, in call order."""
        result: list[dict[str, Any]] = self._get(f"/executions/{_q(exec_id)}/calls")
        return result

    def load_attempts(self, exec_id: str) -> list[dict[str, Any]]:
        """Every attempt of every checkpoint call of an execution."""
        result: list[dict[str, Any]] = self._get(f"/executions/{_q(exec_id)}/attempts")
        return result

    def check_boundary(self, exec_id: str, *, owner: str) -> None:
        """Raise LeaseLost / CancelRequested unless `owner` may continue."""
        self._send("POST", f"/executions/{_q(exec_id)}/boundary", {"owner": owner})

    def start_call(self, call: dict[str, Any], *, owner: str, attempt: int | None = None) -> int:
        """Mark a call running; returns the attempt number."""
        body = {"call": call, "owner": owner, "attempt": attempt}
        return int(self._send("POST", f"/executions/{_q(call['exec_id'])}/calls/start", body)["attempt"])

    def complete_call(self, call: dict[str, Any], attempt: int, *, owner: str, output: dict[str, Any],
                      metadata: dict[str, Any] | None = None) -> None:
        """Commit a completed call and its attempt (fenced by the lease)."""
        self._send("POST", f"/executions/{_q(call['exec_id'])}/calls/complete",
                   {"call": call, "attempt": attempt, "owner": owner, "output": output, "metadata": metadata})

    def fail_call(self, call: dict[str, Any], attempt: int, *, owner: str, error: dict[str, Any], final: bool,
                  metadata: dict[str, Any] | None = None) -> None:
        """Record a failed attempt; `final` marks the call itself failed (fenced by the lease)."""
        self._send("POST", f"/executions/{_q(call['exec_id'])}/calls/fail",
                   {"call": call, "attempt": attempt, "owner": owner, "error": error, "final": final,
                    "metadata": metadata})

    def record_reused_call(self, call: dict[str, Any], *, owner: str) -> None:
        """Record a completed call whose output came from the cross-execution cache."""
        self._send("POST", f"/executions/{_q(call['exec_id'])}/calls/reuse", {"call": call, "owner": owner},
                   dedupe=True)

    def cache_index(self, flow_name: str) -> frozenset[str] | None:
        """The key prefixes the caller's earlier executions of this flow may hit (one request per runner turn,
        instead of a lookup per checkpoint); None if the server has too many to send."""
        found = self._get("/cache", flow=flow_name)
        return frozenset(found["prefixes"]) if found["complete"] else None

    def find_cached_output(self, cache_key: str) -> dict[str, Any] | None:
        """The newest completed call with this cache key, if any."""
        result: dict[str, Any] | None = self._maybe(f"/cache/{_q(cache_key)}")
        return result

    # --------------------------------------------------------------------- waits
    def open_wait(self, wait: dict[str, Any]) -> dict[str, Any]:
        """Create the pending wait if it does not exist yet; return the stored wait."""
        result: dict[str, Any] = self._send("POST", f"/executions/{_q(wait['exec_id'])}/waits", wait)
        return result

    def get_wait(self, exec_id: str, invocation_id: str) -> dict[str, Any] | None:
        """One wait of an execution, by its invocation id."""
        result: dict[str, Any] | None = self._maybe(f"/executions/{_q(exec_id)}/waits/{quote(invocation_id)}")
        return result

    def list_waits(self, exec_id: str | None = None, status: str | None = "pending") -> list[dict[str, Any]]:
        """Waits of one execution (or of all), optionally only those with `status`."""
        result: list[dict[str, Any]] = self._get("/waits", exec_id=exec_id, status=status or "any")
        return result

    def resolve_wait(self, exec_id: str, invocation_id: str, *, status: str, answer: Any = None) -> bool:
        """Answer or abort a pending wait; False if it was not pending."""
        body = {"invocation_id": invocation_id, "status": status, "answer": answer}
        resolved, retried = self.http.request("POST", f"/executions/{_q(exec_id)}/waits/resolve", json=body)
        if not resolved["resolved"] and retried:  # did our own earlier attempt land?
            row = self.get_wait(exec_id, invocation_id)
            return bool(row and row["status"] == status and row["answer"] == answer)
        return bool(resolved["resolved"])

    # ---------------------------------------------------------------------- logs
    def append_logs(self, entries: Sequence[dict[str, Any]]) -> None:
        """Append a batch of log entries (one idempotent request per execution)."""
        by_exec: dict[str, list[dict[str, Any]]] = {}
        for e in entries:
            by_exec.setdefault(e["exec_id"], []).append({k: v for k, v in e.items() if k != "exec_id"})
        for exec_id, batch in by_exec.items():
            # keyed by content, so a batch re-sent after a failure (the log sink re-queues it) lands once
            key = hashlib.sha256(json.dumps([exec_id, batch], sort_keys=True, default=str).encode()).hexdigest()
            self._send("POST", f"/executions/{_q(exec_id)}/logs", {"entries": batch}, headers={"Idempotency-Key": key})

    def query_logs(self, exec_id: str, *, invocation_id: str | None = None, after_id: int = 0,
                   limit: int = 1000, wait: float = 0.0) -> list[dict[str, Any]]:
        """Log entries of an execution after `after_id`, oldest first.

        `wait` > 0 long-polls: the server answers as soon as a line arrives or the execution stops
        running, at the latest after `wait` seconds (at most 25).
        """
        result: list[dict[str, Any]] = self._get(f"/executions/{_q(exec_id)}/logs", invocation_id=invocation_id,
                                                 after_id=after_id, limit=limit, wait=min(wait, 25.0) or None)
        return result

    # ----------------------------------------------------------------- artifacts
    def save_artifact(self, record: dict[str, Any]) -> None:
        """Record (or replace) a named artifact of an execution."""
        body = {k: v for k, v in record.items() if k != "exec_id"}
        self._send("PUT", f"/executions/{_q(record['exec_id'])}/artifacts", body)

    def list_artifacts(self, exec_id: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """Artifacts, optionally of one execution and/or with one name, newest first."""
        result: list[dict[str, Any]] = self._get("/artifacts", exec_id=exec_id, name=name)
        return result

    # ------------------------------------------------------ settings & key/value
    def get_setting(self, key: str) -> Any:
        """A JSON setting, or None."""
        return self._get(f"/settings/{_q(key)}")["value"]

    def put_setting(self, key: str, value: Any) -> None:
        """Store a JSON setting."""
        self._send("PUT", f"/settings/{_q(check_name(key, 'setting key'))}", {"value": value})

    def put_secret(self, name: str, data: dict[str, str]) -> None:
        """Create or replace a secret (values are write-only on the server)."""
        self._send("PUT", f"/secrets/{_q(check_name(name, 'secret name'))}", {"data": data})

    def get_secret(self, name: str) -> dict[str, str] | None:
        """A secret's values, or None; only a runtime (an execution-scoped token) may read them."""
        if not self.reads_secrets:
            raise KitaruContextError(
                f"cannot read secret {name!r}: on a Kitaru server secret values are write-only and only a flow's"
                " runtime can read them; use it inside a @flow (or keep the value in this process's environment)")
        if not _valid(name, "secret name"):
            return None
        result: dict[str, str] | None = self._maybe(f"/secrets/{_q(name)}/value")
        return result

    def list_secrets(self) -> list[dict[str, Any]]:
        """Secret names and their keys (never values)."""
        result: list[dict[str, Any]] = self._get("/secrets")
        return result

    def delete_secret(self, name: str) -> bool:
        """Delete a secret; False if it did not exist."""
        if not _valid(name, "secret name"):
            return False
        try:
            self._send("DELETE", f"/secrets/{_q(name)}")
        except NotFound:
            return False
        return True

    def put_model_alias(self, alias: str, model: str, secret: str | None, *, created_by: str | None = None) -> None:
        """Create or replace a model alias (the server records its caller as the writer, not `created_by`)."""
        self._send("PUT", f"/models/{_q(check_name(alias, 'model alias'))}", {"model": model, "secret": secret})

    def list_model_aliases(self) -> list[dict[str, Any]]:
        """All model aliases, sorted by alias."""
        result: list[dict[str, Any]] = self._get("/models")
        return result

    # -------------------------------------------------------------------- stacks
    def put_stack(self, name: str, spec: dict[str, Any]) -> None:
        """Create or replace a stack composition."""
        self._send("PUT", f"/stacks/{_q(check_name(name, 'stack name'))}", {"spec": spec})

    def get_stack(self, name: str) -> dict[str, Any] | None:
        """One stack row, or None."""
        if not _valid(name, "stack name"):
            return None
        result: dict[str, Any] | None = self._maybe(f"/stacks/{_q(name)}")
        return result

    def list_stacks(self) -> list[dict[str, Any]]:
        """All stacks, sorted by name."""
        result: list[dict[str, Any]] = self._get("/stacks")
        return result

    def delete_stack(self, name: str) -> bool:
        """Delete a stack; False if it did not exist."""
        if not _valid(name, "stack name"):
            return False
        try:
            self._send("DELETE", f"/stacks/{_q(name)}")
        except NotFound:
            return False
        return True

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call a route under /api/v1 that no store member covers (users, API keys); the decoded body."""
        return self.http.request(method, path, json=body)[0]

    def mint_credentials(self, stack: str, *, component: str = "artifact_store", access: str = "read",
                         scope: str = "", ttl: int = 900) -> dict[str, Any]:
        """Short-lived credentials for a stack component, brokered by the server."""
        result: dict[str, Any] = self._send("POST", f"/stacks/{_q(stack)}/credentials",
                                            {"component": component, "access": access, "scope": scope, "ttl": ttl})
        return result

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()
