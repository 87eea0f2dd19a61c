"""The fake cluster's object store: namespaced objects with resourceVersions, a watch log, tokens and RBAC."""

from __future__ import annotations

import builtins
import copy
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str, str]  # (kind, namespace, name)


def now_rfc3339(offset: float = 0.0) -> str:
    """A Kubernetes timestamp (`2026-01-01T00:00:00Z`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


@dataclass
class Token:
    """A TokenRequest token: the service account it speaks for, until when."""

    namespace: str
    service_account: str
    expires: float


@dataclass
class Store:
    """All objects of the fake cluster behind one lock; every change is appended to the watch log."""

    namespaces: set[str] = field(default_factory=lambda: {"default"})
    service_accounts: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # -> RBAC rules
    tokens: dict[str, Token] = field(default_factory=dict)
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    version: int = 1
    closed: bool = False
    cond: threading.Condition = field(default_factory=threading.Condition)

    # -- objects ------------------------------------------------------------------------------------------------
    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A deep copy of an object, or None."""
        with self.cond:
            obj = self.objects.get((kind, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        """Deep copies of every object of `kind` in `namespace`."""
        with self.cond:
            return [copy.deepcopy(o) for (k, ns, _), o in sorted(self.objects.items()) if k == kind and ns == namespace]

    def create(self, kind: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new object (server-set metadata filled in); KeyError if the name is taken."""
        meta = obj.setdefault("metadata", {})
        with self.cond:
            key = (kind, namespace, meta["name"])
            if key in self.objects:
                raise KeyError(meta["name"])
            meta.update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339())
            self._put(key, obj, "ADDED")
            return copy.deepcopy(obj)

    def update(self, kind: str, namespace: str, name: str, change: Any) -> dict[str, Any] | None:
        """Apply `change(obj)` to a stored object under the lock; None if it does not exist."""
        with self.cond:
            obj = self.objects.get((kind, namespace, name))
            if obj is None:
                return None
            change(obj)
            self._put((kind, namespace, name), obj, "MODIFIED")
            return copy.deepcopy(obj)

    def delete(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Remove an object; returns it (None if it was not there)."""
        with self.cond:
            obj = self.objects.pop((kind, namespace, name), None)
            if obj is not None:
                self.version += 1
                obj["metadata"]["resourceVersion"] = str(self.version)
                self.log.append((self.version, "DELETED", copy.deepcopy(obj)))
                self.cond.notify_all()
            return obj

    def owned_by(self, uid: str) -> builtins.list[Key]:
        """Keys of the objects with an ownerReference to `uid` (what the garbage collector deletes)."""
        with self.cond:
            return [key for key, o in self.objects.items()
                    if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]

    def _put(self, key: Key, obj: dict[str, Any], event: str) -> None:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.objects[key] = obj
        self.log.append((self.version, event, copy.deepcopy(obj)))
        del self.log[:-2000]
        self.cond.notify_all()

    def events_after(self, version: int, timeout: float) -> tuple[int, builtins.list[tuple[int, str, dict[str, Any]]]]:
        """Watch-log entries newer than `version`, waiting up to `timeout` for one."""
        with self.cond:
            if self.version <= version and not self.closed:
                self.cond.wait(timeout)
            return self.version, [e for e in self.log if e[0] > version]

    def close(self) -> None:
        """Wake every watcher so it can end."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    # -- identities --------------------------------------------------------------------------------------------
    def mint_token(self, namespace: str, account: str, seconds: int) -> tuple[str, float]:
        """A new bearer token for a service account."""
        token = "fake-sa-" + secrets.token_urlsafe(24)
        expires = time.time() + seconds
        with self.cond:
            self.tokens[token] = Token(namespace, account, expires)
        return token, expires

    def allowed(self, token: Token, verb: str, group: str, resource: str, namespace: str) -> bool:
        """RBAC: whether the service account's Role in its own namespace grants `verb` on `group/resource`."""
        if namespace != token.namespace:
            return False
        rules = self.service_accounts.get((token.namespace, token.service_account), [])
        return any(group in r.get("apiGroups", []) and resource in r.get("resources", []) and
                   (verb in r.get("verbs", []) or "*" in r.get("verbs", [])) for r in rules)
