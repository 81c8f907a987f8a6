"""The training loop, top to bottom: config → data → model → loop (EMA, checkpoints, logs, samples).

Runs on one CPU, one GPU, or many through torchrun (DDP; NCCL on GPUs, gloo on CPUs):
    torchrun --nproc_per_node 8 -m palette_training train --preset base --resolution 128 ...
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import platform
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .config import PRESETS, TASKS, TrainConfig, to_dict, unet_config_from_dict
from .cpu_share import CoreShare
from .data import PhotoSet, ScaleBuckets, TaskExamples, batches, fixed_examples
from .diffusion import TrainingSchedule, eps_loss_per_sample, noisy_target, sample_gamma
from .packed_weights import earlier_segments, load_init_weights
from .precision import autocast_context, resolve_bf16
from .sample_grid import write_sample_grid
from .unet import PaletteUNet, count_parameters

CHECKPOINT_NAME = "last.pt"


@dataclass
class Dist:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_pref: str) -> Dist:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK; a plain `python -m` run is a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_pref == "cuda" or (device_pref == "auto" and torch.cuda.is_available())
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Dist(rank, world, local_rank, device)


def step_seed(seed: int, step: int, rank: int) -> int:
    """All torch randomness of a step (γ, ε, dropout) derives from this, so resume is bit-exact."""
    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1)[0])


def learning_rate(cfg: TrainConfig, step: int, warmup_start: int = 0) -> float:
    """Linear warm-up, then constant (as the paper). With `lr_decay_start` > 0 the rate then follows a
    half cosine from `lr` at that step down to `lr_final` at `steps`: a short run (a CPU, a lent GPU)
    ends far from convergence, and annealing its last stretch buys more than a constant rate does.
    A run seeded by --init-from starts a fresh AdamW at a later step: its warm-up counts from there."""
    warm = cfg.lr * min(1.0, (step - warmup_start + 1) / max(1, cfg.warmup_steps))
    if cfg.lr_decay_start <= 0 or step < cfg.lr_decay_start or cfg.steps <= cfg.lr_decay_start:
        return warm
    progress = min(1.0, (step - cfg.lr_decay_start) / (cfg.steps - cfg.lr_decay_start))
    return cfg.lr_final + (warm - cfg.lr_final) * 0.5 * (1.0 + math.cos(math.pi * progress))


def ema_decay(cfg: TrainConfig, step: int) -> float:
    """0.9999 averages over ~10k steps; early on that would keep the EMA at its random init, so the
    decay ramps up as (1 + step) / (10 + step) until it reaches the configured value."""
    return min(cfg.ema_decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach().to(e.dtype), 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers(), strict=True):
        e.copy_(b)


def save_checkpoint(path: Path, state: dict) -> None:
    """Write to a temporary file and rename, so a killed run never leaves a torn checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    """Onto the CPU whatever device saved it (a GPU run's checkpoint resumes here), and weights only:
    checkpoints are shared between people, and a full unpickle would run any code a file carries."""
    return torch.load(path, map_location="cpu", weights_only=True)


def build_model(cfg: TrainConfig, checkpoint: dict | None, resuming: bool = False) -> PaletteUNet:
    """The preset's net for a new run, the checkpoint's (or --init-from file's) otherwise; `--prediction`
    switches what the last layer predicts for a new run (the weights are the same shapes either way:
    starting a v-run from ε weights keeps every learned feature and re-learns the head's meaning)."""
    unet_cfg = unet_config_from_dict(checkpoint["unet"]) if checkpoint else PRESETS[cfg.preset]
    if cfg.prediction and cfg.prediction != unet_cfg.prediction:
        if cfg.prediction not in ("eps", "v"):
            raise ValueError(f"--prediction must be eps or v, not {cfg.prediction!r}")
        if resuming:
            raise ValueError(f"this run resumes a {unet_cfg.prediction}-prediction checkpoint; --prediction "
                             f"{cfg.prediction} only applies to a new run (use --init-from in a new --out)")
        unet_cfg = dataclasses.replace(unet_cfg, prediction=cfg.prediction)
    return PaletteUNet(unet_cfg)


