#!/usr/bin/env bash
# The whole test suite against the real services: installs what is missing, starts the stack,
# type-checks, lints, runs Jest, prints the summary, and stops the services it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/install.sh

was_up=0
bash stack/stack.sh status >/dev/null 2>&1 && was_up=1
finish() {
  local rc=$?
  if [ "$was_up" = 1 ]; then bash stack/stack.sh up >/dev/null 2>&1 || true; else bash stack/stack.sh down || true; fi
  exit $rc
}
trap finish EXIT
bash stack/stack.sh up
eval "$(bash stack/stack.sh env)"
export NODE_ENV=test
# Worker state changes at INFO would drown the test report.
export LOG_LEVEL=warn

echo "[test] typecheck" >&2
npx tsc --noEmit -p .
echo "[test] lint" >&2
npx eslint .
echo "[test] jest" >&2
results="$(mktemp --suffix=.json)"
rc=0
NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}" npx jest --ci --json --outputFile="$results" "$@" || rc=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" || true
rm -f "$results"
exit $rc
