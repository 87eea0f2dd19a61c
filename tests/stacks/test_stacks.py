"""Stacks: YAML registration with line-accurate errors, selection, secrets, and runs on a registered stack."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import kitaru
from kitaru.errors import KitaruUsageError
from kitaru.plugins import get_plugin_manager, hookimpl, reset_plugin_manager
from kitaru.stacks import (
    StackSpecError,
    create_stack,
    current_stack,
    delete_stack,
    export_stack,
    get_stack,
    list_stacks,
    register_stack,
    resolve_stack,
    store_from_root,
    use_stack,
)


def _write(tmp_path: Path, text: str, name: str = "stack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_default_stack_always_exists_and_cannot_be_deleted(kitaru_home: Path) -> None:
    stacks = list_stacks()
    assert [s.name for s in stacks] == ["default"] and stacks[0].active and stacks[0].builtin and stacks[0].ready
    assert current_stack().name == "default"
    with pytest.raises(KitaruUsageError, match="built in and cannot be deleted"):
        delete_stack("default")
    store = resolve_stack("default").artifact_store
    assert store.flavor == "local" and store.root == (kitaru_home / "artifacts").resolve().as_uri()


def test_a_live_stack_belongs_to_the_state_it_was_resolved_for(tmp_path: Path, kitaru_home: Path) -> None:
    """Components broker credentials as the principal of their state: a second identity never gets the first's."""
    from kitaru.store import StateService
    from kitaru.store._sqlite import SQLiteDatabase

    first, second = (StateService(SQLiteDatabase(tmp_path / f"{who}.db")) for who in ("ann", "bob"))
    for state in (first, second):
        state.put_stack("team", {"name": "team", "orchestrator": {"flavor": "local"},
                                 "artifact_store": {"flavor": "local", "path": str(tmp_path / "shared")}})
    ann, bob = (resolve_stack("team", home=kitaru_home, state=s) for s in (first, second))
    assert ann.state is first and bob.state is second
    assert resolve_stack("team", home=kitaru_home, state=first) is ann  # still cached per identity


def test_register_use_show_export_delete(tmp_path: Path) -> None:
    path = _write(tmp_path, f"""
        name: team
        description: shared local stack
        orchestrator: {{flavor: local}}
        artifact_store:
          flavor: local
          path: {tmp_path / 'team-artifacts'}
        container_registry: {{flavor: oci, uri: ghcr.io/acme/agents}}
    """)
    info = register_stack(path)
    assert info.ready and not info.active and info.flavor("container_registry") == "oci"
    assert [s.name for s in list_stacks()] == ["default", "team"]
    assert use_stack("team").active and current_stack().name == "team"
    exported = export_stack("team")
    assert "flavor: oci" in exported and "name: team" in exported
    again = register_stack("copy.yaml", text=exported.replace("name: team", "name: team2"), activate=True)
    assert again.active and again.spec["artifact_store"] == info.spec["artifact_store"]
    use_stack("team")
    with pytest.raises(KitaruUsageError, match="is active"):
        delete_stack("team")
    delete_stack("team", force=True)
    assert current_stack().name == "default" and [s.name for s in list_stacks()] == ["default", "team2"]
    with pytest.raises(KitaruUsageError, match="not registered"):
        get_stack("team")
    with pytest.raises(KitaruUsageError, match="not registered"):
        use_stack("team")


def test_errors_name_file_line_and_field_and_nothing_is_stored(tmp_path: Path) -> None:
    path = _write(tmp_path, """
        name: bad
        orchestrator:
          flavor: local
          extra_field: 1
        artifact_store:
          flavor: local
          path: [not, a, string]
        container_registry:
          flavor: oci
    """)
    with pytest.raises(StackSpecError) as err:
        register_stack(path)
    text = str(err.value)
    assert f"{path}:4: orchestrator.extra_field: Extra inputs are not permitted" in text
    assert f"{path}:7: artifact_store.path: Input should be a valid string" in text
    assert f"{path}:8: container_registry.uri: Field required" in text
    assert [s.name for s in list_stacks()] == ["default"]


