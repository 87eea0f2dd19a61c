"""Conformance suite for container registry flavors: subclass it and provide a `registry` fixture."""

from __future__ import annotations

from typing import Any

import pytest

from kitaru.plugins import ContainerRegistry, RegistryCredentials


class ContainerRegistryConformance:
    """Image URIs and pull/push credential shape."""

    @pytest.fixture
    def registry(self) -> Any:
        """The registry under test (override in the subclass)."""
        raise NotImplementedError("override the `registry` fixture")

    def test_satisfies_protocol(self, registry: Any) -> None:
        assert isinstance(registry, ContainerRegistry)

    def test_image_uri(self, registry: Any) -> None:
        uri = registry.image_uri("agent", "v1")
        assert uri.startswith(registry.uri) and uri.endswith(":v1") and "agent" in uri

    def test_credentials_shape(self, registry: Any) -> None:
        for access in ("pull", "push"):
            creds = registry.credentials(access)
            assert isinstance(creds, RegistryCredentials) and creds.access == access
            assert isinstance(creds.username, str) and isinstance(creds.password, str)
            assert not creds.password or creds.password not in repr(creds)
