"""Fuzz every operation of the published OpenAPI document: never a 5xx, every 4xx has a useful error body."""

from __future__ import annotations

import atexit
import os
import tempfile
import time
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from kitaru.server import create_app
from kitaru.server._tokens import Principal, sign

_home = Path(tempfile.mkdtemp(prefix="kitaru-fuzz-"))
if os.environ.get("KITARU_FUZZ_DB", "postgresql") == "postgresql":  # the production database is the stricter one
    from tests.server.conftest import pg_database

    _url, _drop = pg_database()
    atexit.register(_drop)  # type: ignore[arg-type]
else:
    _url = f"sqlite:///{_home / 'fuzz.db'}"
app = create_app(_url, home=_home)
_ctx = app.state.kitaru
_ctx.state.create_execution({"id": "e1", "flow_name": "f", "flow_source": {}, "inputs": {}}, owner="o", lease_ttl=3600)
_fuzzer = _ctx.identity.create_principal("fuzzer", kind="user", role="admin")  # tokens of unknown principals fail
TOKEN = sign(Principal(sub=_fuzzer["id"], name="fuzzer", role="admin", exp=time.time() + 3600), _ctx.signing_key)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def _useful_error_body(ctx: object, response: object, case: object) -> bool | None:
    status = response.status_code  # type: ignore[attr-defined]
    if 400 <= status < 500:
        error = response.json()["error"]  # type: ignore[attr-defined]
        assert error["type"] and error["message"], response.text  # type: ignore[attr-defined]
    return None


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_never_fails_with_a_server_error(case: object) -> None:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})  # type: ignore[attr-defined]
    assert response.status_code < 500, (case, response.text)  # type: ignore[attr-defined]
    case.validate_response(response, checks=[not_a_server_error])  # type: ignore[attr-defined]
    _useful_error_body(None, response, case)
