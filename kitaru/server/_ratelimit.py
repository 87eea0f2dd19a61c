"""A bounded in-memory window of failed token exchanges per client address (brute-force brake)."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict, deque


class FailureLimiter:
    """At most `limit` failed attempts per address in `window` seconds; then the address waits.

    Memory is bounded: at most `max_addresses` addresses are tracked (the least recently seen is dropped).
    Per process: with N workers or replicas an address gets at most N times the limit.
    """

    def __init__(self, limit: int = 20, window: float = 60.0, max_addresses: int = 10_000) -> None:
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> FailureLimiter:
        """KITARU_SERVER_AUTH_FAILURE_LIMIT failures per KITARU_SERVER_AUTH_FAILURE_WINDOW seconds (20 per 60)."""
        return cls(int(os.environ.get("KITARU_SERVER_AUTH_FAILURE_LIMIT", "20")),
                   float(os.environ.get("KITARU_SERVER_AUTH_FAILURE_WINDOW", "60")))

    def retry_after(self, address: str) -> float:
        """Seconds until `address` may try again (0: now)."""
        with self._lock:
            seen = self._recent(address)
            if seen is None or len(seen) < self.limit:
                return 0.0
            return max(0.0, seen[0] + self.window - time.monotonic())

    def failed(self, address: str) -> int:
        """Record a failed attempt; return how many failures `address` has in the window."""
        with self._lock:
            seen = self._recent(address)
            if seen is None:
                seen = self._failures[address] = deque(maxlen=self.limit)
                while len(self._failures) > self.max_addresses:
                    self._failures.popitem(last=False)
            seen.append(time.monotonic())
            self._failures.move_to_end(address)
            return len(seen)

    def _recent(self, address: str) -> deque[float] | None:
        seen = self._failures.get(address)
        if seen is not None:
            cutoff = time.monotonic() - self.window
            while seen and seen[0] < cutoff:
                seen.popleft()
        return seen
