"""Fuzz every operation of the published OpenAPI document: never a 5xx, every 4xx has a useful error body;
oversized bodies get 413 on every write route, control characters a 4xx, never a 5xx or a raw echo.

Nothing happens at import: the app and its database are made by a module fixture (PostgreSQL by default,
the stricter one; KITARU_FUZZ_DB=sqlite for SQLite). KITARU_FUZZ_EXAMPLES sets the generated examples per operation
and mode (valid, invalid) beside schemathesis's coverage cases: 5 in the suite (generating them is most of its
cost), 200 or more for a deep run.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pkgutil
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

EXAMPLES = int(os.environ.get("KITARU_FUZZ_EXAMPLES", "5"))
HOSTILE = ["a\x1b[2Jb", "nul\x00x", "new\nline", "x" * 300, "../x", "\u202eevil", "\x9b1m"]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The server app on a fresh database, an execution `e1` and an admin token."""
    from kitaru.auth import Principal, sign
    from kitaru.server import create_app

    home = tmp_path_factory.mktemp("fuzz")
    drop = None
    if os.environ.get("KITARU_FUZZ_DB", "postgresql") == "postgresql":
        from tests.server.support import pg_database

        url, drop = pg_database()
    else:
        url = f"sqlite:///{home / 'fuzz.db'}"
    app = create_app(url, home=Path(home))
    ctx = app.state.kitaru
    ctx.state.create_execution({"id": "e1", "flow_name": "f", "flow_source": {}, "inputs": {}}, owner="o",
                               lease_ttl=3600)
    fuzzer = ctx.identity.create_principal("fuzzer", kind="user", role="admin")  # unknown principals' tokens fail
    app.state.fuzz_token = sign(Principal(sub=fuzzer["id"], name="fuzzer", role="admin", exp=time.time() + 3600),
                                ctx.signing_key)
    yield app
    ctx.state.db.close()
    if drop is not None:
        drop()  # type: ignore[operator]


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Any) -> Any:
    """The published OpenAPI document, loaded by schemathesis once for every group."""
    return schemathesis.openapi.from_dict(fuzz_app.openapi())


@pytest.fixture(scope="module")
def fuzz_client(fuzz_app: Any) -> Iterator[Any]:
    """One in-process client for every example (a client per request costs more than the request)."""
    from schemathesis.python import asgi

    with asgi.get_client(fuzz_app) as client:
        client.trust_env = False  # in-process: no proxy or netrc to look up in the environment on every request
        yield client


ROUTE_GROUPS = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).resolve().parents[2] / "kitaru" /
                                                                  "server" / "routes")]))
"""One test per router module (`kitaru/server/routes/*.py`): the groups spread over xdist workers."""


@functools.cache
def _route_owners() -> dict[tuple[str, str], str]:
    """(METHOD, path as published) of every API operation -> the router module that serves it."""
    from kitaru.server._app import API_PREFIX

    owners = {}
    for name in ROUTE_GROUPS:
        router = importlib.import_module(f"kitaru.server.routes.{name}").router
        prefix = "" if name == "health" else API_PREFIX
        for route in router.routes:
            for method in getattr(route, "methods", None) or ():
                owners[(method, prefix + re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path))] = name  # {p:path} -> {p}
    return owners


def _useful_error_body(response: Any) -> None:
    status = response.status_code
    if 400 <= status < 500:
        error = response.json()["error"]
        assert error["type"] and error["message"], response.text
        assert not re.search(r"[\x00-\x08\x0b-\x1f]", error["message"]), error  # nothing raw echoed back


