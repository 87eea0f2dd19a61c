"""`client.artifacts`: saved values (`kitaru.save`) and checkpoint outputs, as ArtifactRef."""

from __future__ import annotations

import builtins
from typing import Any

from kitaru.client import _convert
from kitaru.client._models import ArtifactRef
from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.store import StateStore


class ArtifactNotFoundError(KitaruBackendError, LookupError):
    """No artifact has this id (or this name in this execution)."""


def artifacts_of(state: StateStore, exec_id: str, journal: list[dict[str, Any]] | None = None,
                 name: str | None = None) -> list[ArtifactRef]:
    """An execution's saved artifacts (newest first), then its checkpoint outputs in call order."""
    out = [_convert.artifact(r["exec_id"], r["name"], r["type"], r["ref"], tags=r["tags"],
                             checkpoint=r["invocation_id"], created_at=r["created_at"])
           for r in state.list_artifacts(exec_id, name)]
    journal = state.load_journal(exec_id) if journal is None else journal
    out += [_convert.artifact(exec_id, c["invocation_id"], "checkpoint_output", c["output"],
                              checkpoint=c["invocation_id"], created_at=c["ended_at"])
            for c in journal
            if c["status"] == "completed" and c["output"] and (name is None or name == c["invocation_id"])]
    return out


class ArtifactsAPI:
    """`client.artifacts`: list and fetch saved artifacts and checkpoint outputs."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def _exec_id(self, exec_id: str) -> str:
        from kitaru.client._client import ExecutionsAPI

        return ExecutionsAPI(self._state)._resolve_id(exec_id)

    def list(
        self, exec_id: str | None = None, *, name: str | None = None, kind: str | None = None,
        producing_call: str | None = None, limit: int | None = None,
    ) -> builtins.list[ArtifactRef]:
        """Artifacts of an execution (saved values and checkpoint outputs), or saved values of all.

        `kind` filters on ArtifactRef.kind ("output" for checkpoint outputs, else the `type` given to
        `kitaru.save`); `producing_call` is a call id, an invocation id or a checkpoint name.
        """
        if limit is not None and limit < 1:
            raise KitaruUsageError("limit must be >= 1")
        if exec_id:
            found = artifacts_of(self._state, self._exec_id(exec_id), name=name)
        else:
            found = [_convert.artifact(r["exec_id"], r["name"], r["type"], r["ref"], tags=r["tags"],
                                       checkpoint=r["invocation_id"], created_at=r["created_at"])
                     for r in self._state.list_artifacts(None, name)]
        if kind is not None:
            found = [a for a in found if a.kind == kind]
        if producing_call is not None:
            found = [a for a in found if a.checkpoint is not None and producing_call in self._call_keys(a)]
        return found if limit is None else found[:limit]

    def _call_keys(self, ref: ArtifactRef) -> set[str]:
        """The names a producing call answers to: its call id, invocation id and checkpoint name."""
        names = {c["invocation_id"]: c["name"] for c in self._state.load_journal(ref.exec_id)}
        return {ref.producing_call or "", ref.checkpoint or "", names.get(ref.checkpoint or "", "")} - {""}

    def get(self, artifact_id: str, name: str | None = None) -> ArtifactRef:
        """One artifact by its `artifact_id` (or, this project's form, by execution id and name)."""
        if name is not None:
            found = self.list(artifact_id, name=name)
            if not found:
                raise ArtifactNotFoundError(f"execution {artifact_id} has no artifact {name!r}; list them with"
                                            " `client.artifacts.list(exec_id)`")
            return found[0]
        parts = artifact_id.split(":", 2)
        if len(parts) != 3 or parts[1] not in ("artifact", "output"):
            raise KitaruUsageError(f"{artifact_id!r} is not an artifact id (`<exec_id>:artifact:<name>` or"
                                   " `<exec_id>:output:<checkpoint>`); list them with `client.artifacts.list`")
        exec_id, _, key = parts
        for ref in artifacts_of(self._state, self._exec_id(exec_id), name=key):
            if ref.artifact_id == artifact_id:
                return ref
        raise ArtifactNotFoundError(f"no artifact {artifact_id!r}; list them with `client.artifacts.list({exec_id!r})`")
