#!/usr/bin/env bash
# Runs a command with the background training stint paused (SIGSTOP), and resumes it after (SIGCONT),
# whatever the command's outcome. On a 2-core machine a test run beside the stint makes both crawl
# (measured: 7× slower training steps), so short CPU-heavy commands go faster with the stint paused.
#   scripts/paused-training.sh npx vitest run
# Pauses nest: each wrapper leaves a token in runs/background/pauses/, and the stint resumes only when
# the last live wrapper ends (an evaluation paused for an hour must not be resumed by a short test).
set -u
run="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/runs/background"
pid="$(cat "$run/lock" 2>/dev/null || true)"
if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
  pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
  mkdir -p "$run/pauses"
  token="$run/pauses/$$"
  : > "$token"
  resume() {
    rm -f "$token"
    for other in "$run"/pauses/*; do
      [[ -e "$other" ]] || continue
      if kill -0 "$(basename "$other")" 2>/dev/null; then return; fi  # another wrapper still holds a pause
      rm -f "$other"  # a wrapper that died without cleaning up
    done
    kill -CONT -- "-$pgid" 2>/dev/null
  }
  trap resume EXIT INT TERM
  kill -STOP -- "-$pgid"
fi
"$@"
