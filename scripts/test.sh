#!/usr/bin/env bash
# The whole test suite against the real services: installs what is missing, starts the stack,
# type-checks, lints, runs Jest, stops the services it started, and prints the summary over every
# Jest run as its very last line, in the plain form CI reads: "tests: N passed, N failed, N skipped"
# (Jest's own "Tests: … total" lines are not read by CI as a test count).
#
# Without arguments every file runs once, in an order shuffled by a seed (printed; each run draws a
# new one, so over runs the suite shows that no file depends on another), and last the lifecycle
# tests (they stop the stack). With arguments, one Jest run with those arguments (for instance a
# single file). One pass keeps the whole run well inside CI's 90 minutes: running the integration
# files twice took 72-77 of them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/install.sh
bash scripts/fixtures.sh
# helm, for the chart's lint and wiring test (built once from the pinned Go module, then cached).
NEURONODE_HELM="$(bash scripts/install-helm.sh)"
export NEURONODE_HELM

results_dir="$(mktemp -d)"
was_up=0
bash stack/stack.sh status >/dev/null 2>&1 && was_up=1
finish() {
  local rc=$?
  if [ "$was_up" = 1 ]; then bash stack/stack.sh up >/dev/null 2>&1 || true; else bash stack/stack.sh down || true; fi
  # The summary of every Jest run, after the services are stopped: the last line of the log.
  node -e '
    const fs = require("fs");
    const t = { passed: 0, failed: 0, skipped: 0, suites: 0, failedSuites: 0 };
    const files = process.argv.slice(1);
    for (const f of files) {
      const r = JSON.parse(fs.readFileSync(f, "utf8"));
      t.passed += r.numPassedTests;
      t.failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
      t.skipped += r.numPendingTests + r.numTodoTests;
      t.suites += r.numTotalTestSuites;
      t.failedSuites += r.numFailedTestSuites + r.numRuntimeErrorTestSuites;
    }
    if (!files.length) t.failed = 1; // no test ran: never a green summary
    console.log(`test files: ${t.suites - t.failedSuites} of ${t.suites} passed`);
    console.log(`tests: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
  ' $(ls "$results_dir"/*.json 2>/dev/null) || true
  rm -rf "$results_dir"
  exit $rc
}
trap finish EXIT
bash stack/stack.sh up
eval "$(bash stack/stack.sh env)"
# The schema, as its owner; the tests and every process they start connect as the application role.
npx tsx src/migrate.ts
unset DATABASE_OWNER_URL
npx tsx tests/end-stale-work.ts
export NODE_ENV=test
# Worker state changes at INFO would drown the test report.
export LOG_LEVEL=warn
# Stopping workers ask running activities to cancel at once (deployments give them a grace period;
# an activity that does not observe cancellation still runs to its end).
export WORKER_SHUTDOWN_GRACE_MS=0
# Vectors an earlier run stored with another embedding model are written again first (a model change
# is a migration; the tests assume every collection holds the served model's vectors).
npx tsx src/migrate-vectors.ts

echo "[test] typecheck" >&2
npx tsc --noEmit -p .
echo "[test] lint" >&2
npx eslint .
echo "[test] web application: typecheck and production build" >&2
(cd web && npx tsc --noEmit -p . && NEXT_TELEMETRY_DISABLED=1 npx next build >/dev/null)

rc=0
jest_run() { # name args...
  local name="$1"; shift
  NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}" npx jest --ci --json --outputFile="$results_dir/$name.json" "$@" || rc=1
}
if [ $# -gt 0 ]; then
  echo "[test] jest $*" >&2
  jest_run custom "$@"
else
  seed="${NEURONODE_TEST_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
  echo "[test] jest: every file, shuffled with seed $seed" >&2
  NEURONODE_TEST_ORDER=shuffle jest_run shuffled --seed="$seed" --testPathIgnorePatterns /tests/lifecycle/
  echo "[test] jest: the stack's lifecycle (stops the services)" >&2
  jest_run lifecycle tests/lifecycle
fi
exit $rc
