"""`StateStore` is one contract: every implementation satisfies it, statically (mypy) and at run time.

The behaviour half of the proof is the `state` fixture of this folder: the same suite runs on each.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kitaru.store import ServerLink, StateService, StateStore

ROOT = Path(__file__).resolve().parents[2]

CONFORMS = """
from kitaru.store import ServerLink, StateStore
from kitaru.store._pg import PgStateService
from kitaru.store._remote import RemoteStateService
from kitaru.store.service import StateService


def conforms(embedded: StateService, pg: PgStateService, remote: RemoteStateService) -> list[StateStore]:
    link: ServerLink = remote
    assert link.url
    return [embedded, pg, remote, embedded.for_execution("e"), remote.for_execution("e")]
"""

DIVERGES = """
from kitaru.store import StateStore
from kitaru.store._remote import RemoteStateService


class Drifted(RemoteStateService):
    def get_execution(self, exec_id: str, extra: int) -> None:  # type: ignore[override]
        return None


def conforms(drifted: Drifted) -> StateStore:
    return drifted
"""


def _mypy(tmp_path: Path, **modules: str) -> subprocess.CompletedProcess[str]:
    """One mypy run over `modules` (name -> source), each a file of `tmp_path`."""
    targets = []
    for name, source in modules.items():
        targets.append(tmp_path / f"{name}.py")
        targets[-1].write_text(textwrap.dedent(source))
    # Only kitaru itself is analysed (found from the checkout, `cwd`): the contract's signatures are in builtin
    # types, and installed packages (SQLAlchemy, httpx, pydantic...) are Any here, a fifth of the time of a full
    # run. The strict run over the whole package in scripts/test.sh checks them with every package.
    return subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-site-packages",
                           "--ignore-missing-imports", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy_cache"),
                           *map(str, targets)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_every_implementation_is_statically_a_state_store(tmp_path: Path) -> None:
    """mypy: the embedded/SQLAlchemy service, the psycopg service and the HTTP client are all `StateStore`s,
    and the check has teeth (an implementation whose signature drifts is refused)."""
    checked = _mypy(tmp_path, conforms=CONFORMS, diverges=DIVERGES)
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert checked.returncode == 1 and errors, checked.stdout + checked.stderr
    assert all(e.startswith(str(tmp_path / "diverges.py")) for e in errors), checked.stdout  # the rest conforms
    assert '(got "Drifted", expected "StateStore")' in checked.stdout and "get_execution" in checked.stdout


def test_every_implementation_is_a_state_store_at_run_time(tmp_path: Path) -> None:
    from kitaru.store._remote import RemoteStateService
    from kitaru.store._sqlite import SQLiteDatabase

    embedded = StateService(SQLiteDatabase(tmp_path / "kitaru.db"))
    remote = RemoteStateService("http://127.0.0.1:9", token="not-used")
    assert isinstance(embedded, StateStore) and isinstance(remote, StateStore)
    assert embedded.server is None and embedded.for_execution("e1") is embedded
    assert remote.server is remote and isinstance(remote.server, ServerLink)
    embedded.close()


def test_the_protocol_names_every_public_member_the_implementations_share() -> None:
    """Nothing the implementations have in common is outside the contract (callers could not use it through
    `StateStore`), and the contract has nothing one of them lacks."""
    from kitaru.store._pg import PgStateService
    from kitaru.store._remote import RemoteStateService

    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    contract = public(StateStore)
    for impl in (StateService, PgStateService, RemoteStateService):
        assert contract <= public(impl), f"{impl.__name__} lacks {sorted(contract - public(impl))}"
    shared = public(StateService) & public(RemoteStateService)
    assert shared - contract == set(), f"shared but not in StateStore: {sorted(shared - contract)}"


@pytest.mark.parametrize("member", ["me", "execution_token", "continue_execution", "mint_credentials", "api"])
def test_server_only_operations_are_behind_the_server_link(member: str) -> None:
    """What only a server can do is reached through `state.server`, never as a member of the contract."""
    assert not hasattr(StateStore, member) and hasattr(ServerLink, member)
