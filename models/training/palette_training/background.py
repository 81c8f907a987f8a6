"""Training that never stops: one stint of the background run, from the committed checkpoint.

    python -m palette_training background [--minutes M]      # start a stint (until --stop, M minutes or a signal)
    python -m palette_training background --status            # is one running, where is it
    python -m palette_training background --stop [--commit]   # end it: it checkpoints and packs, then git commit

The committed file (`models/checkpoints/small-latest.pt`, packed: EMA and raw weights in fp16, the
counters, no optimizer state) is where every stint starts and what it overwrites in place. A stint
  1. takes an exclusive lock (`<run>/lock`, flock: a second stint on the machine refuses to start),
  2. puts itself in its own scheduling group at a low priority (on Linux each session is an autogroup,
     so plain `nice` would not order it against the shells a person works in),
  3. resumes `<run>/checkpoints/last.pt` exactly if that is this lineage's newest state, else starts a
     fresh run from the committed file (weights, EMA and counters go on; AdamW re-warms),
  4. packs its checkpoint into the committed file every `--pack-minutes` and when it ends, and records
     the stint (steps and samples added, wall time, hardware) in `stints.jsonl` beside it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import typing
import uuid
from datetime import UTC, datetime
from pathlib import Path

import torch

from .config import TrainConfig, unet_config_from_dict
from .packed_weights import PACKED_FORMAT, pack_weights, preset_name
from .precision import cpu_has_fast_bf16

HERE = Path(__file__).resolve().parents[1]  # models/training
DEFAULT_WEIGHTS = HERE.parent / "checkpoints" / "small-latest.pt"
DEFAULT_RUN = HERE.parents[1] / "runs" / "background"
DEFAULT_DATA = HERE.parents[1] / "data" / "photos"
LOCKED_EXIT = 3


class LockHeld(RuntimeError):
    """Another stint holds the run's lock."""


def acquire_lock(run: Path) -> object:
    """An exclusive, non-blocking flock on <run>/lock holding our pid; released when the process ends."""
    run.mkdir(parents=True, exist_ok=True)
    handle = (run / "lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise LockHeld(f"another background stint holds {run / 'lock'} (pid {holder})") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def lock_holder(run: Path) -> int | None:
    """The pid of the running stint, or None when the lock is free."""
    path = run / "lock"
    if not path.exists():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def lower_priority(nice: int) -> str:
    """Own session (so our own autogroup), then that group's nice value; both best effort."""
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    try:
        Path("/proc/self/autogroup").write_text(f"{nice}\n")
        return f"autogroup nice {nice}"
    except OSError:
        os.nice(max(0, nice))
        return f"nice {nice}"


def stint_config(weights: Path, run: Path, data: Path, minutes: float, overrides: dict) -> TrainConfig:
    """The background run's TrainConfig. Constant learning rate after a short re-warm: a run that never
    ends has no end to anneal towards, and the EMA does the averaging. The mix, 64² only and no native-scale
    crops, won a race of three mixes on equal CPU time (models/README.md, 2026-12-07): lower held-out loss
    at 64², at 128² and on native-scale 128² crops than 85/15 % 64²/128² with a quarter native, or 60/40 %
    with half native."""
    packed = torch.load(weights, map_location="cpu", weights_only=True)
    if packed.get("format") != PACKED_FORMAT:
        raise ValueError(f"{weights} is not a packed weights file")
    base = dict(
        preset=preset_name(unet_config_from_dict(packed["unet"])), data=str(data / "train"),
        val_data=str(data / "val") if (data / "val").is_dir() else "", out=str(run), init_from=str(weights),
        steps=10**9, max_minutes=minutes, lr=1e-4, warmup_steps=300, batch_size=16, resolution=64,
        scales="64:1", native_crop=0.0, max_short_side=768, num_workers=1, bf16=cpu_has_fast_bf16(),
        share_cores=True, ckpt_every=100, sample_every=2000, log_every=20,
    )
    base.update(overrides)
    return TrainConfig(**base)


def prepare_run_dir(run: Path, weights: Path) -> str:
    """Resume <run>'s checkpoint only if it is at least as far as the committed file and descends from it;
    otherwise set it aside, so the stint starts from the committed file (another machine may have
    trained further and committed)."""
    last = run / "checkpoints" / "last.pt"
    if not last.exists():
        return "new"
    local = torch.load(last, map_location="cpu", weights_only=True)
    committed = torch.load(weights, map_location="cpu", weights_only=True)
    # Resume when the committed file was packed from this run (same run id, not ahead of it), or is the
    # file this run started from (its last history segment) and nothing was packed since.
    started_from = (local.get("history") or [{}])[-1]
    same_id = local.get("run_id", "") == committed.get("run_id", "")
    # (checkpoints from before run ids: the same step and both without an id is the file just packed)
    from_this_run = same_id and (bool(local.get("run_id")) or local["step"] == committed["step"])
    started_from_it = (started_from.get("until_step") == committed["step"]
                       and started_from.get("run_id", "") == committed.get("run_id", ""))
    if local["step"] >= committed["step"] and (from_this_run or started_from_it):
        return "resume"
    stale = run / f"stale-{local['step']}-{int(time.time())}"
    stale.mkdir(parents=True)
    for name in ("checkpoints", "loss.jsonl", "config.json"):
        if (run / name).exists():
            shutil.move(str(run / name), str(stale / name))
    return f"set aside {stale.name}"


def record_stint(stints: Path, stint: dict) -> None:
    """stints.jsonl, one line per stint; the running stint's line is rewritten at every pack."""
    lines = [json.loads(line) for line in stints.read_text().splitlines() if line.strip()] if stints.exists() else []
    lines = [line for line in lines if line.get("stint", line.get("started")) != stint["stint"]] + [stint]
    tmp = stints.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(line) + "\n" for line in lines))
    os.replace(tmp, stints)


