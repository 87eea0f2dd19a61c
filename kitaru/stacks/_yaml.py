"""Read stack YAML keeping the line of every key, so errors can point at the file and line."""

from __future__ import annotations

from typing import Any

from kitaru.errors import KitaruUsageError

Path_ = tuple[Any, ...]


class StackSpecError(KitaruUsageError):
    """A stack spec is invalid; the message lists every problem as `file:line: field: what`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid stack spec:\n  " + "\n  ".join(problems) if len(problems) > 1 else
                         f"invalid stack spec: {problems[0]}")
        self.problems = problems


def load_yaml(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML; return the data and a map from key path to 1-based line number."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        ctx, ctx_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if ctx and ctx_mark is not None:
            problem += f", {ctx} at line {ctx_mark.line + 1}"
        raise StackSpecError([f"{where}: not valid YAML ({problem})"]) from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def _walk(node: Any, path: Path_, lines: dict[Path_, int]) -> None:
    import yaml

    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            lines[sub] = key.start_mark.line + 1
            _walk(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def line_of(lines: dict[Path_, int], path: Path_) -> int | None:
    """The line of `path`, or of its nearest ancestor present in the map."""
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def dump_yaml(data: dict[str, Any]) -> str:
    """Stack spec as YAML, keys in spec order."""
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
