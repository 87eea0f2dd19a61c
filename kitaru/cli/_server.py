"""`kitaru server up|migrate`: run the Kitaru server (FastAPI under uvicorn) and migrate its database."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from kitaru.cli._base import Out, OutputFormat, OutputOpt, new_app

app = new_app("Run the Kitaru server: `up` serves the REST API, `migrate` applies database migrations.")

DbUrl = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db"
                                           " (default: KITARU_DATABASE_URL, else SQLite in the Kitaru home).",
                                           show_default=False)]


def _url(database_url: str | None) -> str:
    if database_url:
        os.environ["KITARU_DATABASE_URL"] = database_url
    from kitaru.server._asgi import database_url_from_env

    return database_url_from_env()


def _redact(url: str) -> str:
    from kitaru.server._serve import redact_url

    return redact_url(url)


@app.command("migrate")
def migrate_command(database_url: DbUrl = None, output: OutputOpt = OutputFormat.text) -> None:
    """Apply Alembic migrations to the server database (safe to run concurrently and repeatedly)."""
    from kitaru.store._databases import open_database
    from kitaru.store.migrations import HEAD_REVISION

    out = Out("server migrate", output)
    url = _url(database_url)
    open_database(url).close()
    out.item({"database_url": _redact(url), "revision": HEAD_REVISION},
             lambda: typer.echo(f"Database {_redact(url)} is at revision {HEAD_REVISION}."))


@app.command("rotate-signing-key")
def rotate_signing_key_command(
    database_url: DbUrl = None,
    revoke_previous: Annotated[bool, typer.Option("--revoke-previous", help="Also invalidate every token signed with"
                                                  " the current key at once (after a leak).")] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Sign new tokens with a fresh key; tokens of the current key stay valid until the next rotation."""
    from kitaru.store._databases import open_database
    from kitaru.store._identity import IdentityService

    out = Out("server rotate-signing-key", output)
    url = _url(database_url)
    db = open_database(url)
    try:
        from kitaru.server._keys import check_key, server_box

        box = server_box(create=False)[0]  # the server's key (KITARU_SERVER_ENCRYPTION_KEY, or its file)
        check_key(db, box)
        IdentityService(db, box).rotate_signing_key(revoke_previous=revoke_previous)
    finally:
        db.close()
    out.item({"database_url": _redact(url), "previous_key_accepted": not revoke_previous},
             lambda: typer.echo("Rotated the token signing key; running servers switch within"
                                " KITARU_SERVER_KEY_REFRESH seconds (default 30)."
                                + ("" if revoke_previous else " Tokens signed with the old key keep working until"
                                   " the next rotation.")))


@app.command("rotate-encryption-key")
def rotate_encryption_key_command(
    new_key_file: Annotated[str, typer.Option("--new-key-file", help="File with the new key (64 hex characters);"
                                              " created with mode 0600 if it does not exist.")],
    database_url: DbUrl = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Re-encrypt secret values and signing keys with a new encryption key (stop the servers first)."""
    import secrets
    from pathlib import Path

    from kitaru.server._keys import rotate_encryption_key, server_box
    from kitaru.store._crypto import SecretBox, parse_key, write_private
    from kitaru.store._databases import open_database

    out = Out("server rotate-encryption-key", output)
    url = _url(database_url)
    target = Path(new_key_file).expanduser()
    if not target.exists():
        write_private(target, secrets.token_hex(32) + "\n")
    new = SecretBox(parse_key(target.read_text()), source=str(target))
    db = open_database(url)
    try:
        count = rotate_encryption_key(db, server_box(create=False)[0], new)
    finally:
        db.close()
    out.item({"database_url": _redact(url), "reencrypted": count, "new_key_file": str(target)},
             lambda: typer.echo(f"Re-encrypted {count} values with the key in {target}. Start every server of this"
                                f" database with KITARU_SERVER_ENCRYPTION_KEY_FILE={target} (or that key in"
                                " KITARU_SERVER_ENCRYPTION_KEY)."))


@app.command("up")
def up_command(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: one the system picks, announced once bound).")] = 8080,
    database_url: DbUrl = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes (the server is stateless).")] = 1,
) -> None:
    """Start the server: migrate, create a bootstrap admin API key if none exists, serve /api/v1."""
    from kitaru.server._serve import serve

    serve(host=host, port=port, database_url=database_url, workers=workers)
