"""`kitaru login|logout` and `kitaru auth api-keys|service-accounts|users …` against a Kitaru server."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kitaru.cli._base import Out, OutputFormat, OutputOpt, new_app

app = new_app("Manage access to a Kitaru server: API keys, service accounts, users.")
keys_app = new_app("API keys (hashed at rest on the server; a new key is shown once).")
sa_app = new_app("Service accounts: non-human principals for CI and automation.")
users_app = new_app("Users (admin only).")
app.add_typer(keys_app, name="api-keys")
app.add_typer(sa_app, name="service-accounts")
app.add_typer(users_app, name="users")

Role = Annotated[str, typer.Option(help="admin, member or viewer (read-only).")]


def _api(method: str, path: str, body: Any = None) -> Any:
    from kitaru.errors import KitaruUsageError
    from kitaru.store import current_state

    server = current_state().server
    if server is None:
        raise KitaruUsageError("not connected to a Kitaru server; run `kitaru login URL --api-key KEY` first")
    return server.api(method, path, body)


def login_command(
    url: Annotated[str | None, typer.Argument(help="Server URL, e.g. https://kitaru.example.com (default: the"
                                                   " KITARU_SERVER_URL or saved server).", show_default=False)] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="KITARU_API_KEY", help="Your API key.",
                                                show_default=False)] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Log in again even if this server is saved.")] = False,
    project: Annotated[str | None, typer.Option("--project", help="Project to use on the server.")] = None,
    no_verify_ssl: Annotated[bool, typer.Option("--no-verify-ssl", help="Do not verify the server's TLS "
                                                                        "certificate (testing only).")] = False,
    ssl_ca_cert: Annotated[str | None, typer.Option("--ssl-ca-cert", help="CA bundle to verify the server with.")
                           ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.1, help="Seconds to wait for the server.")
                       ] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Connect the SDK, CLI and runners to a Kitaru server (saved in the user config dir, mode 600)."""
    from kitaru.store._connection import active_connection, connection_path

    out = Out("login", output)
    saved = active_connection() or {}
    url = url or saved.get("url")
    if not url:
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError("which server? `kitaru login https://kitaru.example.com --api-key KEY`")
    if api_key is None and saved.get("url") and saved["url"].rstrip("/") == url.rstrip("/"):
        api_key = saved.get("api_key")  # `kitaru login` again (or --refresh) with the saved key
    state = _connect(url, api_key=api_key, refresh=refresh, project=project, no_verify_ssl=no_verify_ssl,
                     ssl_ca_cert=ssl_ca_cert, timeout=timeout)
    me = state.http.request("GET", "/auth/me")[0]
    item = {"url": state.url, "server_url": state.url, "principal": me["name"], "role": me["role"],
            "project": project, "saved_to": str(connection_path())}
    out.item(item, lambda: typer.echo(f"Logged in to {state.url} as {me['name']} ({me['role']})."))


def _connect(url: str, *, api_key: str | None, **options: Any) -> Any:
    """Log in with `kitaru.connect` (the SDK's form, which knows TLS, timeout and project options)."""
    import inspect

    import kitaru
    from kitaru.errors import KitaruUsageError
    from kitaru.store import connect as store_connect
    from kitaru.store import current_state

    if not api_key:
        raise KitaruUsageError("an API key is needed: `kitaru login URL --api-key KEY` (or KITARU_API_KEY);"
                               " create one with `kitaru auth api-keys create`")
    sdk_connect = kitaru.connect
    accepted = inspect.signature(sdk_connect).parameters
    if "no_verify_ssl" in accepted:  # the Kitaru 0.4 signature: it persists the login like `kitaru login`
        sdk_connect(url, api_key=api_key, **options)
        return current_state()
    unsupported = [f"--{k.replace('_', '-')}" for k, v in options.items()
                   if v not in (None, False) and k not in accepted and k != "refresh"]
    if unsupported:
        raise KitaruUsageError(f"{', '.join(unsupported)} is not supported by this Kitaru build's connect();"
                               " upgrade kitaru")
    return store_connect(url, api_key=api_key, save=True)