def _check(case: Any, fuzz_app: Any, fuzz_client: Any) -> None:
    """One generated request, as the admin: never a 5xx, and every 4xx explains itself."""
    if case.query and "wait" in case.query:
        case.query["wait"] = 0  # a long-poll only waits; fuzzing it for 25 s per example finds nothing
    token = fuzz_app.state.fuzz_token
    response = case.call(app=fuzz_app, session=fuzz_client, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (case.as_curl_command(), response.text)  # the one check: no server error
    _useful_error_body(response)


def test_every_api_operation_belongs_to_a_fuzzed_group(fuzz_app: Any) -> None:
    owners = _route_owners()
    published = {(m.upper(), path) for path, item in fuzz_app.openapi()["paths"].items() for m in item}
    assert published and published <= set(owners), published - set(owners)


@pytest.mark.parametrize("group", ROUTE_GROUPS)
def test_api_never_fails_with_a_server_error(group: str, fuzz_app: Any, fuzz_schema: Any, fuzz_client: Any) -> None:
    """Schemathesis's coverage cases (boundaries, wrong types, missing fields) and `EXAMPLES` generated valid and
    invalid requests per mode for every operation of `group` (derandomized: the same cases on every run)."""
    schema = fuzz_schema
    owners = _route_owners()
    operations = [op for result in schema.get_all_operations()
                  if owners.get(((op := result.ok()).method.upper(), op.path)) == group]
    assert operations, f"no published operation is served by kitaru/server/routes/{group}.py"
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    for operation in operations:
        for case in schema.iter_coverage_cases(operation, generation_modes=modes,
                                               generation_config=schema.config.generation):
            _check(case, fuzz_app, fuzz_client)
        for mode in modes:
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def fuzz(case: Any) -> None:
                _check(case, fuzz_app, fuzz_client)

            try:
                fuzz()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # an operation without parameters or body has no invalid request to generate


def _operations(app: Any) -> list[tuple[str, str, bool]]:
    """(method, path with parameters filled, has a body) of every API operation."""
    doc = app.openapi()
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            filled = re.sub(r"\{[^}]+\}", "e1", path)
            out.append((method.upper(), filled, "requestBody" in op))
    return out


def test_every_write_route_answers_413_to_an_oversized_body(fuzz_app: Any) -> None:
    from starlette.testclient import TestClient

    from kitaru.server._limits import BodyLimits

    limits = BodyLimits.from_env()
    headers = {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}", "Content-Type": "application/json"}
    writes = [(m, p) for m, p, body in _operations(fuzz_app) if body]
    assert len(writes) > 10
    with TestClient(fuzz_app) as client:
        for method, path in writes:
            limit = limits.for_path(path)
            payload = b'{"x": "' + b"y" * limit + b'"}'
            r = client.request(method, path, content=payload, headers=headers)
            assert r.status_code == 413 and r.json()["error"]["type"] == "PayloadTooLarge", (method, path, r.text)
            r = client.request(method, path, content=iter([payload[:limit // 2], payload[limit // 2:]]),
                               headers=headers)
            assert r.status_code == 413, (method, path, r.status_code)
    assert fuzz_app.state.kitaru.state.load_journal("e1") == []


@pytest.mark.parametrize("bad", HOSTILE)
def test_control_characters_and_long_names_in_paths_get_a_clean_4xx(fuzz_app: Any, bad: str) -> None:
    from urllib.parse import quote

    from starlette.testclient import TestClient

    headers = {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}"}
    doc = fuzz_app.openapi()
    with TestClient(fuzz_app) as client:
        for path, item in doc["paths"].items():
            if "{" not in path:
                continue
            target = re.sub(r"\{[^}]+\}", quote(bad, safe=""), path)
            for method, op in item.items():
                body = {} if "requestBody" in op else None
                r = client.request(method.upper(), target, headers=headers,
                                   content=json.dumps(body) if body is not None else None)
                assert r.status_code < 500, (method, path, r.text)
                if r.status_code >= 400:
                    _useful_error_body(r)
    state = fuzz_app.state.kitaru.state
    assert state.list_stacks() == [] or all(s["name"] != bad for s in state.list_stacks())
    assert all(s["name"] != bad for s in state.list_secrets())