def test_unknown_flavor_names_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.plugins import _known

    monkeypatch.setitem(_known.KNOWN_FLAVORS, "blobby", "kitaru-blobby")
    path = _write(tmp_path, """
        name: cloud
        orchestrator: {flavor: local}
        artifact_store: {flavor: blobby, path: "blobby://b/p"}
    """)
    with pytest.raises(StackSpecError, match=rf"{path}:3: artifact_store.flavor: flavor 'blobby' is provided by"
                                             r" kitaru-blobby: pip install kitaru-blobby"):
        register_stack(path)
    with pytest.raises(StackSpecError, match="unknown orchestrator flavor 'nope'"):
        create_stack("x", orchestrator={"flavor": "nope"})


def test_invalid_yaml_and_structure(tmp_path: Path) -> None:
    with pytest.raises(StackSpecError, match=r"stack.yaml:3: not valid YAML .*while parsing a flow mapping at line 2"):
        register_stack(_write(tmp_path, "name: x\norchestrator: {flavor: local\n"))
    with pytest.raises(StackSpecError) as err:
        register_stack(_write(tmp_path, "name: default\nfoo: 1\n", "s2.yaml"))
    text = str(err.value)
    assert "s2.yaml:1: name: 'default' is the built-in" in text and "s2.yaml:2: foo: unknown key" in text
    assert "orchestrator: required" in text and "artifact_store: required" in text
    with pytest.raises(KitaruUsageError, match="cannot read stack file"):
        register_stack(tmp_path / "missing.yaml")


def test_plaintext_secrets_rejected_references_resolved(tmp_path: Path) -> None:
    bad = _write(tmp_path, """
        name: reg
        orchestrator: {flavor: local}
        artifact_store: {flavor: local}
        container_registry:
          flavor: oci
          uri: registry.example.com/agents
          username: bot
          password: hunter2-plaintext
    """)
    with pytest.raises(StackSpecError, match=rf"{bad}:8: container_registry.password: plaintext secrets are not allowed"):
        register_stack(bad)
    good = bad.read_text().replace("password: hunter2-plaintext", "password: {secret: registry-creds}")
    info = register_stack("good.yaml", text=good)
    assert info.spec["container_registry"]["password"] == {"secret": "registry-creds"}
    assert "hunter2" not in export_stack("reg")
    with pytest.raises(KitaruUsageError, match="secret 'registry-creds' referenced by stack 'reg' container_registry.password"
                                               " does not exist"):
        _ = resolve_stack("reg").container_registry
    kitaru.create_secret("registry-creds", password="hunter2")
    reset_plugin_manager()
    from kitaru.stacks._resolve import forget_cached

    forget_cached("reg")
    creds = resolve_stack("reg").container_registry.credentials("push")
    assert (creds.username, creds.password, creds.registry) == ("bot", "hunter2", "registry.example.com")
    with pytest.raises(StackSpecError, match="a secret reference is"):
        create_stack("r2", container_registry={"flavor": "oci", "uri": "x", "password": {"secret": 3}})


def test_stack_whose_plugin_disappeared_still_lists_and_says_why(tmp_path: Path) -> None:
    from pydantic import BaseModel

    from kitaru.artifacts import LocalArtifactStore

    class Cfg(BaseModel):
        path: str

    class Plugin:
        @hookimpl
        def kitaru_register_components(self, registry):  # type: ignore[no-untyped-def]
            registry.add_artifact_store("tmpstore", config=Cfg, factory=lambda c, ctx: LocalArtifactStore(c.path))

    get_plugin_manager().register(Plugin(), "tmp-plugin", distribution="kitaru-tmpstore")
    create_stack("ephemeral", artifact_store={"flavor": "tmpstore", "path": str(tmp_path / "x")})
    assert get_stack("ephemeral").ready
    reset_plugin_manager()  # the plugin is "uninstalled"
    info = get_stack("ephemeral")
    assert not info.ready and "unknown artifact store flavor 'tmpstore'" in info.problems[0]
    assert "ephemeral" in [s.name for s in list_stacks()]
    with pytest.raises(KitaruUsageError, match="stack 'ephemeral' cannot run: .*tmpstore"):
        resolve_stack("ephemeral")


