"""`FrozenExecutionSpec`: the configuration an execution was started with, frozen and stored with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FrozenExecutionSpec:
    """What an execution ran with: the resolved configuration (secret-looking values redacted), the
    `@flow(...)` defaults it was declared with, and which server (URL only) it talked to."""

    resolved_execution: dict[str, Any] = field(default_factory=dict)
    flow_defaults: dict[str, Any] = field(default_factory=dict)
    connection: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stored(cls, config: dict[str, Any] | None, *, flow_defaults: dict[str, Any] | None = None,
                    server_url: str | None = None) -> FrozenExecutionSpec:
        """Build from the configuration JSON stored with an execution."""
        from kitaru.config._models import redact

        return cls(resolved_execution=redact(dict(config or {})), flow_defaults=redact(dict(flow_defaults or {})),
                   connection={"server_url": server_url} if server_url else {})

    @property
    def stack(self) -> str | None:
        """The stack the execution ran on."""
        return self.resolved_execution.get("stack")

    def model_dump(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)
