"""Operational tunables: one place for defaults, KITARU_* overrides, clear errors for bad values."""

from __future__ import annotations

import pytest

from kitaru.config._tunables import Tunables, tunables
from kitaru.errors import KitaruUsageError


def test_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Tunables.__dataclass_fields__:
        monkeypatch.delenv(f"KITARU_{name.upper()}", raising=False)
    knobs = tunables()
    assert (knobs.dispatch_grace, knobs.job_grace, knobs.cancel_grace, knobs.checkpoint_workers) == (15.0, 30.0, 30.0, 8)
    assert (knobs.client_timeout, knobs.ssl_ca_cert, knobs.server_proxy) == (30.0, None, None)
    assert knobs.ttl_cap("s3") == 3600


def test_environment_overrides_each_knob(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_DISPATCH_GRACE", "2.5")
    monkeypatch.setenv("KITARU_CHECKPOINT_WORKERS", "3")
    monkeypatch.setenv("KITARU_SERVER_CREDENTIALS_TTL_CAPS", '{"s3": 900}')
    monkeypatch.setenv("KITARU_SERVER_PROXY", "http://proxy:3128")
    knobs = tunables()
    assert (knobs.dispatch_grace, knobs.checkpoint_workers, knobs.server_proxy) == (2.5, 3, "http://proxy:3128")
    assert (knobs.ttl_cap("s3"), knobs.ttl_cap("gcs")) == (900, 3600)
    from kitaru.runtime._launch import dispatch_grace

    assert dispatch_grace() == 2.5  # read where it is used


@pytest.mark.parametrize(("name", "value"), [("KITARU_JOB_GRACE", "soon"), ("KITARU_CHECKPOINT_WORKERS", "-1"),
                                             ("KITARU_SERVER_CREDENTIALS_TTL_CAPS", "[900]")])
def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(KitaruUsageError, match=name):
        tunables()
