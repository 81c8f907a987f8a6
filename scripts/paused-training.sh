#!/usr/bin/env bash
# Runs a command with the background training stint paused (SIGSTOP), and resumes it after (SIGCONT),
# whatever the command's outcome. On a 2-core machine a test run beside the stint makes both crawl
# (measured: 7× slower training steps), so short CPU-heavy commands go faster with the stint paused.
#   scripts/paused-training.sh npx vitest run
set -u
lock="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/runs/background/lock"
pid="$(cat "$lock" 2>/dev/null || true)"
if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
  pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
  trap 'kill -CONT -- "-$pgid" 2>/dev/null' EXIT INT TERM
  kill -STOP -- "-$pgid"
fi
"$@"
