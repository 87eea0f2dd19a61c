"""Test helpers for Kitaru and its plugins: conformance suites every component runs, and a real local server.

    from kitaru.testing import ArtifactStoreConformance

    class TestS3(ArtifactStoreConformance):
        @pytest.fixture
        def store(self): ...

    with LocalServer("sqlite:///" + str(tmp / "server.db"), tmp / "home") as server:
        ...  # server.url, server.admin_key, server.token()

    exec_id = kill_and_retry("my-stack", tmp_path)  # a flow on the stack survives SIGKILL + retry
"""

from kitaru.testing._artifact_store import ArtifactStoreConformance
from kitaru.testing._crash import kill_and_retry, read_elsewhere
from kitaru.testing._home import isolated_home
from kitaru.testing._orchestrator import OrchestratorConformance
from kitaru.testing._registry import ContainerRegistryConformance
from kitaru.testing._server import LocalServer, free_port
from kitaru.testing._ui import PREVIEWED, ui_brokered_download

__all__ = [
    "PREVIEWED",
    "ArtifactStoreConformance",
    "ContainerRegistryConformance",
    "LocalServer",
    "OrchestratorConformance",
    "free_port",
    "isolated_home",
    "kill_and_retry",
    "read_elsewhere",
    "ui_brokered_download",
]