def logout_command(output: OutputOpt = OutputFormat.text) -> None:
    """Forget the saved server login: the SDK and CLI use the embedded store again."""
    from kitaru.store._connection import forget_connection

    out = Out("logout", output)
    removed = forget_connection()
    out.item({"logged_out": removed}, lambda: typer.echo("Logged out." if removed else "Not logged in."))


def _key_table(rows: list[dict[str, Any]]) -> None:
    from kitaru.cli._render import Table

    table = Table("ID", "NAME", "PRINCIPAL", "CREATED", "LAST USED")
    for r in rows:
        table.add(r["id"], r["name"], r.get("principal", r["principal_id"]), r["created_at"], r.get("last_used_at"))
    table.print()


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Option(help="A label for the key.")] = "default",
    for_: Annotated[str | None, typer.Option("--for", help="Principal (user or service account); admin only.",
                                             show_default=False)] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Create an API key (printed once)."""
    out = Out("auth api-keys create", output)
    row = _api("POST", "/api-keys", {"name": name, "principal": for_})
    out.item(row, lambda: typer.echo(f"API key {row['id']} created (shown once):\n  {row['api_key']}"))


@keys_app.command("list")
def list_keys(output: OutputOpt = OutputFormat.text) -> None:
    """List API keys (ids and labels; never the keys)."""
    out = Out("auth api-keys list", output)
    rows = _api("GET", "/api-keys")
    out.items(rows, lambda: _key_table(rows))


@keys_app.command("rotate")
def rotate_key(key_id: Annotated[str, typer.Argument(help="Key id.")], output: OutputOpt = OutputFormat.text) -> None:
    """Replace a key by a new one; the old key stops working now."""
    out = Out("auth api-keys rotate", output)
    row = _api("POST", f"/api-keys/{key_id}/rotate")
    out.item(row, lambda: typer.echo(f"Key {key_id} rotated; new key {row['id']} (shown once):\n  {row['api_key']}"))


@keys_app.command("delete")
def delete_key(key_id: Annotated[str, typer.Argument(help="Key id.")], output: OutputOpt = OutputFormat.text) -> None:
    """Revoke a key."""
    out = Out("auth api-keys delete", output)
    _api("DELETE", f"/api-keys/{key_id}")
    out.item({"id": key_id, "deleted": True}, lambda: typer.echo(f"Key {key_id} deleted."))


def _principal_commands(sub: typer.Typer, path: str, label: str) -> None:
    @sub.command("create")
    def create(name: Annotated[str, typer.Argument(help="Name.")], role: Role = "member",
               output: OutputOpt = OutputFormat.text) -> None:
        out = Out(f"auth {path} create", output)
        row = _api("POST", f"/{path}", {"name": name, "role": role})
        out.item(row, lambda: typer.echo(f"{label} {name} ({role}) created; give it a key with"
                                         f" `kitaru auth api-keys create --for {name}`."))

    @sub.command("list")
    def list_(output: OutputOpt = OutputFormat.text) -> None:
        from kitaru.cli._render import Table

        out = Out(f"auth {path} list", output)
        rows = _api("GET", f"/{path}")

        def human() -> None:
            table = Table("NAME", "ROLE", "ID")
            for r in rows:
                table.add(r["name"], r["role"], r["id"])
            table.print()

        out.items(rows, human)

    @sub.command("delete")
    def delete(name: Annotated[str, typer.Argument(help="Name.")], output: OutputOpt = OutputFormat.text) -> None:
        out = Out(f"auth {path} delete", output)
        _api("DELETE", f"/{path}/{name}")
        out.item({"name": name, "deleted": True}, lambda: typer.echo(f"{label} {name} and its keys deleted."))

    create.__doc__ = f"Create a {label.lower()}."
    list_.__doc__ = f"List {label.lower()}s."
    delete.__doc__ = f"Delete a {label.lower()} and its API keys."


_principal_commands(sa_app, "service-accounts", "Service account")
_principal_commands(users_app, "users", "User")
