"""`kitaru memory …`: durable memory scopes, entries, history, purges, compaction and the index."""

from typing import Annotated, Any

import typer

from kitaru.cli._base import Out, OutputFormat, OutputOpt

app = typer.Typer(help="Durable memory: scopes, list, get, set, delete, history, purge, compact, reindex.",
                  no_args_is_help=True, add_completion=False)

Key = Annotated[str, typer.Argument(help="Memory key, e.g. user/preferences.", show_default=False)]
ScopeOpt = Annotated[str, typer.Option("--scope", "-s", help="Memory scope (a namespace, flow name or execution id).")]
KeepOpt = Annotated[int, typer.Option("--keep", help="Newest versions to keep per key (0 removes all).", min=0)]


def _memories() -> Any:
    from kitaru.client import KitaruClient

    return KitaruClient().memories


def _entries_table(entries: list[Any], title: str | None = None) -> None:
    from kitaru.cli._render import Table

    table = Table("KEY", "VERSION", "VALUE", "WRITTEN", title=title)
    for e in entries:
        shown = "<deleted>" if e.deleted else _short(e.value)
        table.add(e.key, e.version, shown, (e.to_dict(with_value=False)["created_at"] or "-").replace("T", " ")[:19])
    table.print()


def _short(value: Any) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


@app.command("scopes")
def scopes(output: OutputOpt = OutputFormat.text) -> None:
    """List memory scopes with their key and version counts."""
    out = Out("memory.scopes", output)
    items = _memories().scopes()

    def human() -> None:
        from kitaru.cli._render import Table

        if not items:
            typer.echo("No memory yet. Write some with `kitaru memory set KEY VALUE` or kitaru.memory.set().")
            return
        table = Table("SCOPE", "TYPE", "KEYS", "VERSIONS")
        for s in items:
            table.add(s["scope"], s["scope_type"], s["keys"], s["versions"])
        table.print()

    out.items(items, human)


