#!/usr/bin/env bash
# The declared dependency floors are real: install the LOWEST versions pyproject.toml allows for kitaru's
# core dependencies (uv --resolution lowest-direct) into their own venv and run the core suite there
# (embedded SDK, artifacts, CLI). Every step is bounded.
#   scripts/test_floors.sh install       build the venv (scripts/test.sh does it with the other installs)
#   scripts/test_floors.sh run [ARGS]    run the core suite in it (ARGS go to pytest)
#   scripts/test_floors.sh [ARGS]        both
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/.cache/floor-venv
mode=both
case "${1:-}" in install|run) mode=$1; shift ;; esac

if [ "$mode" != run ]; then
  command -v uv >/dev/null 2>&1 || timeout 300 python -m pip install -q "uv>=0.4"
  rm -rf "$VENV"
  timeout 300 uv venv -q "$VENV" --python "$(command -v python)"
  # --compile-bytecode: as pip does, so the run does not compile every module it imports
  timeout 900 uv pip install -q --compile-bytecode --python "$VENV/bin/python" --resolution lowest-direct -e . \
    "pytest>=8" "pytest-timeout>=2.3"
fi
[ "$mode" = install ] && exit 0

[ -x "$VENV/bin/python" ] || { echo "no floor venv at $VENV: run scripts/test_floors.sh install first" >&2; exit 2; }
echo "floors: $(uv pip list --python "$VENV/bin/python" 2>/dev/null | grep -Ei '^(pydantic|sqlalchemy|alembic|httpx|jsonschema|pluggy|pyyaml|pathspec|typer|rich|cryptography) ' | awk '{printf "%s==%s ", $1, $2}')"
exec timeout 900 "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/sdk tests/artifacts tests/cli/test_cli_runner.py \
  -k "not sqlite and not postgresql" "$@"
