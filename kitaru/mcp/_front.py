"""Fast stdio start: answer `initialize` and `tools/list` from a snapshot while the MCP SDK imports.

Importing the SDK and registering the tools costs 1-2 s of CPU. The first run of each Kitaru/SDK/tool-code
version records the SDK's own answers to `initialize` and `tools/list` (same client protocol version only);
later runs send those recorded answers at once, then hand the connection to the SDK: the answered
`initialize` is replayed to it (its duplicate answer is dropped), everything else goes through unchanged.
Until the SDK is ready, the front also answers plainly valid calls of the light read tools (`_light.FAST`,
e.g. `kitaru_executions_list`) with the same tool bodies, in the envelope the SDK used for its own first
answer to a `tools/call` of that protocol version; anything else (or any failure) waits for the SDK.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO

_EOF = b""


def snapshot_path() -> Path:
    """Where the snapshot of this exact Kitaru + SDK + tool code lives."""
    from importlib.metadata import version

    from kitaru import __version__

    digest = hashlib.sha256(f"{__version__}|{version('mcp')}|{sys.version_info[:2]}".encode())
    for src in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(src.read_bytes())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kitaru"
    return cache / f"mcp-{digest.hexdigest()[:16]}.json"


_META_VERSION = "io.modelcontextprotocol/protocolVersion"
_CACHED = ("initialize", "server/discover", "tools/list")


class _Wire:
    """stdin lines (read by a thread) in, JSON lines out; the SDK's stdio_server talks through it."""

    def __init__(self, inp: BinaryIO, out: BinaryIO, snap: dict[str, Any], path: Path) -> None:
        self.out, self.lock, self.lines = out, threading.Lock(), queue.Queue[bytes]()
        self.snap, self.path = snap, path  # "method|protocol version" -> the SDK's recorded result
        self.replay: list[bytes] = []
        self.suppress: set[str] = set()
        self.record: dict[str, str] = {}  # response id -> snapshot key, for answers not in the snapshot yet
        self.legacy_proto: str | None = None  # the protocol version a (pre-2026) `initialize` agreed on
        threading.Thread(target=self._read, args=(inp,), daemon=True).start()

    def _read(self, inp: BinaryIO) -> None:
        for line in inp:
            self.lines.put(line)
        self.lines.put(_EOF)

    def _proto(self, msg: dict[str, Any]) -> str | None:
        return ((msg.get("params") or {}).get("_meta") or {}).get(_META_VERSION) or self.legacy_proto

    def _envelope_key(self, msg: dict[str, Any]) -> str | None:
        """The snapshot key of a `tools/call`'s envelope (the SDK's result fields besides the content)."""
        proto = self._proto(msg) if msg.get("method") == "tools/call" and "id" in msg else None
        return f"tools/call|{proto}" if proto else None

    def _fast(self, msg: dict[str, Any]) -> bool:
        """Answer a light read tool call here (True), or leave it to the SDK (False)."""
        key = self._envelope_key(msg)
        if key not in self.snap:
            return False
        from kitaru.mcp._light import fast_call

        params = msg.get("params") or {}
        data = fast_call(params.get("name"), params.get("arguments", {}))
        if data is None:
            return False
        import pydantic_core

        text = pydantic_core.to_json(data, fallback=str, indent=2).decode()  # as the SDK's MCPServer renders it
        self.send({"jsonrpc": "2.0", "id": msg["id"], "result": {
            "content": [{"type": "text", "text": text}], "isError": False, **self.snap[key],
            "structuredContent": data}})
        if os.environ.get("KITARU_DEBUG") == "1":
            print(f"kitaru-mcp: the stdio front answered {params.get('name')} (the SDK is still loading)",
                  file=sys.stderr, flush=True)
        return True

    def _key(self, msg: dict[str, Any]) -> str | None:
        """The snapshot key of a cacheable request (None: not cacheable)."""
        method, params = msg.get("method"), msg.get("params") or {}
        if method not in _CACHED or "id" not in msg or params.get("cursor"):
            return None
        proto = params.get("protocolVersion") if method == "initialize" else \
            (params.get("_meta") or {}).get(_META_VERSION) or self.legacy_proto
        if method == "initialize":
            self.legacy_proto = proto
        return f"{method}|{proto}" if proto else None

    def send(self, obj: dict[str, Any]) -> None:
        with self.lock:
            self.out.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
            self.out.flush()

    def front(self, ready: threading.Event) -> None:
        """Answer recorded requests until the SDK is `ready` or a request needs it (then it gets all, in order)."""
        while not ready.is_set():
            try:
                line = self.lines.get(timeout=0.01)
            except queue.Empty:
                continue
            msg = _parse(line)
            key = self._key(msg)
            if key in self.snap:
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": self.snap[key]})
                if msg["method"] == "initialize":  # the SDK's session must see it too: replay it, drop its answer
                    self.replay.append(line)
                    self.suppress.add(json.dumps(msg["id"]))
            elif msg.get("method") == "notifications/initialized" and self.replay:
                self.replay.append(line)
            elif self._fast(msg):
                continue
            else:
                self.lines.queue.appendleft(line)
                return

    async def __aiter__(self) -> Any:
        import anyio.to_thread

        for line in self.replay:
            yield line.decode("utf-8", "replace")
        while True:
            line = await anyio.to_thread.run_sync(self.lines.get, abandon_on_cancel=True)
            if line == _EOF:
                return
            msg = _parse(line)
            key = self._key(msg) or self._envelope_key(msg)
            if key is not None and key not in self.snap:
                self.record[json.dumps(msg["id"])] = key
            yield line.decode("utf-8", "replace")

    async def write(self, text: str) -> None:
        msg = _parse(text.encode())
        ident = json.dumps(msg.get("id")) if "id" in msg and "method" not in msg else None
        if ident is not None and ident in self.suppress:
            self.suppress.discard(ident)
            return
        if ident is not None and ident in self.record and "result" in msg:
            key, result = self.record.pop(ident), msg["result"]
            if key.startswith("tools/call|"):  # keep only the envelope, of a successful structured answer
                result = None if result.get("isError") is not False or "structuredContent" not in result else \
                    {k: v for k, v in result.items() if k not in ("content", "isError", "structuredContent")}
            if result is not None:
                self.snap[key] = result
                _save(self.path, self.snap)
        with self.lock:
            self.out.write(text.encode())

    async def flush(self) -> None:
        with self.lock:
            self.out.flush()


