"""Fixtures for the web UI tests: real flows in real runner processes, the UI served by uvicorn on
127.0.0.1 (the `kitaru ui` app over the embedded store), and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]

FLOWS = '''
import os, time
from typing import Literal
import pydantic
import kitaru
from kitaru import checkpoint, flow

class Approval(pydantic.BaseModel):
    approved: bool
    reviewer: str
    score: int = 3
    tags: list[str] = []

@checkpoint
def step(name: str) -> str:
    print(f"running step {name}")
    return f"out-{name}"

@checkpoint
def plan(topic: str) -> dict:
    kitaru.log(llm_calls={"draft": {"resolved_model": "openai/gpt-4o-mini", "tokens_input": 1200,
                                    "tokens_output": 345, "cost_usd": 0.00123, "latency_ms": 812.0}})
    return {"topic": topic, "steps": ["research", "write"], "note": "<b>bold</b>"}

@flow
def research(topic: str) -> str:
    p = plan(topic)
    return step(p["topic"])

@flow
def approval_flow(topic: str) -> str:
    draft = step(topic)
    decision = kitaru.wait(schema=Approval, name="review", question=f"Publish {draft}?")
    final = step("publish" if decision.approved else "reject")
    return f"{final} by {decision.reviewer} ({decision.score}, {len(decision.tags)} tags)"

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")

@checkpoint
def picture() -> bytes:
    return PNG

@checkpoint
def essay() -> str:
    return "word " * 5000

@checkpoint
def opaque() -> set:
    return {1, 2}

@flow
def media() -> int:
    picture(); essay(); opaque()
    return 1

class Address(pydantic.BaseModel):
    city: str
    zip_code: int

class Shipping(pydantic.BaseModel):
    speed: Literal["slow", "fast"]
    address: Address
    weight: float

@flow
def ship() -> str:
    s = kitaru.wait(schema=Shipping, name="shipping", question="Where to?")
    return f"{s.speed} to {s.address.city} {s.address.zip_code} ({s.weight} kg)"

@checkpoint
def tick(i: int) -> int:
    print(f"tick {i}")
    time.sleep(0.4)
    return i

@flow
def ticker(n: int = 60) -> int:
    return sum(tick(i) for i in range(n))
'''


class UIServer:
    """The `kitaru ui` app on a uvicorn thread; `url`, `token`, `stop()`."""

    def __init__(self, app: Any, token: str) -> None:
        import uvicorn

        from kitaru.server._serve import listen_on_free_port

        self.token = token
        listener = listen_on_free_port("127.0.0.1")  # bound before anyone else can take the port
        self.port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [listener]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the UI server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def flows(flow_module: Any) -> Any:
    """The test flows, importable by runner processes."""
    return flow_module(FLOWS, "ui_flows")


@pytest.fixture
def ui(kitaru_home: Path) -> Iterator[UIServer]:
    """The local UI (`kitaru ui`'s app) over this test's embedded store."""
    from kitaru.ui._local import local_app

    server = UIServer(local_app(kitaru_home, "start-token-for-tests"), "start-token-for-tests")
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Any:
    """The app `kitaru server up` serves (API + UI) over a fresh SQLite database, with one failed execution
    whose failure carries markup (it must be shown escaped)."""
    from kitaru.server._app import create_app
    from kitaru.store._sqlite import SQLiteDatabase

    SQLiteDatabase(tmp_path / "server.db").close()
    app = create_app(f"sqlite:///{tmp_path / 'server.db'}", home=tmp_path)
    ctx = app.state.kitaru
    ctx.state.create_execution({"id": "e" * 32, "flow_name": "flow-x", "flow_source": {}, "inputs": {}},
                               owner="runner-1", lease_ttl=60)
    ctx.state.finish_execution("e" * 32, owner="runner-1", status="failed",
                               failure={"origin": "checkpoint", "reason": "error", "message": "<i>boom</i>",
                                        "traceback": "Traceback: <script>x</script>"})
    return app


def start_detached(flows: Any, call: str) -> subprocess.Popen[str]:
    """Run `ui_flows.<call>` in its own process (an execution that keeps running while the test browses)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(flows.path.parent), str(ROOT)])}
    return subprocess.Popen([sys.executable, "-c", f"import ui_flows; ui_flows.{call}"], cwd=flows.path.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")  # a running Playwright loop must not outlive the UI tests of a worker
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("KITARU_CI") == "1":
            pytest.fail("tests/ui need Debian's chromium: scripts/test.sh installs it (apt-get install -y chromium)")
        pytest.skip("needs Debian's chromium (apt-get install -y chromium); see scripts/test.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser context (no cookies) with a desktop viewport; dialogs (confirm) are accepted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    pg.on("dialog", lambda d: d.accept())
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.console_errors = errors
    yield pg
    context.close()


def shot(page: Any, out: Path, name: str) -> Path:
    """A full-page screenshot, checked: a PNG of the viewport's width, not empty."""
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, f"{name}: screenshot is empty"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 1280 and height >= 300, (name, width, height)
    return path
