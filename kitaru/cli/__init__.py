"""The `kitaru` command line (typer). `main()` is the console-script entry point."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failed, 2 usage/validation error)."""
    import kitaru.store
    from kitaru.cli._app import app
    from kitaru.cli._lazy import build_root

    # someone is waiting at a terminal: give up on an unreachable server after 10 s, not a runtime's 60 s
    kitaru.store.interactive_retry_seconds = 10.0

    try:
        build_root(app).main(args=argv, prog_name="kitaru")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
