CREATE TABLE api_keys (
	id VARCHAR(32) NOT NULL, 
	principal_id VARCHAR(64) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	created_at FLOAT NOT NULL, 
	last_used_at FLOAT, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_api_keys_principal ON api_keys (principal_id);

CREATE TABLE artifacts (
	exec_id VARCHAR(64) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	type VARCHAR(32) NOT NULL, 
	tags TEXT DEFAULT '[]' NOT NULL, 
	ref TEXT NOT NULL, 
	invocation_id VARCHAR(255), 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (exec_id, name)
);

CREATE TABLE checkpoint_attempts (
	exec_id VARCHAR(64) NOT NULL, 
	invocation_id VARCHAR(255) NOT NULL, 
	attempt INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	error TEXT, 
	started_at FLOAT NOT NULL, 
	ended_at FLOAT, 
	PRIMARY KEY (exec_id, invocation_id, attempt)
);

CREATE TABLE checkpoint_calls (
	exec_id VARCHAR(64) NOT NULL, 
	invocation_id VARCHAR(255) NOT NULL, 
	seq INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	type VARCHAR(32) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	input_hash VARCHAR(64), 
	input_preview TEXT, 
	output TEXT, 
	cache_key VARCHAR(64), 
	reused_from VARCHAR(64), 
	error TEXT, 
	metadata TEXT DEFAULT '{}' NOT NULL, 
	started_at FLOAT NOT NULL, 
	ended_at FLOAT, 
	PRIMARY KEY (exec_id, invocation_id)
);

CREATE INDEX ix_checkpoint_calls_cache ON checkpoint_calls (cache_key);

CREATE UNIQUE INDEX ux_checkpoint_calls_seq ON checkpoint_calls (exec_id, seq);

CREATE TABLE executions (
	id VARCHAR(64) NOT NULL, 
	flow_name VARCHAR(255) NOT NULL, 
	flow_source TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	stack VARCHAR(255) NOT NULL, 
	config TEXT NOT NULL, 
	inputs TEXT NOT NULL, 
	result TEXT, 
	failure TEXT, 
	original_exec_id VARCHAR(64), 
	replay_from VARCHAR(255), 
	cancel_requested INTEGER DEFAULT '0' NOT NULL, 
	lease_owner VARCHAR(128), 
	lease_expires_at FLOAT, 
	runs INTEGER DEFAULT '0' NOT NULL, 
	metadata TEXT DEFAULT '{}' NOT NULL, 
	created_at FLOAT NOT NULL, 
	updated_at FLOAT NOT NULL, 
	ended_at FLOAT, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_executions_created ON executions (created_at, id);

CREATE INDEX ix_executions_flow_created ON executions (flow_name, created_at);

CREATE INDEX ix_executions_status_created ON executions (status, created_at);

CREATE TABLE logs (
	id INTEGER NOT NULL, 
	exec_id VARCHAR(64) NOT NULL, 
	invocation_id VARCHAR(255), 
	ts FLOAT NOT NULL, 
	stream VARCHAR(16) NOT NULL, 
	level VARCHAR(16) NOT NULL, 
	message TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_logs_exec ON logs (exec_id, id);

CREATE TABLE memory_audit (
	id INTEGER NOT NULL, 
	scope VARCHAR(255) NOT NULL, 
	"key" VARCHAR(255), 
	action VARCHAR(32) NOT NULL, 
	metadata TEXT DEFAULT '{}' NOT NULL, 
	actor VARCHAR(255), 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_memory_audit_scope ON memory_audit (scope, id);

CREATE TABLE memory_compactions (
	id INTEGER NOT NULL, 
	scope VARCHAR(255) NOT NULL, 
	"key" VARCHAR(255) NOT NULL, 
	version INTEGER NOT NULL, 
	metadata TEXT DEFAULT '{}' NOT NULL, 
	actor VARCHAR(255), 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_memory_compactions_scope ON memory_compactions (scope, id);

CREATE TABLE memory_entries (
	scope VARCHAR(255) NOT NULL, 
	"key" VARCHAR(255) NOT NULL, 
	version INTEGER NOT NULL, 
	scope_type VARCHAR(16) NOT NULL, 
	value TEXT, 
	deleted INTEGER DEFAULT '0' NOT NULL, 
	exec_id VARCHAR(64), 
	actor VARCHAR(255), 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (scope, "key", version)
);

CREATE TABLE memory_keys (
	scope VARCHAR(255) NOT NULL, 
	"key" VARCHAR(255) NOT NULL, 
	scope_type VARCHAR(16) NOT NULL, 
	version INTEGER NOT NULL, 
	value TEXT, 
	deleted INTEGER DEFAULT '0' NOT NULL, 
	updated_at FLOAT NOT NULL, 
	PRIMARY KEY (scope, "key")
);

CREATE TABLE model_aliases (
	alias VARCHAR(255) NOT NULL, 
	model VARCHAR(255) NOT NULL, 
	secret VARCHAR(255), 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (alias)
);

CREATE TABLE principals (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE request_keys (
	"key" VARCHAR(128) NOT NULL, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY ("key")
);

CREATE INDEX ix_request_keys_created ON request_keys (created_at);

CREATE TABLE secrets (
	name VARCHAR(255) NOT NULL, 
	data TEXT NOT NULL, 
	created_at FLOAT NOT NULL, 
	updated_at FLOAT NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE server_keys (
	name VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE settings (
	"key" VARCHAR(255) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);

CREATE TABLE stacks (
	name VARCHAR(255) NOT NULL, 
	spec TEXT NOT NULL, 
	created_at FLOAT NOT NULL, 
	updated_at FLOAT NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE waits (
	exec_id VARCHAR(64) NOT NULL, 
	invocation_id VARCHAR(255) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	question TEXT, 
	schema TEXT, 
	metadata TEXT DEFAULT '{}' NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	answer TEXT, 
	created_at FLOAT NOT NULL, 
	answered_at FLOAT, 
	PRIMARY KEY (exec_id, invocation_id)
);

CREATE INDEX ix_waits_status ON waits (status, created_at);
