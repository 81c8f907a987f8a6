#!/usr/bin/env bash
# npm test: every test, in two lanes that share the machine's cores.
#
#   lane 1 (normal priority): type checks, ruff, vitest (browser suites included), then the Triton e2e test
#   lane 2 (nice 10):         pytest, two xdist workers of one torch thread each
#
# Why two lanes: vitest keeps only ~65 % of two cores busy (sockets, timers, Chromium waiting on the
# daemon) and the Triton test ~35 %, while pytest is CPU-bound. One after the other (vitest in one fork,
# pytest in one process) they took 255 s here; side by side ~150 s (measured on a 2-core Xeon, 2026-12-07).
# pytest runs at nice 10 (both lanes are in this shell's autogroup, so nice orders them: pytest gets ~10 %
# of a contended core) so the vitest suites that bound latencies (fairness, responsiveness, previews) see
# the CPU nearly as they would alone; nice 19 left more idle and took 160 s.
#
# Lane 1 streams its output; lane 2's is held in a file and printed when it ends, so the two never
# interleave. The exit status is non-zero if either lane failed, and the last lines say which.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

py_log="$(mktemp -t palette-pytest.XXXXXX)"
trap 'rm -f "$py_log"' EXIT

# setsid is not used: the lane must stay in this autogroup for nice to count against lane 1.
nice -n 10 npm run --silent test:py >"$py_log" 2>&1 &
py_pid=$!

lane1=0
npm run typecheck && npm run lint:py && npx vitest run && npm run test:triton || lane1=$?

wait "$py_pid"
lane2=$?
echo
echo "── pytest (ran beside the above at nice 10) ──"
cat "$py_log"

echo
if (( lane1 == 0 && lane2 == 0 )); then
  echo "npm test: all passed"
  exit 0
fi
(( lane1 != 0 )) && echo "npm test: FAILED in type checks, ruff, vitest or Triton (exit $lane1)"
(( lane2 != 0 )) && echo "npm test: FAILED in pytest (exit $lane2)"
exit 1
