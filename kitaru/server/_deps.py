"""Request dependencies: the server context, the authenticated principal, and authorization checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kitaru.auth import Principal
from kitaru.server._errors import ApiError, forbidden
from kitaru.server._identity import KeyRing
from kitaru.store import StateService
from kitaru.store._identity import IdentityService


class Missing:
    """The type of MISSING: no such execution."""


MISSING = Missing()


@dataclass
class ServerContext:
    """What every request needs: the state service, identities, the signing keys, the server's home."""

    state: StateService
    identity: IdentityService
    keyring: KeyRing
    home: Path
    auth_failures: Any = field(default=None)  # FailureLimiter of token exchanges per client address
    _owners: dict[str, str | None] = field(default_factory=dict, repr=False)

    def owner_of(self, exec_id: str) -> str | None | Missing:
        """The principal that owns an execution (it never changes, so it is remembered), or MISSING."""
        try:
            return self._owners[exec_id]
        except KeyError:
            pass
        row = self.state.get_execution(exec_id)
        if row is None:
            return MISSING
        if len(self._owners) >= 100_000:
            self._owners.clear()
        owner: str | None = row.get("owner_id")
        self._owners[exec_id] = owner
        return owner

    @property
    def signing_key(self) -> bytes:
        """The key new tokens are signed with."""
        return self.keyring.signing


async def context(request: Request) -> ServerContext:
    """The server context of this app."""
    result: ServerContext = request.app.state.kitaru
    return result


_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


async def principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller, from a valid bearer token; 401 otherwise."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise ApiError(401, "Unauthorized", "missing bearer token; exchange an API key at POST /api/v1/auth/token")
    found: Principal | None = request.app.state.kitaru.keyring.verify(creds.credentials)
    if found is None:
        raise ApiError(401, "Unauthorized", "invalid, expired or revoked token; exchange your API key for a new one")
    if found.is_viewer and request.method not in _READS and not _VIEWER_WRITES.fullmatch(request.url.path):
        raise forbidden("the viewer role is read-only; ask an admin for the member role")
    return found


_READS = ("GET", "HEAD", "OPTIONS")
# what a viewer may still do besides reading: manage its own API keys, ask for (read-only) storage
# credentials, and let its client mark lost runners failed (what every read reports anyway)
_VIEWER_WRITES = re.compile(r"/api/v1/(api-keys(/[^/]+(/rotate)?)?|stacks/[^/]+/credentials|executions/expire-lost)")


Ctx = Annotated[ServerContext, Depends(context)]
Who = Annotated[Principal, Depends(principal)]


def require_admin(who: Principal) -> None:
    """Only admins."""
    if not who.is_admin:
        raise forbidden("this needs the admin role")


def require_user(who: Principal) -> None:
    """Users and service accounts (admin, member or viewer), not runtime tokens."""
    if who.is_runtime:
        raise forbidden("an execution-scoped token cannot do this")


def require_owner(ctx: ServerContext, who: Principal, row: dict[str, Any], action: str) -> None:
    """The execution's owner (the principal that started it) or, where `action` allows it, an admin.

    An execution recorded before owners were (no owner) belongs to the admins."""
    owner = row.get("owner_id")
    if owner == who.sub or (who.is_admin and (owner is None or action == "mint a runtime token")):
        return
    raise forbidden(f"only the owner of execution {row['id']} ({row.get('owner_name') or row.get('owner_id')})"
                    f" may {action}" + (" (or an admin)" if action == "mint a runtime token" else ""))


def require_execution(who: Principal, exec_id: str) -> None:
    """Users, or the runtime token of exactly this execution."""
    if who.is_runtime and who.exec != exec_id:
        raise forbidden(f"this token is scoped to execution {who.exec}, not {exec_id}")


def may_write(ctx: ServerContext, who: Principal, exec_id: str) -> bool:
    """Whether `who` may write a running execution's journal, lease, waits, logs and artifacts: its own runtime
    token, or its owner (whose process runs the first turn); an admin only where no owner was recorded. An
    unknown execution passes through (the store answers it). Knowing the lease alone is never enough."""
    if who.is_runtime:
        return who.exec == exec_id
    if who.is_viewer:
        return False
    owner = ctx.owner_of(exec_id)
    return owner is MISSING or owner == who.sub or (owner is None and who.is_admin)


def require_runner(ctx: ServerContext, who: Principal, exec_id: str) -> None:
    """403 unless `who` may write this execution as its runner (see `may_write`)."""
    if not may_write(ctx, who, exec_id):
        if who.is_runtime:
            raise forbidden(f"this token is scoped to execution {who.exec}, not {exec_id}")
        raise forbidden(f"only the owner of execution {exec_id} (or its runtime) may write its journal")


_Row = TypeVar("_Row")


def redact_lease(who: Principal, row: dict[str, Any]) -> dict[str, Any]:
    """An execution row as `who` may see it: the lease (the runner's fencing token) only for its owner, its
    runtime and admins."""
    if who.is_admin or row.get("owner_id") == who.sub or who.exec == row.get("id") or row.get("lease_owner") is None:
        return row
    return {**row, "lease_owner": None}


def require_row(row: _Row | None, what: str) -> _Row:
    """404 if a lookup found nothing."""
    if row is None:
        raise ApiError(404, "NotFound", f"{what} does not exist")
    return row