def loss_windows(loss_log: Path, after_step: int, until_step: int | None = None,
                 every: int = 100) -> list[list[float]]:
    """The stint's training loss, compact enough for the committed log (the run folder is not kept):
    one [last step, samples seen, mean loss] per `every` steps in (after_step, until_step]. A model card's loss
    curve across stints and machines is drawn from these."""
    if not loss_log.exists():
        return []
    rows = []
    for line in loss_log.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut off by a hard stop
            continue
        if after_step < row.get("step", 0) <= (until_step or row["step"]) and "loss" in row:
            rows.append(row)
    windows, bucket = [], []
    for row in sorted(rows, key=lambda r: r["step"]):
        bucket.append(row)
        if bucket[-1]["step"] - after_step >= every * (len(windows) + 1):
            windows.append([bucket[-1]["step"], bucket[-1]["samples_seen"],
                            round(sum(r["loss"] for r in bucket) / len(bucket), 5)])
            bucket = []
    return windows


def run_stint(weights: Path, run: Path, data: Path, minutes: float, pack_minutes: float, nice: int | None,
              overrides: dict | None = None) -> dict:
    from .train import train

    lock = acquire_lock(run)
    priority = lower_priority(nice) if nice is not None else "unchanged"
    how = prepare_run_dir(run, weights)
    cfg = stint_config(weights, run, data, minutes, overrides or {})
    start = torch.load(weights, map_location="cpu", weights_only=True)
    stint = {"stint": uuid.uuid4().hex[:12], "started": datetime.now(UTC).isoformat(timespec="seconds"),
             "from_step": start["step"],
             "from_samples": start["samples_seen"], "until_step": start["step"], "samples_seen": start["samples_seen"],
             "samples_added": 0, "wall_s": 0.0,
             "hardware": f"{platform.node()}: {cfg.threads or torch.get_num_threads()} threads",
             "config": {k: getattr(cfg, k) for k in ("scales", "native_crop", "batch_size", "lr", "bf16")}}
    stints = weights.with_name("stints.jsonl")
    stop = {"requested": False}

    def request_stop(signum: int, _frame: object) -> None:
        stop["requested"] = True
        print(f"background: signal {signum}, stopping after this step", flush=True)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    last_pack = [time.monotonic()]
    began = time.monotonic()

    def pack(path: Path, state: dict) -> None:
        pack_weights(path, weights)
        stint.update(until_step=state["step"], samples_seen=state["samples_seen"],
                     samples_added=state["samples_seen"] - stint["from_samples"],
                     wall_s=round(time.monotonic() - began, 1), hardware=state.get("hardware", stint["hardware"]),
                     loss=loss_windows(run / "loss.jsonl", stint["from_step"], state["step"]))
        record_stint(stints, stint)
        last_pack[0] = time.monotonic()

    def on_checkpoint(path: Path, state: dict) -> None:
        if stop["requested"] or time.monotonic() - last_pack[0] >= pack_minutes * 60 or \
                (minutes > 0 and time.monotonic() - began >= minutes * 60):
            pack(path, state)

    print(f"background: {how}, {priority}, from step {start['step']} ({start['samples_seen']:,} samples)", flush=True)
    ckpt = train(cfg, should_stop=lambda: stop["requested"], on_checkpoint=on_checkpoint)
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    if state["step"] != stint["until_step"]:
        pack(ckpt, state)
    print(f"background: stint ended at step {stint['until_step']} (+{stint['samples_added']:,} samples, "
          f"{stint['wall_s'] / 60:.1f} min); packed into {weights}", flush=True)
    lock.close()  # type: ignore[attr-defined]
    return stint


