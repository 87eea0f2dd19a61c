"""Test helpers for AWS plugins: a small IAM policy evaluator (explicit deny > allow > implicit deny; wildcards;
StringLike/StringEquals), so tests check the session policies Kitaru mints without an AWS account."""

from __future__ import annotations

import re
from typing import Any, Literal

__all__ = ["Decision", "allows", "evaluate"]

Decision = Literal["allow", "deny", "implicit-deny"]


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, checks in condition.items():
        for key, expected in checks.items():
            actual = context.get(key)
            if actual is None:
                return False
            if operator == "StringLike":
                ok = any(_match(p, actual) for p in _list(expected))
            elif operator == "StringEquals":
                ok = actual in _list(expected)
            else:
                raise ValueError(f"unsupported condition operator {operator}")
            if not ok:
                return False
    return True


def evaluate(policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None) -> Decision:
    """The decision of one identity policy for one request."""
    allowed = False
    for st in _list_statements(policy):
        if not any(_match(a, action, ignore_case=True) for a in _list(st.get("Action"))):
            continue
        if not any(_match(r, resource) for r in _list(st.get("Resource"))):
            continue
        if not _conditions_hold(st.get("Condition", {}), context or {}):
            continue
        if st["Effect"] == "Deny":
            return "deny"
        allowed = True
    return "allow" if allowed else "implicit-deny"


def _list_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    st = policy["Statement"]
    return [st] if isinstance(st, dict) else list(st)


def allows(policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """Whether the policy allows the request."""
    return evaluate(policy, action, resource, context) == "allow"
