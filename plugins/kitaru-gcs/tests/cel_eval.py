"""A small evaluator for the Credential Access Boundary conditions kitaru-gcs emits, and a model of the
predefined roles it names. The emulator does not enforce boundaries, so tests check them with this.

Grammar (anything else is rejected, so a change of the emitted form fails the tests loudly):
    expr := term ( " || " term )*
    term := "resource.name.startsWith('" LIT "')"
          | "api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('" LIT "')"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TERM = re.compile(r"(resource\.name|api\.getAttribute\('storage\.googleapis\.com/objectListPrefix', ''\))"
                   r"\.startsWith\('([^'\\]*)'\)")
# the object permissions of each predefined role (cloud.google.com/storage/docs/access-control/iam-roles)
ROLE_PERMISSIONS = {
    "roles/storage.objectViewer": {"storage.objects.get", "storage.objects.list"},
    "roles/storage.objectCreator": {"storage.objects.create"},
    "roles/storage.objectAdmin": {"storage.objects.get", "storage.objects.list", "storage.objects.create",
                                  "storage.objects.delete", "storage.objects.update"},
}


@dataclass(frozen=True)
class Request:
    """One storage request: `object_name` for object operations, `list_prefix` for a listing."""

    bucket: str
    permission: str
    object_name: str | None = None
    list_prefix: str | None = None

    @property
    def resource_name(self) -> str:
        base = f"projects/_/buckets/{self.bucket}"
        return f"{base}/objects/{self.object_name}" if self.object_name is not None else base


def evaluate(expression: str, request: Request) -> bool:
    """The value of `expression` for `request` (CEL semantics for this subset)."""
    terms = expression.split(" || ")
    result = False
    for term in terms:
        match = _TERM.fullmatch(term.strip())
        if match is None:
            raise ValueError(f"unsupported CEL term: {term!r}")
        subject = request.resource_name if match.group(1) == "resource.name" else (request.list_prefix or "")
        result = result or subject.startswith(match.group(2))
    return result


def allowed(boundary: dict, request: Request) -> bool:
    """Whether a Credential Access Boundary lets `request` through (some rule grants it)."""
    for rule in boundary["accessBoundary"]["accessBoundaryRules"]:
        if rule["availableResource"] != f"//storage.googleapis.com/projects/_/buckets/{request.bucket}":
            continue
        perms: set[str] = set()
        for p in rule["availablePermissions"]:
            assert p.startswith("inRole:"), p
            perms |= ROLE_PERMISSIONS[p.removeprefix("inRole:")]
        condition = rule.get("availabilityCondition")
        if request.permission in perms and (condition is None or evaluate(condition["expression"], request)):
            return True
    return False