def _parse(line: bytes) -> dict[str, Any]:
    try:
        msg = json.loads(line)
    except ValueError:
        return {}
    return msg if isinstance(msg, dict) else {}


def _save(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass  # no cache: the next start is just slower


WARM_WAIT = 3.0
"""The longest the front holds its first answer for `warm()` (a slow or broken store never blocks the handshake)."""


def serve_stdio(build: Any, warm: Any = None) -> None:
    """Serve MCP over stdio with the snapshot front; `build()` returns the MCPServer (imports the SDK).

    `warm()` (the light read path: client, store) runs first, and the front answers nothing until it is done:
    the handshake costs those few hundred milliseconds once, and every light read after it is fast, instead of
    the assistant's first call waiting for them while the SDK imports alongside."""
    inp = os.fdopen(os.dup(0), "rb", buffering=0)
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # flows and child processes read EOF, never the protocol
    os.dup2(2, 1)  # stray prints go to stderr, never onto the wire
    path = snapshot_path()
    try:
        snap = json.loads(path.read_text())
    except (OSError, ValueError):
        snap = {}
    if not isinstance(snap, dict):
        snap = {}
    wire = _Wire(inp, out, snap, path)
    built: list[Any] = []
    failed: list[BaseException] = []
    ready, warmed = threading.Event(), threading.Event()

    def builder() -> None:
        try:
            if warm is not None:
                try:
                    warm()
                finally:
                    warmed.set()
            built.append(build())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the serving thread below
            failed.append(exc)
        finally:
            ready.set()

    threading.Thread(target=builder, name="kitaru-mcp-build", daemon=True).start()
    if warm is not None:
        warmed.wait(WARM_WAIT)
    wire.front(ready)
    ready.wait()
    if failed:
        raise failed[0]  # e.g. KitaruFeatureNotAvailableError without the `mcp` extra: one clear line
    if not built:
        raise SystemExit("kitaru-mcp: the MCP server could not be built")
    server = built[0]
    import anyio
    from mcp.server.stdio import stdio_server

    async def run() -> None:
        async with stdio_server(stdin=wire, stdout=wire) as (read, write):  # type: ignore[arg-type]
            low = server._lowlevel_server
            await low.run(read, write, low.create_initialization_options())

    anyio.run(run)