@app.command("list")
def list_entries(
    scope: ScopeOpt = "default",
    prefix: Annotated[str | None, typer.Option("--prefix", help="Only keys starting with this.")] = None,
    deleted: Annotated[bool, typer.Option("--include-deleted", help="Also show deleted keys.")] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """List the keys of a scope with their latest values."""
    out = Out("memory.list", output)
    entries = _memories().list(scope, prefix=prefix, include_deleted=deleted)

    def human() -> None:
        if not entries:
            typer.echo(f"No keys in scope {scope!r}.")
            return
        _entries_table(entries, f"Memory scope {scope}")

    out.items(entries, human)


@app.command("get")
def get_entry(key: Key, scope: ScopeOpt = "default",
              version: Annotated[int | None, typer.Option("--version", help="A specific version.", min=1)] = None,
              output: OutputOpt = OutputFormat.text) -> None:
    """Show a key's value (latest version, or --version)."""
    from kitaru.errors import KitaruUsageError

    out = Out("memory.get", output)
    entry = _memories().get(key, scope=scope, version=version)
    if entry is None:
        raise KitaruUsageError(f"memory key {key!r} does not exist in scope {scope!r}; see `kitaru memory list"
                               f" --scope {scope}`")

    def human() -> None:
        if entry.deleted:
            typer.echo(f"{key} was deleted (version {entry.version}).")
        else:
            typer.echo(entry.value if isinstance(entry.value, str) else _short(entry.value))

    out.item(entry, human)


@app.command("set")
def set_entry(key: Key, value: Annotated[str, typer.Argument(help="The value (a string; JSON with --json).")],
              scope: ScopeOpt = "default",
              as_json: Annotated[bool, typer.Option("--json", help="Parse VALUE as JSON.")] = False,
              scope_type: Annotated[str, typer.Option("--scope-type", help="namespace, flow or execution.")]
              = "namespace",
              output: OutputOpt = OutputFormat.text) -> None:
    """Write a new version of a key."""
    from kitaru.cli._base import parse_json

    out = Out("memory.set", output)
    entry = _memories().set(key, parse_json(value, "VALUE") if as_json else value, scope=scope,
                            scope_type=scope_type)
    out.item(entry, lambda: typer.echo(f"Set {key} in scope {scope!r} (version {entry.version})."))


@app.command("delete")
def delete_entry(key: Key, scope: ScopeOpt = "default", output: OutputOpt = OutputFormat.text) -> None:
    """Delete a key (a tombstone version; history keeps the old versions until purged)."""
    from kitaru.errors import KitaruUsageError

    out = Out("memory.delete", output)
    entry = _memories().delete(key, scope=scope)
    if entry is None:
        raise KitaruUsageError(f"memory key {key!r} is not set in scope {scope!r}; nothing to delete")
    out.item(entry, lambda: typer.echo(f"Deleted {key} in scope {scope!r} (tombstone version {entry.version})."))


@app.command("history")
def history(key: Key, scope: ScopeOpt = "default", output: OutputOpt = OutputFormat.text) -> None:
    """Every version of a key, newest first."""
    out = Out("memory.history", output)
    entries = _memories().history(key, scope=scope)

    def human() -> None:
        if not entries:
            typer.echo(f"No versions of {key!r} in scope {scope!r}.")
            return
        _entries_table(entries, f"History of {key}")

    out.items(entries, human)


def _audit_text(rec: dict[str, Any]) -> str:
    return f"Purged {rec['metadata']['removed_count']} version(s); kept the newest {rec['metadata']['keep']} per key."


@app.command("purge")
def purge(key: Key, scope: ScopeOpt = "default", keep: KeepOpt = 1, output: OutputOpt = OutputFormat.text) -> None:
    """Hard-delete old versions of a key (all of a deleted key's); admin only, audited."""
    out = Out("memory.purge", output)
    rec = _memories().purge(key, scope=scope, keep=keep)
    out.item(rec, lambda: typer.echo(_audit_text(rec)))


@app.command("purge-scope")
def purge_scope(scope: Annotated[str, typer.Argument(help="The scope to purge.", show_default=False)],
                keep: KeepOpt = 1, output: OutputOpt = OutputFormat.text) -> None:
    """Hard-delete old versions of every key of a scope (--keep 0 empties it); admin only, audited."""
    out = Out("memory.purge-scope", output)
    rec = _memories().purge_scope(scope, keep=keep)
    out.item(rec, lambda: typer.echo(_audit_text(rec)))


@app.command("compact")
def compact(
    scope: ScopeOpt = "default",
    key: Annotated[str | None, typer.Option("--key", help="Summarise this key's history into a new version of it.")]
    = None,
    prefix: Annotated[str | None, typer.Option("--prefix", help="Only keys starting with this.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Key receiving a scope summary "
                                               "(default _compaction/summary).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model or alias for kitaru.llm().")] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Summarise entries with the LLM into a new version, recorded in the compaction log."""
    out = Out("memory.compact", output)
    rec = _memories().compact(scope, key=key, prefix=prefix, target=target, model=model)
    sources = rec["metadata"]["sources"]
    out.item(rec, lambda: typer.echo(f"Compacted {len(sources)} entr{'y' if len(sources) == 1 else 'ies'} into"
                                     f" {rec['key']} version {rec['version']}."))


@app.command("compaction-log")
def compaction_log(scope: Annotated[str | None, typer.Option("--scope", "-s", help="Only this scope.")] = None,
                   output: OutputOpt = OutputFormat.text) -> None:
    """Past compactions, newest first."""
    out = Out("memory.compaction-log", output)
    items = _memories().compaction_log(scope)

    def human() -> None:
        from kitaru.cli._render import Table

        if not items:
            typer.echo("No compactions yet. Run `kitaru memory compact --scope SCOPE`.")
            return
        table = Table("SCOPE", "KEY", "VERSION", "SOURCES", "MODEL")
        for r in items:
            table.add(r["scope"], r["key"], r["version"], len(r["metadata"]["sources"]), r["metadata"].get("model"))
        table.print()

    out.items(items, human)


@app.command("reindex")
def reindex(output: OutputOpt = OutputFormat.text) -> None:
    """Rebuild the latest-version index from the stored versions; admin only."""
    out = Out("memory.reindex", output)
    counts = _memories().reindex()
    out.item(counts, lambda: typer.echo(f"Reindexed {counts['keys']} key(s) in {counts['scopes']} scope(s)."))
