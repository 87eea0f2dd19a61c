"""Plugin discovery through entry points: lazy, typed, block list, failures recorded not raised."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kitaru.errors import KitaruUsageError
from kitaru.plugins import get_plugin_manager, hookimpl, reset_plugin_manager
from tests.plugins.fakedists import BROKEN_IMPORT, DUPLICATE, GOOD, HALF, make_dist

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    make_dist(root, "kitaru-mem", "1.2.3", {"mem": "kitaru_mem_fake"}, {"kitaru_mem_fake": GOOD})
    make_dist(root, "kitaru-broken", "0.0.1", {"broken": "kitaru_broken_fake"}, {"kitaru_broken_fake": BROKEN_IMPORT})
    make_dist(root, "kitaru-half", "0.1.0", {"half": "kitaru_half_fake"}, {"kitaru_half_fake": HALF})
    make_dist(root, "kitaru-dup", "0.1.0", {"dup": "kitaru_dup_fake"}, {"kitaru_dup_fake": DUPLICATE})
    monkeypatch.syspath_prepend(str(root))
    reset_plugin_manager()
    return root


def _by_name() -> dict[str, object]:
    return {p.name: p for p in get_plugin_manager().plugins()}


def test_external_plugin_discovered_with_distribution_version_and_flavors(dists: Path) -> None:
    info = _by_name()["mem"]
    assert (info.distribution, info.version, info.status) == ("kitaru-mem", "1.2.3", "loaded")  # type: ignore[attr-defined]
    assert info.flavors == [("artifact_store", "mem")]  # type: ignore[attr-defined]
    pm = get_plugin_manager()
    assert pm.flavor("artifact_store", "mem").distribution == "kitaru-mem"
    assert pm.store_flavor_for_scheme("mem").name == "mem"  # type: ignore[union-attr]


def test_broken_plugin_is_recorded_and_never_breaks_others(dists: Path) -> None:
    infos = _by_name()
    broken = infos["broken"]
    assert broken.status == "failed" and broken.distribution == "kitaru-broken"  # type: ignore[attr-defined]
    assert "kitaru_dependency_that_is_not_installed" in broken.error  # type: ignore[attr-defined]
    assert infos["local"].status == "loaded" and infos["mem"].status == "loaded"  # type: ignore[attr-defined]


def test_failed_registration_leaves_nothing_half_registered(dists: Path) -> None:
    infos = _by_name()
    assert infos["half"].status == "failed" and "second flavor failed" in infos["half"].error  # type: ignore[attr-defined]
    assert infos["half"].flavors == []  # type: ignore[attr-defined]
    assert get_plugin_manager().find_flavor("orchestrator", "half-orch") is None


def test_duplicate_flavor_is_rejected_and_reported(dists: Path) -> None:
    dup = _by_name()["dup"]
    assert dup.status == "failed" and "already provided by plugin 'local'" in dup.error  # type: ignore[attr-defined]
    assert get_plugin_manager().flavor("artifact_store", "local").plugin == "local"


def test_block_list_by_name_and_all(dists: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_DISABLE_PLUGINS", "mem, half")
    reset_plugin_manager()
    infos = _by_name()
    assert infos["mem"].status == "disabled" and infos["half"].status == "disabled"  # type: ignore[attr-defined]
    assert infos["broken"].status == "failed"  # type: ignore[attr-defined]
    msg = get_plugin_manager().missing_flavor_message("artifact_store", "mem")
    assert "unknown artifact store flavor 'mem'" in msg
    monkeypatch.setenv("KITARU_DISABLE_PLUGINS", "all")
    reset_plugin_manager()
    infos = _by_name()
    assert {n for n, i in infos.items() if i.status != "disabled"} == {"local"}  # type: ignore[attr-defined]
    assert get_plugin_manager().find_flavor("artifact_store", "local") is not None


def test_plugin_serializers_registered(dists: Path) -> None:
    from kitaru.artifacts import serializers

    get_plugin_manager()
    assert serializers.for_value("UP:HELLO").name == "upper"
    reset_plugin_manager()
    get_plugin_manager()  # a reload does not register it twice
    assert sum(1 for s in serializers._extra if s.name == "upper") == 1


def test_unknown_flavor_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.plugins import _known, install_hint

    assert install_hint("s3") == "flavor 's3' is provided by kitaru-s3: pip install kitaru-s3"
    assert install_hint("kubernetes") == "flavor 'kubernetes' is provided by kitaru-k8s: pip install kitaru-k8s"
    monkeypatch.setitem(_known.KNOWN_FLAVORS, "zz", "kitaru-zz")
    pm = get_plugin_manager()
    with pytest.raises(KitaruUsageError, match=r"flavor 'zz' is provided by kitaru-zz: pip install kitaru-zz"):
        pm.flavor("artifact_store", "zz")
    with pytest.raises(KitaruUsageError, match=r"unknown orchestrator flavor .nope.; installed orchestrator flavors: .*local"):
        pm.flavor("orchestrator", "nope")


def test_in_process_plugin_registration() -> None:
    from pydantic import BaseModel

    class Cfg(BaseModel):
        pass

    class Plugin:
        @hookimpl
        def kitaru_register_components(self, registry):  # type: ignore[no-untyped-def]
            registry.add_container_registry("dummy", config=Cfg, factory=lambda c, ctx: "reg")

    pm = get_plugin_manager()
    pm.register(Plugin(), "dummy-plugin")
    assert pm.flavor("container_registry", "dummy").plugin == "dummy-plugin"


def test_cli_extension_hook_gets_a_typer_app_and_failures_are_collected() -> None:
    import typer
    from typer.main import get_group

    class Plugin:
        @hookimpl
        def kitaru_cli(self, app):  # type: ignore[no-untyped-def]
            app.command("added")(lambda: None)

    class Boom:
        @hookimpl
        def kitaru_cli(self, app):  # type: ignore[no-untyped-def]
            raise ValueError("bad cli")

    pm = get_plugin_manager()
    pm.register(Plugin(), "cli-ext")
    pm.register(Boom(), "cli-boom")
    app = typer.Typer()
    errors = pm.extend_cli(app)
    assert "added" in get_group(app).commands and len(errors) == 1 and "bad cli" in errors[0]


def test_import_kitaru_loads_no_plugin_machinery(dists: Path) -> None:
    code = ("import sys, kitaru, kitaru.stacks; bad = [m for m in ('pluggy', 'yaml', 'boto3', 'kitaru.plugins',"
            " 'kitaru_mem_fake', 'kitaru_s3') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(dists), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