def test_flow_runs_on_registered_stack_and_client_reads_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere"
    create_stack("side", artifact_store={"flavor": "local", "path": str(target)}, settings={"retries": 2})

    @kitaru.checkpoint
    def double(x: int) -> int:
        return x * 2

    @kitaru.flow
    def f(x: int) -> int:
        return double(x)

    handle = f.run(21, stack="side")
    assert handle.wait(timeout=30) == 42
    assert any(target.rglob("*")), "outputs must land in the stack's artifact store"
    row = kitaru.KitaruClient().executions.get(handle.exec_id)
    assert row.stack == "side"
    assert store_from_root(target.resolve().as_uri()).root == target.resolve().as_uri()
    use_stack("side")
    assert f.run(1).wait(timeout=30) == 2
    from kitaru.store import current_state

    rows = current_state().list_executions(limit=1)
    assert rows[0]["stack"] == "side" and rows[0]["config"]["retries"] == 2
    monkeypatch.setenv("KITARU_RETRIES", "0")  # env beats stack settings
    f.run(2).wait(timeout=30)
    assert current_state().list_executions(limit=1)[0]["config"]["retries"] == 0
    monkeypatch.setenv("KITARU_STACK", "default")  # env beats the active stack
    assert current_stack().name == "default"
    f.run(3).wait(timeout=30)
    assert current_state().list_executions(limit=1)[0]["stack"] == "default"
    with pytest.raises(KitaruUsageError, match="stack 'nope' is not registered"):
        f.run(1, stack="nope")


def test_store_from_root_unknown_scheme_names_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_DISABLE_PLUGINS", "gcs")  # as if kitaru-gcs were not installed (CI installs it)
    reset_plugin_manager()
    try:
        with pytest.raises(KitaruUsageError, match="no installed artifact store can read 'gs://b/p'.*kitaru-gcs"):
            store_from_root("gs://b/p")
    finally:
        monkeypatch.delenv("KITARU_DISABLE_PLUGINS")
        reset_plugin_manager()


class _TaggedStore:
    """A config-carrying store: `tag` changes with the stack's spec, `root` does not."""

    flavor = "tagged"

    def __init__(self, root: str, tag: str) -> None:
        self.root, self.tag = root, tag


def _register_tagged_flavor() -> None:
    from pydantic import BaseModel

    class TaggedConfig(BaseModel):
        path: str
        tag: str

    class Plugin:
        @hookimpl
        def kitaru_register_components(self, registry):  # type: ignore[no-untyped-def]
            registry.add_artifact_store("tagged", config=TaggedConfig, schemes=("tagged",),
                                        factory=lambda c, ctx: _TaggedStore(c.path, c.tag))

    get_plugin_manager().register(Plugin(), "tagged-plugin")


def test_store_from_root_follows_a_re_registered_stack(kitaru_home: Path) -> None:
    _register_tagged_flavor()
    spec = "name: {name}\norchestrator: {{flavor: local}}\nartifact_store: {{flavor: tagged, path: 'tagged://b/p', tag: {tag}}}\n"
    register_stack("t.yaml", text=spec.format(name="tagged", tag="one"))
    assert store_from_root("tagged://b/p").tag == "one"
    register_stack("t.yaml", text=spec.format(name="tagged", tag="two"))  # this process
    assert store_from_root("tagged://b/p").tag == "two"
    from kitaru.stacks._validate import validate_spec
    from kitaru.store import current_state

    other = validate_spec(__import__("yaml").safe_load(spec.format(name="tagged", tag="three")), source="t.yaml")
    current_state().put_stack("tagged", other)  # as another process (or the server) re-registers it
    assert store_from_root("tagged://b/p").tag == "three"
    delete_stack("tagged", force=True)
    with pytest.raises(KitaruUsageError, match="no installed artifact store can read 'tagged://b/p'"):
        store_from_root("tagged://b/p")  # the flavor has no from_root: nothing serves the root any more
