"""A real `kitaru-mcp` subprocess spoken to with the MCP SDK's own client over stdio."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters

KITARU_MCP = str(Path(sys.executable).with_name("kitaru-mcp"))

FLOWS = '''
import kitaru


@kitaru.checkpoint
def fetch(topic: str) -> str:
    print(f"fetching {topic}")
    notes = f"notes about {topic}"
    kitaru.save("summary", {"topic": topic, "chars": len(notes)})
    return notes


@kitaru.checkpoint
def write(notes: str) -> str:
    print("writing report")
    return (notes + " ") * 500


@kitaru.flow
def research(topic: str) -> str:
    return write(fetch(topic))


@kitaru.checkpoint
def finish(item: str, ok: bool) -> str:
    return f"{item}: {'shipped' if ok else 'held'}"


@kitaru.flow
def approval(item: str) -> str:
    ok = kitaru.wait(schema=bool, name="approve", question=f"Ship {item}?")
    return finish(item, ok)
'''


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory with `flows.py` (research, approval) and `broken.py` (raises on import)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "flows.py").write_text(textwrap.dedent(FLOWS))
    (root / "broken.py").write_text("import kitaru\nraise RuntimeError('boom at import')\n")
    return root


SNAPSHOTS = Path(tempfile.mkdtemp(prefix="kitaru-mcp-cache-"))
"""XDG_CACHE_HOME of the servers: the first start records the stdio snapshot, later ones answer from it."""


def server_params(cwd: Path, **env: str) -> StdioServerParameters:
    """Parameters for `kitaru mcp` in `cwd` with this process's environment (plus `env`), forked from the test
    zygote with the SDK already imported (a fresh interpreter with KITARU_TEST_FORK=0; tests/mcp/test_front.py
    starts real `kitaru-mcp` interpreters, whose start-up is what it tests)."""
    from kitaru.testing._forked import forked_command

    full = {**os.environ, "KITARU_WAIT_TIMEOUT": "0", "XDG_CACHE_HOME": str(SNAPSHOTS), **env}
    command, args, full = forked_command(["mcp"], full)
    return StdioServerParameters(command=command, args=args, env=full, cwd=str(cwd))


@contextlib.asynccontextmanager
async def mcp_client(cwd: Path, **env: str) -> AsyncIterator[Client]:
    """A connected SDK client of a new MCP server process (see `server_params`)."""
    async with Client(server_params(cwd, **env)) as client:
        yield client


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its structured content."""
    result = await client.call_tool(tool, args)
    assert not result.is_error, f"{tool} failed: {result.content[0].text if result.content else result}"
    assert result.structured_content is not None
    return result.structured_content


async def call_error(client: Client, tool: str, **args: Any) -> str:
    """Call a tool that must fail as a tool error; its message."""
    result = await client.call_tool(tool, args)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    return str(result.content[0].text)


async def watch(client: Client, exec_id: str, until: tuple[str, ...] = ("completed", "failed", "cancelled"),
                timeout: float = 60.0) -> dict[str, Any]:
    """Poll kitaru_executions_get until the status is one of `until` (bounded)."""
    import anyio

    with anyio.fail_after(timeout):
        while True:
            got = await call(client, "kitaru_executions_get", exec_id=exec_id)
            if got["status"] in until:
                return got
            await anyio.sleep(0.2)
