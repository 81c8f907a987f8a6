#!/usr/bin/env bash
# Mutation testing of the training pipeline's core (mutmut 3): `npm run test:mutation:py [-- [--retry] MODULE...]`.
# MODULE is one of diffusion, data, masks, train (default: all four).
#
# mutmut copies the code and the tests into mutants/ below its working folder and runs pytest there, so
# it gets a workspace of its own, runs/mutmut/ (ignored): palette_training/ and the tests that guard the
# four modules, with a conftest that imports the copy. The workspace is kept between runs: mutmut's
# results in runs/mutmut/mutants/ are reused for mutants whose function did not change (incremental).
# They are also kept in reports/mutmut/ (committed: each module's .meta of exit codes and function
# hashes, and the test-to-function stats), so a run cut short in one session goes on in the next: a new
# workspace starts from them. `scripts/mutation-python.sh --save` copies them there without running.
# Slow on 2 cores, so not part of npm test; `scripts/paused-training.sh` in front pauses the
# background training while it runs.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/models/training/.venv"
ws="$repo/runs/mutmut"
saved="$repo/reports/mutmut"

save_results() {
  [[ -d "$ws/mutants/palette_training" ]] || return 0
  mkdir -p "$saved"
  cp "$ws"/mutants/palette_training/*.py.meta "$saved"/ 2>/dev/null || true
  [[ -f "$ws/mutants/mutmut-stats.json" ]] && cp "$ws/mutants/mutmut-stats.json" "$saved"/
  echo "mutmut results saved in reports/mutmut/"
}
if [[ "${1:-}" == "--save" ]]; then save_results; exit 0; fi
# --retry: run the survivors and time-outs of the saved results again (after tests were added); mutmut
# keeps every other result whose function did not change. Its time-outs are CPU-time limits, but a
# busy machine still causes them: torch's OpenMP threads spin while they wait for a core, and the
# spinning counts (so the children run one thread each, below).
retry=0
if [[ "${1:-}" == "--retry" ]]; then retry=1; shift; fi

modules=("$@")
[[ ${#modules[@]} -gt 0 ]] || modules=(diffusion data masks train)

"$venv/bin/python" -c "import mutmut" 2>/dev/null || "$venv/bin/python" -m pip install -q "mutmut==3.8.1"

mkdir -p "$ws"
rm -rf "$ws/palette_training" && cp -r "$repo/models/training/palette_training" "$ws/palette_training"
only=()
tests=()
for m in "${modules[@]}"; do
  case "$m" in
    diffusion) tests+=(test_diffusion.py test_v_prediction.py) ;;
    data) tests+=(test_data.py test_corruptions.py) ;;
    masks) tests+=(test_masks.py test_data.py) ;;
    # (the test list is part of mutmut's cache key: changing it resets every saved result)
    train) tests+=(test_train.py test_schedule.py test_background.py) ;;
    *) echo "unknown module $m (diffusion, data, masks, train)" >&2; exit 2 ;;
  esac
  only+=("\"palette_training/$m.py\"")
done
# The tests as they are, but importing the workspace's (mutated) palette_training.
rm -rf "$ws/tests" && cp -r "$repo/test/models/training" "$ws/tests" && rm -rf "$ws/tests/__pycache__" "$ws/palette_training/__pycache__"
cat > "$ws/tests/conftest.py" <<'PY'
"""Import palette_training from the folder above (mutmut's mutants/ copy), not from the repository."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
PY
unique_tests=$(printf '"tests/%s", ' $(printf '%s\n' "${tests[@]}" | sort -u))
cat > "$ws/pyproject.toml" <<TOML
[tool.mutmut]
source_paths = ["palette_training"]
only_mutate = [$(IFS=,; echo "${only[*]}")]
pytest_add_cli_args_test_selection = [${unique_tests%, }]
pytest_add_cli_args = ["-q", "-p", "no:cacheprovider"]
# a changed test reruns the module's mutants (mutmut keys its results on the mutated functions only)
cache_invalidation_files = [${unique_tests%, }]
use_git_change_detection = false
# Two children at one thread each: the tests' tiny models run no slower on one thread (measured: the
# three train test files 39 s at 1 thread, 43 s at 2), so two at once nearly double the throughput.
max_children = ${MUTMUT_CHILDREN:-2}
# torch is not fork-safe once its thread pool has run: fork workers from a server that only imported the tests
process_isolation = "forkserver"
TOML
# A new workspace starts from the committed results (mutmut regenerates the mutants and keeps the exit
# codes of functions whose hash did not change).
if [[ ! -d "$ws/mutants" && -f "$saved/mutmut-stats.json" ]]; then
  mkdir -p "$ws/mutants/palette_training"
  cp "$saved"/*.py.meta "$ws/mutants/palette_training/" 2>/dev/null || true
  cp "$saved/mutmut-stats.json" "$ws/mutants/"
fi
if [[ $retry == 1 ]]; then
  "$venv/bin/python" - "$ws"/mutants/palette_training/*.py.meta <<'PY'
import json, sys
for path in sys.argv[1:]:
    meta = json.load(open(path))
    codes = meta["exit_code_by_key"]
    retried = [k for k, v in codes.items() if v in (0, -24)]  # 0: survived; -24: SIGXCPU, the CPU-time limit
    for k in retried:
        codes[k] = None
    json.dump(meta, open(path, "w"))
    print(f"{path}: {len(retried)} survivors and time-outs to run again")
PY
fi
cd "$ws"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# Save what was done even when the run is interrupted (Ctrl-C, a session's end).
trap save_results EXIT
# MUTANTS='palette_training.train.x_setup_distributed*' (fnmatch patterns, space-separated) runs only those.
read -r -a only_mutants <<< "${MUTANTS:-}"
"$venv/bin/mutmut" run "${only_mutants[@]}" || true
"$venv/bin/mutmut" results --all true > results.txt || true
"$venv/bin/python" - <<'PY'
# Per module: killed, survived, other (timeout, suspicious, no tests), score = killed / (all but skipped).
import collections, pathlib, re
counts = collections.defaultdict(collections.Counter)
for line in pathlib.Path("results.txt").read_text().splitlines():
    m = re.match(r"\s*palette_training\.(\w+)\.\S+: (.+)$", line)
    if m:
        counts[m.group(1)][m.group(2).strip()] += 1
print("module           killed  survived  other   score")
for module, c in sorted(counts.items()):
    killed = c["killed"] + c["timeout"]
    total = sum(c.values()) - c["skipped"]
    other = total - killed - c["survived"]
    print(f"{module:<16} {killed:>6} {c['survived']:>9} {other:>6}  {100 * killed / max(total, 1):5.1f} %")
PY
