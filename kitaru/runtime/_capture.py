"""Capture stdout, stderr, `logging` and `kitaru.log()` of a running flow into its log.

Lines are attributed to the checkpoint that printed them (a context variable travels into
checkpoint threads) and shipped to the state store in batches by the runner's heartbeat.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TextIO

from kitaru.runtime._context import _checkpoint, current_context
from kitaru.store._guards import clean_log_message

if TYPE_CHECKING:
    from kitaru.store import StateStore


class LogSink:
    """A buffer of log entries for one execution, flushed in batches."""

    def __init__(self, exec_id: str, state: StateStore) -> None:
        self.exec_id = exec_id
        self.state = state
        self._buf: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._unsent: list[list[dict[str, Any]]] = []
        self._partial: dict[tuple[str, str | None], str] = {}

    def emit(self, stream: str, level: str, message: str, invocation_id: str | None = None) -> None:
        """Queue one entry."""
        entry = {"exec_id": self.exec_id, "invocation_id": invocation_id, "ts": time.time(), "stream": stream,
                 "level": level, "message": clean_log_message(message)}
        with self._lock:
            self._buf.append(entry)

    def write_text(self, stream: str, text: str) -> None:
        """Queue complete lines of stream text; keep a trailing partial line for later."""
        inv = _checkpoint.get()
        key = (stream, inv)
        with self._lock:
            text = self._partial.pop(key, "") + text
            *lines, rest = text.split("\n")
            if rest:
                self._partial[key] = rest
        level = "ERROR" if stream == "stderr" else "INFO"
        for line in lines:
            self.emit(stream, level, line, inv)

    def flush(self) -> None:
        """Write queued entries to the state store as batches, in order.

        A batch that fails to send is kept as it is and sent again first next time (nothing is
        lost, order is kept, and the store de-duplicates a re-sent batch that had landed).
        """
        with self._flush_lock:
            with self._lock:
                if self._buf:
                    self._unsent.extend(_batches(self._buf))
                    self._buf = []
            while self._unsent:
                self.state.append_logs(self._unsent[0])
                self._unsent.pop(0)

    def close(self) -> None:
        """Flush everything, including unterminated lines."""
        with self._lock:
            partial, self._partial = self._partial, {}
        for (stream, inv), text in partial.items():
            self.emit(stream, "ERROR" if stream == "stderr" else "INFO", text, inv)
        self.flush()


_BATCH_LINES = 5000
_BATCH_CHARS = 1 << 20  # even JSON-escaped, well under the server's log batch limit (8 MiB by default)


def _batches(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split queued entries into batches a server accepts (bounded in lines and size), in order."""
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for entry in entries:
        n = len(entry["message"]) + 100
        if out[-1] and (len(out[-1]) >= _BATCH_LINES or size + n > _BATCH_CHARS):
            out.append([])
            size = 0
        out[-1].append(entry)
        size += n
    return out


class _Tee:
    """A text stream that writes through and also feeds the current execution's log sink."""

    def __init__(self, original: TextIO, stream: str) -> None:
        self._original = original
        self._stream = stream

    def write(self, text: str) -> int:
        n = self._original.write(text)
        ctx = current_context()
        sink = getattr(ctx, "sink", None) if ctx is not None else None
        if sink is not None and text:
            sink.write_text(self._stream, text)
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _Handler(logging.Handler):
    """Routes log records emitted inside a flow to its sink."""

    def __init__(self, echo_warnings: bool) -> None:
        super().__init__(logging.NOTSET)
        self.echo_warnings = echo_warnings

    def emit(self, record: logging.LogRecord) -> None:
        ctx = current_context()
        sink = getattr(ctx, "sink", None) if ctx is not None else None
        if sink is not None:
            sink.emit("logging", record.levelname, self.format(record), _checkpoint.get())
        if self.echo_warnings and record.levelno >= logging.WARNING:
            write_original_stderr(self.format(record) + "\n")


def write_original_stderr(text: str) -> None:
    """Write to the process's own stderr, past any capture (nothing if the process has none)."""
    if sys.__stderr__ is not None:
        sys.__stderr__.write(text)


_install_lock = threading.Lock()
_installed: dict[str, logging.Handler] = {}


def install_capture() -> None:
    """Route stdout, stderr and logging into execution logs (idempotent; re-wraps replaced streams)."""
    with _install_lock:
        if not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _Tee):
            sys.stderr = _Tee(sys.stderr, "stderr")
        if "handler" in _installed:
            return
        root = logging.getLogger()
        bare = not root.handlers
        handler = _Handler(echo_warnings=bare)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.addHandler(handler)
        if bare and root.level == logging.WARNING:
            root.setLevel(logging.INFO)
        _installed["handler"] = handler


def uninstall_capture() -> None:
    """Undo `install_capture` (for tests and embedding)."""
    with _install_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if isinstance(stream, _Tee):
                setattr(sys, name, stream._original)
        handler = _installed.pop("handler", None)
        if handler is not None:
            logging.getLogger().removeHandler(handler)
