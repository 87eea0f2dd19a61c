#!/usr/bin/env bash
# The declared dependency floors are real: install the LOWEST versions pyproject.toml allows for kitaru's
# core dependencies (uv --resolution lowest-direct) into their own venv and run the core suite there
# (embedded SDK, artifacts, CLI). Called by scripts/test.sh; every step is bounded. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/.cache/floor-venv
command -v uv >/dev/null 2>&1 || timeout 300 python -m pip install -q "uv>=0.4"
rm -rf "$VENV"
timeout 300 uv venv -q "$VENV" --python "$(command -v python)"
timeout 900 uv pip install -q --python "$VENV/bin/python" --resolution lowest-direct -e . "pytest>=8" "pytest-timeout>=2.3"
echo "floors: $(uv pip list --python "$VENV/bin/python" 2>/dev/null | grep -Ei '^(pydantic|sqlalchemy|alembic|httpx|jsonschema|pluggy|pyyaml|pathspec|typer|rich|cryptography) ' | awk '{printf "%s==%s ", $1, $2}')"
exec timeout 900 "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/sdk tests/artifacts tests/cli/test_cli_runner.py \
  -k "not sqlite and not postgresql" "$@"
