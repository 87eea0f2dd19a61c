"""`kitaru.adapters.pydantic_ai`: run a PydanticAI agent durably inside a Kitaru flow.

`wrap(agent)` journals every model request and tool call of the agent as a step of the flow, so a crashed,
paused or replayed execution continues at the next request instead of paying for earlier ones again.
`@hitl_tool(question=..., schema=...)` turns a tool into a flow-level `kitaru.wait`. Needs the optional
extra: `pip install 'kitaru[pydantic-ai]'` (pydantic-ai-slim); `import kitaru` never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru.adapters.pydantic_ai._hitl import hitl_tool
from kitaru.errors import KitaruFeatureNotAvailableError, KitaruUsageError

if TYPE_CHECKING:
    from kitaru.adapters.pydantic_ai._agent import KitaruAgent

__all__ = ["CAPTURE_MODES", "KitaruAgent", "hitl_tool", "wrap"]

CAPTURE_MODES = ("full", "metadata_only", "off")
_INSTALL = "the `pydantic-ai` extra: `pip install 'kitaru[pydantic-ai]'` (installs pydantic-ai-slim)"


def _require_pydantic_ai() -> None:
    try:
        import pydantic_ai  # noqa: F401
    except ImportError:
        raise KitaruFeatureNotAvailableError("kitaru.adapters.pydantic_ai.wrap()", provided_by=_INSTALL) from None


def _capture_mode(config: Any, where: str) -> str:
    """The capture mode of one `{"mode": ...}` config (None means the default, "full")."""
    if config is None:
        return "full"
    mode = config.get("mode", "full") if isinstance(config, dict) else config
    if mode not in CAPTURE_MODES:
        raise KitaruUsageError(f"{where} must be {{'mode': 'full' | 'metadata_only' | 'off'}}, got {config!r}")
    return str(mode)


def wrap(
    agent: Any,
    *,
    tool_capture_config: dict[str, Any] | None = None,
    tool_capture_config_by_name: dict[str, dict[str, Any] | None] | None = None,
    name: str | None = None,
) -> KitaruAgent:
    """Return a durable view of `agent`: same run API (`run`, `run_sync`, `run_stream`, `iter`), journaled in a flow.

    `tool_capture_config={"mode": "full"|"metadata_only"|"off"}` sets what tool calls record (per tool:
    `tool_capture_config_by_name`); `off` also leaves the tool out of the journal (it runs again on resume).
    """
    _require_pydantic_ai()
    from pydantic_ai.agent import AbstractAgent

    from kitaru.adapters.pydantic_ai._agent import KitaruAgent

    if not isinstance(agent, AbstractAgent):
        raise KitaruUsageError(f"kp.wrap() takes a pydantic_ai.Agent, got {type(agent).__name__}")
    default = _capture_mode(tool_capture_config, "tool_capture_config")
    if tool_capture_config_by_name is not None and not isinstance(tool_capture_config_by_name, dict):
        raise KitaruUsageError("tool_capture_config_by_name must map tool names to {'mode': ...} dicts")
    by_name = {str(k): _capture_mode(v, f"tool_capture_config_by_name[{k!r}]")
               for k, v in (tool_capture_config_by_name or {}).items()}
    return KitaruAgent(agent, capture_default=default, capture_by_name=by_name, name=name)


def __getattr__(attr: str) -> Any:
    if attr == "KitaruAgent":
        _require_pydantic_ai()
        from kitaru.adapters.pydantic_ai._agent import KitaruAgent

        return KitaruAgent
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