def stop_stint(run: Path, timeout_s: float) -> bool:
    pid = lock_holder(run)
    if pid is None:
        print("background: no stint is running")
        return True
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if lock_holder(run) is None:
            print(f"background: stint {pid} stopped and packed")
            return True
        time.sleep(1)
    print(f"background: stint {pid} still running after {timeout_s:.0f} s", file=sys.stderr)
    return False


def commit(weights: Path, run: Path) -> None:
    """git commit the packed file and the stint log (the repository's own checkpoint, overwritten in place).
    A last stint line without its loss windows (written by an older stint) gets them from the run's log."""
    stints = weights.with_name("stints.jsonl")
    last = json.loads(stints.read_text().splitlines()[-1]) if stints.exists() else {}
    if last and not last.get("loss") and "stint" in last:
        last["loss"] = loss_windows(run / "loss.jsonl", last["from_step"], last["until_step"])
        if last["loss"]:
            record_stint(stints, last)
    message = (f"Background training: step {last.get('from_step')} → {last.get('until_step')} "
               f"(+{last.get('samples_added', 0):,} samples, {last.get('samples_seen', 0):,} in all)")
    repo = weights.parent
    subprocess.run(["git", "add", str(weights), str(stints)], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-m", message, "--", str(weights), str(stints)], cwd=repo, check=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="palette_training background", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="the committed packed checkpoint")
    p.add_argument("--run", type=Path, default=DEFAULT_RUN, help="the run folder (checkpoint, log, lock)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the photo set (train/, val/)")
    p.add_argument("--minutes", type=float, default=0.0, help="stop after this long (0: until --stop)")
    p.add_argument("--pack-minutes", type=float, default=10.0, help="pack into --weights this often")
    p.add_argument("--nice", type=int, default=10, help="the stint's autogroup nice value (-20…19)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a TrainConfig field of the stint (e.g. --set scales=64:1)")
    p.add_argument("--status", action="store_true")
    p.add_argument("--stop", action="store_true", help="end the running stint (it checkpoints and packs)")
    p.add_argument("--commit", action="store_true",
                   help="with --stop (or alone): git commit --weights and stints.jsonl")
    args = p.parse_args(argv)

    if args.status or args.stop or args.commit:
        pid = lock_holder(args.run)
        if args.status:
            print(f"background: {'running, pid ' + str(pid) if pid else 'not running'}; weights {args.weights}")
        if args.stop and not stop_stint(args.run, timeout_s=600):
            return 1
        if args.commit:
            commit(args.weights, args.run)
        return 0
    hints = typing.get_type_hints(TrainConfig)
    overrides: dict = {}
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in hints:
            p.error(f"--set {item}: no TrainConfig field {key!r}")
        if hints[key] in (bool, bool | None):
            overrides[key] = value.lower() in ("1", "true", "yes")
        else:
            overrides[key] = type(getattr(TrainConfig(), key))(value)
    try:
        run_stint(args.weights, args.run, args.data, args.minutes, args.pack_minutes, args.nice, overrides)
    except LockHeld as error:
        print(f"background: {error}", file=sys.stderr)
        return LOCKED_EXIT
    return 0
