"""Where Kitaru keeps local state: the project's `.kitaru/` or the user's config dir."""

from __future__ import annotations

import os
from pathlib import Path

_PROJECT_MARKERS = ("pyproject.toml", ".git")


def user_config_dir() -> Path:
    """The per-user Kitaru directory: KITARU_CONFIG_PATH (as in Kitaru 0.4), else XDG_CONFIG_HOME/kitaru,
    else ~/.config/kitaru. It holds the saved login and, outside a project, the local state."""
    explicit = os.environ.get("KITARU_CONFIG_PATH")
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "kitaru"


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest ancestor of `start` holding `.kitaru/`, else one with pyproject.toml or .git."""
    here = (start or Path.cwd()).resolve()
    candidates = [here, *here.parents]
    for d in candidates:
        if (d / ".kitaru").is_dir():
            return d
    for d in candidates:
        if any((d / m).exists() for m in _PROJECT_MARKERS):
            return d
    return None


def resolve_home() -> Path:
    """The directory holding the state store and local artifacts.

    KITARU_HOME wins; otherwise the project's `.kitaru/`; otherwise the user config dir.
    """
    explicit = os.environ.get("KITARU_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    root = find_project_root()
    return root / ".kitaru" if root is not None else user_config_dir()


GITIGNORE = "# Kitaru's local state: executions, logs and artifacts; not for version control.\n*\n"


def ensure_gitignore(home: Path) -> None:
    """Give a project's `.kitaru/` its `.gitignore` (however the directory was created); other homes are left alone."""
    if home.name != ".kitaru" or not home.is_dir():
        return
    ignore = home / ".gitignore"
    if ignore.exists():
        return
    try:
        fd = os.open(ignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return  # another process wrote it
    except OSError:
        return  # a read-only checkout: nothing to protect from commits there
    with os.fdopen(fd, "w") as f:
        f.write(GITIGNORE)
