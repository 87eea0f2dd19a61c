"""Durable memory: versioned key/value state that outlives executions.

    import kitaru
    kitaru.memory.set("user/tone", "formal")      # a new version
    kitaru.memory.get("user/tone")                 # "formal"
    kitaru.memory.delete("user/tone")              # a tombstone: get() is None, history() keeps every version

Scopes: an explicit `scope=`, else `configure(scope=..., scope_type=...)`, else the flow's name inside a flow
(`scope_type="flow"`; `"execution"` uses the execution id) and `default` outside. Keys and scopes use letters,
digits, `.`, `_`, `-`, `/`; the `_compaction/` prefix is reserved. In a flow body every call is journaled, so a
resume or replay sees what the first run saw. Admin operations: `KitaruClient().memories` / `kitaru memory`.
"""

from kitaru.memory._api import memory_delete as delete
from kitaru.memory._api import memory_entry as entry
from kitaru.memory._api import memory_get as get
from kitaru.memory._api import memory_history as history
from kitaru.memory._api import memory_list as list
from kitaru.memory._api import memory_set as set
from kitaru.memory._models import MemoryEntry
from kitaru.memory._scope import MemoryConfig, configure, current_config
from kitaru.store._memory import RESERVED_PREFIX, SCOPE_TYPES

__all__ = [
    "RESERVED_PREFIX",
    "SCOPE_TYPES",
    "MemoryConfig",
    "MemoryEntry",
    "configure",
    "current_config",
    "delete",
    "entry",
    "get",
    "history",
    "list",
    "set",
]
