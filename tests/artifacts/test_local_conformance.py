"""The built-in local artifact store passes the shared conformance suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitaru.artifacts import LocalArtifactStore
from kitaru.testing import ArtifactStoreConformance


class TestLocalArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalArtifactStore:
        return LocalArtifactStore(tmp_path / "artifacts")
