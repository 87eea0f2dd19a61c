"""The server's token verifier: signing keys re-read for rotation, verified tokens and revocation checks cached.

The principals, API keys and stored signing keys themselves live in the store (`kitaru.store._identity`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kitaru.auth import Principal, verify


class KeyRing:
    """The server's signing keys, re-read every `refresh` seconds so a rotation reaches every replica.

    It also remembers tokens it verified (a runtime sends the same token with every request), until
    they expire or the keys change, and whether each token's principal and API key still exist
    (`live(sub, kid)`), re-checked every `live_ttl` seconds: a revoked key or a deleted principal stops
    working within that time on every replica, and at once on the replica that revoked it (`forget`).
    """

    _CACHE_SIZE = 4096

    def __init__(self, load: Callable[[], tuple[bytes, ...]], refresh: float,
                 live: Callable[[str, str | None], bool] | None = None, live_ttl: float = 5.0) -> None:
        self._load, self._refresh = load, refresh
        self._keys, self._loaded = load(), time.monotonic()
        self._verified: dict[str, Principal] = {}
        self._live, self._live_ttl = live, live_ttl
        self._alive: dict[tuple[str, str | None], tuple[bool, float]] = {}

    @property
    def keys(self) -> tuple[bytes, ...]:
        """The signing key first, then the retired keys still accepted."""
        if time.monotonic() - self._loaded > self._refresh:
            keys, self._loaded = self._load(), time.monotonic()
            if keys != self._keys:
                self._keys, self._verified = keys, {}
        return self._keys

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unexpired token signed with one of the keys; None otherwise."""
        keys = self.keys
        found = self._verified.get(token)
        if found is None:
            found = verify(token, keys)
            if found is None:
                return None
            if len(self._verified) >= self._CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = found
        if found.exp <= time.time():
            return None
        return found if self._live is None or self._is_live(found) else None

    def _is_live(self, who: Principal) -> bool:
        key, t = (who.sub, who.kid), time.monotonic()
        hit = self._alive.get(key)
        if hit is None or t - hit[1] > self._live_ttl:
            if len(self._alive) >= self._CACHE_SIZE:
                self._alive.clear()
            hit = (bool(self._live(who.sub, who.kid)), t)  # type: ignore[misc]
            self._alive[key] = hit
        return hit[0]

    def forget(self) -> None:
        """Re-check every principal and key on its next request (call after revoking or deleting)."""
        self._alive.clear()

    @property
    def signing(self) -> bytes:
        """The key new tokens are signed with."""
        return self.keys[0]
