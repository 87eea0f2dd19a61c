"""`kitaru secrets …` and `kitaru model …`: credentials and model aliases in the state store."""

from typing import Annotated, Any

import typer

from kitaru.cli._base import Out, OutputFormat, OutputOpt

secrets_app = typer.Typer(help="Store API keys and other credentials: set, show, list, delete.",
                          no_args_is_help=True, add_completion=False)
model_app = typer.Typer(help="Model aliases for kitaru.llm(): register, list.", no_args_is_help=True,
                        add_completion=False)

SecretName = Annotated[str, typer.Argument(help="Secret name.", show_default=False)]


def parse_pairs(args: list[str]) -> dict[str, str]:
    """`--KEY=value` / `--KEY value` arguments → {KEY: value}; anything else is a usage error."""
    from kitaru.errors import KitaruUsageError

    pairs: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise KitaruUsageError(f"unexpected argument {arg!r}; pass secret values as --KEY=value")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise KitaruUsageError(f"--{key} has no value; pass it as --{key}=value")
            value, i = args[i + 1], i + 1
        if not key:
            raise KitaruUsageError(f"{arg!r} has no key; pass secret values as --KEY=value")
        pairs[key] = value
        i += 1
    return pairs


@secrets_app.command("set", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def set_secret(ctx: typer.Context, name: SecretName, output: OutputOpt = OutputFormat.text) -> None:
    """Create or replace a secret from --KEY=value pairs, e.g. `kitaru secrets set openai --OPENAI_API_KEY=sk-…`."""
    from kitaru import create_secret
    from kitaru.errors import KitaruUsageError

    out = Out("secrets set", output)
    pairs = parse_pairs(list(ctx.args))
    if not pairs:
        raise KitaruUsageError(f"no values given; pass them as `kitaru secrets set {name} --KEY=value`")
    create_secret(name, pairs)
    from kitaru.cli._serialize import secret

    item = secret({"name": name, "keys": sorted(pairs), "values": pairs})
    out.item(item, lambda: typer.echo(f"Secret {name!r} saved with keys: {', '.join(sorted(pairs))}."))


@secrets_app.command("show")
def show_secret(
    name: SecretName,
    show_values: Annotated[bool, typer.Option("--show-values", help="Print the values instead of ***.")] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show a secret's keys (values masked unless --show-values)."""
    from kitaru import get_secret

    out = Out("secrets show", output)
    data = get_secret(name)
    values = {k: (v if show_values else "***") for k, v in sorted(data.items())}
    from kitaru.cli._serialize import secret

    item = {**secret({"name": name, "keys": sorted(data), "values": data}), "values": values}

    def human() -> None:
        from kitaru.cli._render import Table

        table = Table("KEY", "VALUE", title=f"Secret {name}")
        for k, v in values.items():
            table.add(k, v)
        table.print()

    out.item(item, human)


@secrets_app.command("list")
def list_secrets(output: OutputOpt = OutputFormat.text) -> None:
    """List secrets with their keys (never values)."""
    from kitaru.sdk._api import list_secrets as sdk_list_secrets

    out = Out("secrets list", output)
    rows = sdk_list_secrets()
    from kitaru.cli._serialize import secret

    items = [secret({"name": r["name"], "keys": r["keys"], "created_at": _iso(r["created_at"]),
                     "updated_at": _iso(r["updated_at"])}) for r in rows]

    def human() -> None:
        from kitaru.cli._render import Table

        if not items:
            typer.echo("No secrets. Create one with `kitaru secrets set NAME --KEY=value`.")
            return
        table = Table("NAME", "KEYS", "UPDATED")
        for s in items:
            table.add(s["name"], ", ".join(s["keys"]), (s["updated_at"] or "-").replace("T", " ")[:19])
        table.print()

    out.items(items, human)


@secrets_app.command("delete")
def delete_secret(name: SecretName, output: OutputOpt = OutputFormat.text) -> None:
    """Delete a secret."""
    from kitaru import delete_secret as delete

    out = Out("secrets delete", output)
    delete(name)
    out.item({"name": name, "deleted": True}, lambda: typer.echo(f"Secret {name!r} deleted."))


def _iso(value: Any) -> str | None:
    """Store epoch seconds → ISO-8601 UTC."""
    from kitaru.client._models import ts

    stamp = ts(value)
    return None if stamp is None else stamp.isoformat().replace("+00:00", "Z")


@model_app.command("register")
def register_model(
    alias: Annotated[str, typer.Argument(help="Alias to use as kitaru.llm(model=ALIAS).", show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help="provider/name, e.g. openai/gpt-4o-mini.",
                                       show_default=False)],
    secret: Annotated[str | None, typer.Option("--secret", help="Secret holding the provider's API key.")] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Register (or replace) a model alias."""
    from kitaru.config import register_model_alias

    out = Out("model register", output)
    register_model_alias(alias, model=model, secret=secret)
    item = {"alias": alias, "model": model, "secret": secret}
    suffix = f" (API key from secret {secret!r})" if secret else ""
    out.item(item, lambda: typer.echo(f"Model alias {alias!r} → {model}{suffix}."))


@model_app.command("list")
def list_models(output: OutputOpt = OutputFormat.text) -> None:
    """List model aliases."""
    from kitaru.config import list_model_aliases

    out = Out("model list", output)
    items = [{"alias": a["alias"], "model": a["model"], "secret": a.get("secret"),
              "created_at": _iso(a.get("created_at"))} for a in list_model_aliases()]

    def human() -> None:
        from kitaru.cli._render import Table

        if not items:
            typer.echo("No model aliases. Register one with `kitaru model register ALIAS --model provider/name`.")
            return
        table = Table("ALIAS", "MODEL", "SECRET")
        for a in items:
            table.add(a["alias"], a["model"], a["secret"])
        table.print()

    out.items(items, human)
