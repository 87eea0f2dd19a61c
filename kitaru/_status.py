"""`ExecutionStatus`: the life cycle of an execution (and of a checkpoint call), shared by the SDK and client."""

from __future__ import annotations

import enum


class ExecutionStatus(enum.StrEnum):
    """running | waiting | completed | failed | cancelled; compares equal to its string value."""

    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        """Whether the execution has ended (completed, failed or cancelled): it will not change by itself."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)

    @property
    def is_terminal(self) -> bool:
        """Same as `is_finished` (this project's earlier name)."""
        return self.is_finished

    @classmethod
    def _missing_(cls, value: object) -> ExecutionStatus | None:
        """Accept any letter case ("COMPLETED")."""
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().lower():
                    return member
        return None