def optimise(net: torch.nn.Module, model: PaletteUNet, ema: torch.nn.Module, optimizer: torch.optim.Optimizer,
             cond: torch.Tensor, y_t: torch.Tensor, gamma: torch.Tensor, noise: torch.Tensor, hole: torch.Tensor,
             cfg: TrainConfig, step: int, warmup_start: int, autocast) -> torch.Tensor:
    """One optimisation step on a noised batch: forward under autocast, the loss in fp32, backward,
    clipping, AdamW at this step's rate, EMA. Returns the per-sample losses (train-bench times this)."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(cfg, step, warmup_start)
    with autocast:
        eps_pred = net(cond, y_t, gamma)
    per_sample = eps_loss_per_sample(eps_pred, noise, hole, cfg.loss, gamma if model.cfg.prediction == "v" else None)
    optimizer.zero_grad(set_to_none=True)
    per_sample.mean().backward()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    update_ema(ema, model, ema_decay(cfg, step))
    return per_sample


def train(cfg: TrainConfig, should_stop: Callable[[], bool] | None = None,
          on_checkpoint: Callable[[Path, dict], None] | None = None) -> Path:
    """Train until cfg.steps, cfg.max_minutes or should_stop() (checked after every step: a signal
    handler sets it); every checkpoint written is handed to on_checkpoint (the background run packs it)."""
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    d = setup_distributed(cfg.device)
    out = Path(cfg.out)
    ckpt_path = out / "checkpoints" / CHECKPOINT_NAME
    checkpoint = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    # --init-from seeds a new run only: a checkpoint in --out is this run's own and always wins (resume).
    init = load_init_weights(Path(cfg.init_from), cfg.preset, cfg.steps) if cfg.init_from and not checkpoint else None
    use_cuda = d.device.type == "cuda"

    # ---- data
    photos = PhotoSet(cfg.data, cfg.max_short_side)
    dataset = TaskExamples(photos, cfg.resolution, cfg.task_mix(), cfg.min_crop_scale, cfg.seed, cfg.native_crop)
    buckets = ScaleBuckets(cfg.resolution, cfg.batch_size, cfg.scales, cfg.seed)
    grid_examples = fixed_examples(PhotoSet(cfg.val_data, cfg.max_short_side) if cfg.val_data else photos,
                                   cfg.resolution, per_task=4)

    # ---- model, EMA, optimiser (the same seed gives the same initial weights on every rank)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, checkpoint or init, resuming=checkpoint is not None).to(d.device)
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, samples_seen, wall_s, warmup_start, history = 0, 0, 0.0, 0, []
    # Names this run's lineage: a packed file carries it, so the background run knows whether a run
    # folder's checkpoint continues the committed file or is some other run's.
    run_id = checkpoint.get("run_id", "") if checkpoint else ""
    run_id = run_id or uuid.uuid4().hex
    if checkpoint:
        model.load_state_dict(checkpoint["model"])
        ema.load_state_dict(checkpoint["ema"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        step, samples_seen, wall_s = checkpoint["step"], checkpoint["samples_seen"], checkpoint["wall_s"]
        warmup_start, history = checkpoint.get("warmup_start", 0), checkpoint.get("history", [])
    elif init:
        # The raw weights where the file has them (else the EMA), the EMA from the EMA; the counters go on
        # so the totals add up. AdamW's moments are not in the file: it re-warms from this step.
        model.load_state_dict(init.get("model", init["ema"]))
        ema.load_state_dict(init["ema"])
        step, samples_seen, wall_s = init["step"], init["samples_seen"], init["wall_s"]
        warmup_start, history = step, earlier_segments(init)
    if use_cuda and cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    net: torch.nn.Module = model
    if d.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[d.device.index] if use_cuda else None)
    if cfg.compile:
        net = torch.compile(net)
    bf16, precision_line = resolve_bf16(cfg.bf16, d.device)
    autocast = autocast_context(d.device, bf16)

    schedule = TrainingSchedule()
    schedule_gammas = torch.from_numpy(schedule.gammas())
    if d.is_main:
        print(f"palette train: {count_parameters(model):,} parameters, {len(photos)} photos, "
              f"world {d.world} on {d.device}, {'resuming' if checkpoint else 'starting from ' + cfg.init_from} "
              f"at step {step}" if step else
              f"palette train: {count_parameters(model):,} parameters, {len(photos)} photos, "
              f"world {d.world} on {d.device}", flush=True)
        print(precision_line, flush=True)
        (out / "config.json").parent.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps({"train": to_dict(cfg), "unet": to_dict(model.cfg)}, indent=2))

    def checkpoint_state() -> dict:
        return {"model": model.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                "step": step, "samples_seen": samples_seen, "wall_s": wall_s, "unet": to_dict(model.cfg),
                "train": to_dict(cfg), "schedule": schedule.describe(), "world": d.world,
                "hardware": describe_hardware(d.device), "warmup_start": warmup_start, "history": history,
                "run_id": run_id, "precision": "bf16 autocast" if bf16 else "fp32"}

    # ---- loop
    data_iter = batches(dataset, step, buckets, d.rank, cfg.num_workers)
    log = (out / "loss.jsonl").open("a") if d.is_main else None
    started = time.monotonic()
    # Per-sample losses stay on the device until a log line needs them: a .item() every step would
    # synchronise the GPU on every step.
    window: list[tuple[torch.Tensor, torch.Tensor]] = []
    core_share = CoreShare() if cfg.share_cores and not use_cuda and cfg.threads == 0 else None
    last_share = time.monotonic()
    model.train()
    while step < cfg.steps:
        if core_share and step % 10 == 0:
            now = time.monotonic()
            core_share.update(now - last_share)
            last_share = now
        batch = next(data_iter)
        torch.manual_seed(step_seed(cfg.seed, step, d.rank))
        y0 = batch["y"].to(d.device, non_blocking=True)
        cond = batch["cond"].to(d.device, non_blocking=True)
        hole = batch["hole"].to(d.device, non_blocking=True)
        gamma = sample_gamma(schedule_gammas, y0.shape[0]).to(d.device)
        noise = torch.randn(y0.shape).to(d.device)
        y_t = noisy_target(y0, gamma, noise, known=1 - hole)
        if use_cuda and cfg.channels_last:
            cond = cond.contiguous(memory_format=torch.channels_last)
            y_t = y_t.contiguous(memory_format=torch.channels_last)

        per_sample = optimise(net, model, ema, optimizer, cond, y_t, gamma, noise, hole, cfg, step, warmup_start,
                              autocast)

        step += 1
        samples_seen += y0.shape[0] * d.world
        window.append((per_sample.detach(), batch["task"]))
        elapsed = wall_s + time.monotonic() - started
        out_of_time = (cfg.max_minutes > 0 and (time.monotonic() - started) > cfg.max_minutes * 60) or \
            (should_stop is not None and should_stop())

        if d.is_main and log and (step % cfg.log_every == 0 or step == cfg.steps or out_of_time):
            record = summarise_window(window, step, samples_seen, elapsed, learning_rate(cfg, step - 1, warmup_start))
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(f"step {step} loss {record['loss']:.4f} samples {samples_seen} {elapsed:.0f}s", flush=True)
            window.clear()
        if d.is_main and (step % cfg.sample_every == 0 or step == cfg.steps or out_of_time):
            write_sample_grid(ema, grid_examples, schedule, cfg.sample_steps, out / "samples" / f"step-{step:07d}.png",
                              d.device)
        if step % cfg.ckpt_every == 0 or step == cfg.steps or out_of_time:
            wall_s_now = elapsed
            if d.is_main:
                state = checkpoint_state()
                state["wall_s"] = wall_s_now
                save_checkpoint(ckpt_path, state)
                if on_checkpoint:
                    on_checkpoint(ckpt_path, state)
        if out_of_time:
            break
    if log:
        log.close()
    if d.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return ckpt_path


def describe_hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"NVIDIA {torch.cuda.get_device_name(device)} (CUDA)"
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu} CPU, {torch.get_num_threads()} threads"


def summarise_window(window: list[tuple[torch.Tensor, torch.Tensor]], step: int, samples_seen: int,
                     elapsed: float, lr: float) -> dict:
    """Mean loss over the logging window, and per task (so a task that stops learning shows up).

    Every step has the same batch size, so the mean over samples is the mean of the step losses.
    """
    per_sample = torch.cat([w[0] for w in window]).float().cpu().numpy()
    tasks = torch.cat([w[1] for w in window]).numpy()
    per_task = {name: float(per_sample[tasks == i].mean()) for i, name in enumerate(TASKS) if (tasks == i).any()}
    return {"step": step, "loss": float(per_sample.mean()), "loss_per_task": per_task,
            "lr": lr, "samples_seen": samples_seen, "wall_s": round(elapsed, 2)}
