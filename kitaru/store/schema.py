"""The state store schema as SQLAlchemy Core tables: the single source of truth.

Alembic migrations are written against these tables, and the embedded store's fast
bootstrap DDL (`_ddl_sqlite.sql`) is generated from them (a test keeps all three equal).
Timestamps are epoch seconds (float): portable, sortable and cheap on the hot path.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

_ID = String(64)

executions = Table(
    "executions",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("flow_name", String(255), nullable=False),
    Column("flow_source", Text, nullable=False),  # JSON: module, file, qualname
    Column("status", String(16), nullable=False),
    Column("stack", String(255), nullable=False),
    Column("config", Text, nullable=False),  # JSON: frozen resolved configuration
    Column("inputs", Text, nullable=False),  # JSON: blob ref of the serialized inputs
    Column("result", Text),  # JSON: blob ref of the serialized result
    Column("failure", Text),  # JSON: origin, reason, message, type, traceback
    Column("original_exec_id", _ID),
    Column("replay_from", String(255)),
    Column("cancel_requested", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(128)),
    Column("lease_expires_at", Float),
    Column("runs", Integer, nullable=False, server_default="0"),
    Column("metadata", Text, nullable=False, server_default="{}"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("ended_at", Float),
    Index("ix_executions_created", "created_at", "id"),
    Index("ix_executions_flow_created", "flow_name", "created_at"),
    Index("ix_executions_status_created", "status", "created_at"),
)

checkpoint_calls = Table(
    "checkpoint_calls",
    metadata,
    Column("exec_id", _ID, nullable=False),
    Column("invocation_id", String(255), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("input_hash", String(64)),
    Column("input_preview", Text),
    Column("output", Text),  # JSON: blob ref of the serialized output
    Column("cache_key", String(64)),
    Column("reused_from", _ID),
    Column("error", Text),
    Column("metadata", Text, nullable=False, server_default="{}"),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    PrimaryKeyConstraint("exec_id", "invocation_id"),
    Index("ux_checkpoint_calls_seq", "exec_id", "seq", unique=True),
    Index("ix_checkpoint_calls_cache", "cache_key"),
)

checkpoint_attempts = Table(
    "checkpoint_attempts",
    metadata,
    Column("exec_id", _ID, nullable=False),
    Column("invocation_id", String(255), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    PrimaryKeyConstraint("exec_id", "invocation_id", "attempt"),
)

waits = Table(
    "waits",
    metadata,
    Column("exec_id", _ID, nullable=False),
    Column("invocation_id", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("question", Text),
    Column("schema", Text),  # JSON schema of the expected answer
    Column("metadata", Text, nullable=False, server_default="{}"),
    Column("status", String(16), nullable=False),  # pending | answered | aborted
    Column("answer", Text),  # JSON
    Column("created_at", Float, nullable=False),
    Column("answered_at", Float),
    PrimaryKeyConstraint("exec_id", "invocation_id"),
    Index("ix_waits_status", "status", "created_at"),
)

logs = Table(
    "logs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("exec_id", _ID, nullable=False),
    Column("invocation_id", String(255)),
    Column("ts", Float, nullable=False),
    Column("stream", String(16), nullable=False),  # stdout | stderr | logging | kitaru
    Column("level", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_logs_exec", "exec_id", "id"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("exec_id", _ID, nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False),
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("ref", Text, nullable=False),  # JSON: blob ref
    Column("invocation_id", String(255)),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("exec_id", "name"),
)

stacks = Table(
    "stacks",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("spec", Text, nullable=False),  # JSON: the validated stack composition
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

secrets = Table(
    "secrets",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("data", Text, nullable=False),  # JSON: key -> value
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("alias", String(255), primary_key=True),
    Column("model", String(255), nullable=False),
    Column("secret", String(255)),
    Column("created_at", Float, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

# ------------------------------------------------------------------ server (revision 0002)
principals = Table(
    "principals",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # user | service_account
    Column("role", String(16), nullable=False),  # admin | member
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),  # public part of the key (`kit_<id>_<secret>`)
    Column("principal_id", _ID, nullable=False),
    Column("name", String(255), nullable=False),
    Column("key_hash", String(64), nullable=False),  # sha256 of the whole key; the key itself is never stored
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Index("ix_api_keys_principal", "principal_id"),
)

server_keys = Table(
    "server_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),  # e.g. the token signing key shared by every replica
    Column("created_at", Float, nullable=False),
)

request_keys = Table(
    "request_keys",
    metadata,
    Column("key", String(128), primary_key=True),  # Idempotency-Key of an applied write (log batches)
    Column("created_at", Float, nullable=False),
    Index("ix_request_keys_created", "created_at"),
)

# ------------------------------------------------------------------ durable memory (revision 0003_memory)
memory_entries = Table(
    "memory_entries",
    metadata,
    Column("scope", String(255), nullable=False),
    Column("key", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("scope_type", String(16), nullable=False),  # namespace | flow | execution
    Column("value", Text),  # JSON: blob ref of the serialized value; NULL for a tombstone
    Column("deleted", Integer, nullable=False, server_default="0"),
    Column("exec_id", _ID),  # the execution that wrote it, if any
    Column("actor", String(255)),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("scope", "key", "version"),
)

memory_keys = Table(  # the index of latest versions (derived from memory_entries; `memory reindex` rebuilds it)
    "memory_keys",
    metadata,
    Column("scope", String(255), nullable=False),
    Column("key", String(255), nullable=False),
    Column("scope_type", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("value", Text),
    Column("deleted", Integer, nullable=False, server_default="0"),
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("scope", "key"),
)

memory_audit = Table(
    "memory_audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("scope", String(255), nullable=False),
    Column("key", String(255)),
    Column("action", String(32), nullable=False),  # purge | purge_scope
    Column("metadata", Text, nullable=False, server_default="{}"),  # JSON: keep, removed versions per key
    Column("actor", String(255)),
    Column("created_at", Float, nullable=False),
    Index("ix_memory_audit_scope", "scope", "id"),
)

memory_compactions = Table(
    "memory_compactions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("scope", String(255), nullable=False),
    Column("key", String(255), nullable=False),  # the key that received the summary
    Column("version", Integer, nullable=False),  # the version written
    Column("metadata", Text, nullable=False, server_default="{}"),  # JSON: sources [{key, version}], model
    Column("actor", String(255)),
    Column("created_at", Float, nullable=False),
    Index("ix_memory_compactions_scope", "scope", "id"),
)
