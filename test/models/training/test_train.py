import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import palette_training
from palette_training import train as train_module
from palette_training.config import PRESETS, TASKS, to_dict
from palette_training.diffusion import TrainingSchedule
from palette_training.packed_weights import pack_weights
from palette_training.train import build_model, load_checkpoint, save_checkpoint, setup_distributed, train

from training_helpers import synthetic_photos, tiny_config


def test_loss_clearly_decreases_when_overfitting_a_few_images(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 3)
    cfg = tiny_config(photos, tmp_path / "run", resolution=32, batch_size=8, steps=60, lr=2e-3, warmup_steps=5)
    train(cfg)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "run" / "loss.jsonl").read_text().splitlines()]
    assert len(losses) == 60
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    assert last < 0.6 * first, (first, last)


def _logged_steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "loss.jsonl").read_text().splitlines()]


def _assert_same_state(straight: dict, resumed: dict) -> None:
    assert resumed["step"] == straight["step"]
    for key in ("model", "ema"):
        for name, tensor in straight[key].items():
            assert torch.equal(tensor, resumed[key][name]), f"{key}.{name} differs after resume"
    opt_a, opt_b = straight["optimizer"]["state"], resumed["optimizer"]["state"]
    for idx in opt_a:
        for k in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(opt_a[idx][k], opt_b[idx][k])


def test_resume_is_bit_exact(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 4)
    straight = load_checkpoint(train(tiny_config(photos, tmp_path / "a", steps=6)))
    train(tiny_config(photos, tmp_path / "b", steps=3))  # stops with a checkpoint at step 3
    assert _logged_steps(tmp_path / "b") == [1, 2, 3]
    resumed = load_checkpoint(train(tiny_config(photos, tmp_path / "b", steps=6)))
    # The second call continued from step 3 (it appended only 4–6), it did not start over.
    assert _logged_steps(tmp_path / "b") == [1, 2, 3, 4, 5, 6]
    assert resumed["step"] == straight["step"] == 6
    _assert_same_state(straight, resumed)


class _Killed(Exception):
    pass


def test_resume_from_a_mid_run_checkpoint_with_a_worker_is_bit_exact(tmp_path: Path) -> None:
    """Killed at step 3 with the last checkpoint at step 2 (ckpt_every=2), then resumed with a DataLoader
    worker: the run redoes step 3 and ends where an uninterrupted in-process run does."""
    photos = synthetic_photos(tmp_path / "photos", 4)
    straight = load_checkpoint(train(tiny_config(photos, tmp_path / "a", steps=6, ckpt_every=2)))
    calls = []

    def kill_after_step_3() -> bool:
        calls.append(1)
        if len(calls) == 3:
            raise _Killed
        return False

    with pytest.raises(_Killed):
        train(tiny_config(photos, tmp_path / "b", steps=6, ckpt_every=2), should_stop=kill_after_step_3)
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["step"] == 2
    resumed = load_checkpoint(train(tiny_config(photos, tmp_path / "b", steps=6, ckpt_every=2, num_workers=1)))
    assert _logged_steps(tmp_path / "b") == [1, 2, 3, 4, 5, 6]  # killed before logging 3; redone from 2
    _assert_same_state(straight, resumed)


def test_max_minutes_stops_the_run_with_a_checkpoint(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    ckpt = load_checkpoint(train(tiny_config(photos, tmp_path / "run", steps=1000, max_minutes=1e-9)))
    assert ckpt["step"] == 1 and _logged_steps(tmp_path / "run") == [1]


def _clock_of_ten_second_steps(monkeypatch: pytest.MonkeyPatch, step_s: float = 10.0) -> None:
    """The clock reads 10,000 s at the start and only moves while a step trains, step_s a step."""
    now = [10_000.0]
    monkeypatch.setattr(train_module, "time", type("Clock", (), {"monotonic": staticmethod(lambda: now[0])}))
    real_optimise = train_module.optimise

    def timed_step(*args, **kwargs):
        now[0] += step_s
        return real_optimise(*args, **kwargs)
    monkeypatch.setattr(train_module, "optimise", timed_step)


@pytest.mark.parametrize("max_minutes, last_step", [(0.5, 4), (0.66, 4), (0.7, 5)])
def test_max_minutes_counts_the_time_since_the_run_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          max_minutes: float, last_step: int) -> None:
    # Steps of 10 s: a 30 s limit is reached at step 3 and passed at step 4 (not at step 1, as the
    # absolute clock would be); 39.6 s is passed at step 4, 42 s at step 5. The stop logs, draws and
    # saves its last step whatever the intervals.
    _clock_of_ten_second_steps(monkeypatch)
    photos = synthetic_photos(tmp_path / "photos", 2)
    ckpt = load_checkpoint(train(tiny_config(photos, tmp_path / "run", steps=1000, max_minutes=max_minutes,
                                             log_every=3, sample_every=3)))
    assert ckpt["step"] == last_step and ckpt["wall_s"] == 10.0 * last_step
    assert _logged_steps(tmp_path / "run") == [3, last_step]
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == \
        ["step-0000003.png", f"step-{last_step:07d}.png"]


def test_the_loss_log_and_the_sample_grids_follow_their_intervals_and_the_last_step(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _clock_of_ten_second_steps(monkeypatch, step_s=10.123456)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []  # each step's per-sample losses and task ids
    real_optimise, real_batches = train_module.optimise, train_module.batches

    def spy_batches(*args, **kwargs):
        for batch in real_batches(*args, **kwargs):
            seen.append((torch.empty(0), batch["task"].clone()))
            yield batch

    def spy_optimise(*args, **kwargs):
        per_sample = real_optimise(*args, **kwargs)
        seen[-1] = (per_sample.detach().float().clone(), seen[-1][1])
        return per_sample
    monkeypatch.setattr(train_module, "batches", spy_batches)
    monkeypatch.setattr(train_module, "optimise", spy_optimise)
    photos = synthetic_photos(tmp_path / "photos", 2)
    # Two of the four tasks, so the others must not appear in the per-task losses; a long warm-up, so
    # each step has its own learning rate.
    cfg = tiny_config(photos, tmp_path / "run", steps=5, log_every=2, sample_every=2, warmup_steps=10,
                      mix_uncrop=0.0, mix_jpeg=0.0)
    train(cfg)
    records = [json.loads(line) for line in (tmp_path / "run" / "loss.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 5]
    for record, window in zip(records, [seen[0:2], seen[2:4], seen[4:5]], strict=True):
        step = record["step"]
        losses = torch.cat([w[0] for w in window]).numpy()
        tasks = torch.cat([w[1] for w in window]).numpy()
        expected_per_task = {name: float(losses[tasks == i].mean()) for i, name in enumerate(TASKS)
                             if (tasks == i).any()}
        assert set(record) == {"step", "loss", "loss_per_task", "lr", "samples_seen", "wall_s"}
        assert set(expected_per_task) <= {"inpaint", "colorize"}
        assert record["loss_per_task"] == pytest.approx(expected_per_task)
        assert record["loss"] == pytest.approx(float(losses.mean()))
        assert record["lr"] == pytest.approx(1e-4 * step)  # the rate of the step just taken (step - 1)
        assert record["samples_seen"] == 4 * step
        assert record["wall_s"] == round(10.123456 * step, 2)
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert [" ".join(line.split()[:2] + line.split()[4:]) for line in printed] == \
        ["step 2 samples 8 20s", "step 4 samples 16 40s", "step 5 samples 20 51s"]
    assert [float(line.split()[3]) for line in printed] == pytest.approx([r["loss"] for r in records], abs=1e-4)
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == \
        ["step-0000002.png", "step-0000004.png", "step-0000005.png"]


def _recording_final_weights(into: dict, real_update):
    """An update_ema that also keeps the raw weights after each step (the last call: the final ones)."""
    def spy(ema, model, decay):
        real_update(ema, model, decay)
        into["params"] = torch.cat([p.detach().flatten() for p in model.parameters()])
    return spy


def _ddp_worker(rank: int, world: int, store: str, photos: str, out: str, results: str) -> None:
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from palette_training import train as train_module

    # The process group meets through a file, not a TCP port: a free port picked by the test could be
    # taken by another process before rank 0 listens on it (seen once on a busy machine). train() finds
    # the group initialised and keeps it.
    train_module.dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)

    captured = {}
    real_update, real_batches = train_module.update_ema, train_module.batches

    def spy_batches(*args, **kwargs):  # keep every rank's first batch
        it = real_batches(*args, **kwargs)
        first = next(it)
        captured["first_y"] = first["y"].clone()
        yield first
        yield from it

    train_module.update_ema = _recording_final_weights(captured, real_update)  # every rank's final weights
    train_module.batches = spy_batches
    train_module.train(tiny_config(Path(photos), Path(out), steps=2))
    # train() leaves no process group behind (a next stint in this process would otherwise find a stale one)
    assert not train_module.dist.is_initialized(), f"rank {rank}: the process group outlived train()"
    torch.save(captured["params"], Path(results) / f"rank{rank}.pt")
    torch.save(captured["first_y"], Path(results) / f"rank{rank}-y.pt")


def test_ddp_step_with_two_cpu_processes_on_gloo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = synthetic_photos(tmp_path / "photos", 4)
    store = tmp_path / "process-group-store"
    mp.spawn(_ddp_worker, args=(2, str(store), str(photos), str(tmp_path / "run"), str(tmp_path)), nprocs=2, join=True)
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert ckpt["step"] == 2 and ckpt["samples_seen"] == 2 * 4 * 2
    # Each rank saw different examples; DDP's gradient all-reduce keeps their weights identical.
    y0, y1 = torch.load(tmp_path / "rank0-y.pt"), torch.load(tmp_path / "rank1-y.pt")
    assert y0.shape == y1.shape and not torch.equal(y0, y1), "both ranks trained on the same batch"
    rank0 = torch.load(tmp_path / "rank0.pt")
    assert torch.equal(rank0, torch.load(tmp_path / "rank1.pt"))
    # Rank 0 alone (one process, the same seed and the same batches) ends elsewhere: the all-reduce
    # really averaged rank 1's gradients in.
    single: dict[str, torch.Tensor] = {}
    monkeypatch.setattr(train_module, "update_ema", _recording_final_weights(single, train_module.update_ema))
    train(tiny_config(photos, tmp_path / "single", steps=2))
    assert single["params"].shape == rank0.shape and not torch.equal(single["params"], rank0)


def test_cli_train_config_tiny_then_export(tmp_path: Path) -> None:
    """The documented commands: `train --config tiny` and `export` through `python -m palette_training`."""
    photos = synthetic_photos(tmp_path / "photos", 3)
    run = tmp_path / "run"
    common = [sys.executable, "-m", "palette_training"]
    # the folder holding the imported package (the repository's, or mutmut's mutated copy)
    cwd = Path(palette_training.__file__).resolve().parents[1]
    subprocess.run([*common, "train", "--config", "tiny", "--data", str(photos), "--out", str(run),
                    "--resolution", "16", "--batch-size", "2", "--steps", "2", "--device", "cpu",
                    "--sample-steps", "2"],
                   cwd=cwd, check=True, capture_output=True, timeout=300)
    assert (run / "checkpoints" / "last.pt").exists() and (run / "loss.jsonl").exists()
    assert (run / "samples" / "step-0000002.png").exists()  # the sample grid of the final step
    out = subprocess.run([*common, "export", "--checkpoint", str(run / "checkpoints" / "last.pt"),
                          "--out", str(tmp_path / "model"), "--name", "cli-tiny"],
                         cwd=cwd, check=True, capture_output=True, text=True, timeout=300)
    assert "max relative error" in out.stdout
    assert json.loads((tmp_path / "model" / "model.json").read_text())["training"]["steps"] == 2


def test_loss_plot_draws_the_run(tmp_path: Path) -> None:
    from palette_training.loss_plot import plot_loss

    log = tmp_path / "loss.jsonl"
    log.write_text("\n".join(json.dumps({"step": i, "loss": 1 / i, "samples_seen": 16 * i,
                                         "loss_per_task": {"inpaint": 1 / i, "jpeg": 2 / i}}) for i in range(1, 30)))
    plot_loss(log, tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_loss_plot_keeps_the_steps_of_a_restarted_run_once_and_draws_marks(tmp_path: Path) -> None:
    from palette_training.loss_plot import plot_loss, read_records

    def line(step: int, loss: float) -> str:
        return json.dumps({"step": step, "loss": loss, "samples_seen": 16 * step, "loss_per_task": {}})

    log = tmp_path / "loss.jsonl"
    # steps 20 and 40 were logged, the run was stopped and restarted from its step-20 checkpoint
    log.write_text("\n".join([line(20, 0.5), line(40, 0.4), line(40, 0.3), line(60, 0.2)]))
    assert [(r["step"], r["loss"]) for r in read_records(log)] == [(20, 0.5), (40, 0.3), (60, 0.2)]
    log.write_text("\n".join([line(20, 0.5), line(40, 0.4), line(60, 0.35), line(40, 0.3)]))
    assert [(r["step"], r["loss"]) for r in read_records(log)] == [(20, 0.5), (40, 0.3)]
    plot_loss(log, tmp_path / "loss.png", marks={40: "v-prediction from here"})
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stint_plot_draws_only_the_stints_that_logged_their_loss(tmp_path: Path) -> None:
    from palette_training.loss_plot import plot_stints

    log = tmp_path / "stints.jsonl"
    lines = [{"from_step": 0, "until_step": 100, "from_samples": 0},  # an old line without loss windows
             {"from_step": 100, "until_step": 300, "from_samples": 1600, "hardware": "cpu",
              "loss": [[200, 3200, 0.07], [300, 4800, 0.06]]}]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert plot_stints(log, tmp_path / "stints.png") == 1
    assert (tmp_path / "stints.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log.write_text(json.dumps(lines[0]) + "\n")
    with pytest.raises(ValueError):
        plot_stints(log, tmp_path / "none.png")


def test_setup_distributed_reads_torchruns_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchrun's WORLD_SIZE, RANK and LOCAL_RANK; no variables: a world of one, on the CPU."""
    monkeypatch.setattr(train_module.dist, "is_initialized", lambda: True)
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    alone = setup_distributed("cpu")
    cpu = torch.device("cpu")
    assert (alone.rank, alone.world, alone.local_rank, alone.device, alone.is_main) == (0, 1, 0, cpu, True)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    d = setup_distributed("cpu")
    assert (d.rank, d.world, d.local_rank, d.device, d.is_main) == (3, 4, 1, cpu, False)


@pytest.mark.parametrize("pref, available, device, backend", [
    ("cuda", False, "cuda:1", "nccl"), ("auto", True, "cuda:1", "nccl"), ("auto", False, "cpu", "gloo"),
    ("cpu", True, "cpu", "gloo"),
])
def test_setup_distributed_picks_the_device_and_its_process_group_backend(
        monkeypatch: pytest.MonkeyPatch, pref: str, available: bool, device: str, backend: str) -> None:
    """--device cuda, or auto with a GPU: the local rank's GPU and NCCL; otherwise the CPU and gloo."""
    chosen, groups = [], []
    monkeypatch.setattr(train_module.torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(train_module.torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(train_module.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(train_module.dist, "init_process_group", lambda backend: groups.append(backend))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    d = setup_distributed(pref)
    assert d.device == torch.device(device) and groups == [backend]
    assert chosen == ([torch.device(device)] if device != "cpu" else [])


def test_load_checkpoint_maps_a_gpu_runs_tensors_to_the_cpu(tmp_path: Path) -> None:
    """A checkpoint saved on a GPU (storages tagged cuda:0) resumes on a machine without one."""
    import torch.serialization as serialization

    def tag_as_gpu(storage):
        return "cuda:0" if storage.device.type == "cpu" else None

    serialization.register_package(1, tag_as_gpu, lambda obj, location: None)
    try:
        torch.save({"step": 7, "ema": {"w": torch.arange(3.0)}}, tmp_path / "gpu.pt")
    finally:
        serialization._package_registry[:] = [p for p in serialization._package_registry if p[1] is not tag_as_gpu]
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(tmp_path / "gpu.pt", weights_only=True)  # what a load without map_location does here
    loaded = load_checkpoint(tmp_path / "gpu.pt")
    assert loaded["step"] == 7 and torch.equal(loaded["ema"]["w"], torch.arange(3.0))


class _RunsCodeWhenUnpickled:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_load_checkpoint_refuses_a_file_that_would_run_code(tmp_path: Path) -> None:
    """Weights only: a shared checkpoint cannot execute code when it is loaded (a full unpickle would)."""
    marker = tmp_path / "ran"
    torch.save({"step": 1, "payload": _RunsCodeWhenUnpickled(marker)}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()
    torch.load(tmp_path / "evil.pt", weights_only=False)  # the file does what it says: a full unpickle runs it
    assert marker.exists()


def test_build_model_takes_the_checkpoints_network_over_the_preset(tmp_path: Path) -> None:
    """A resumed or --init-from run keeps the file's architecture, whatever --config says."""
    cfg = tiny_config(tmp_path, tmp_path / "run", preset="small")
    tiny = to_dict(PRESETS["tiny"])
    assert build_model(cfg, {"unet": tiny}).cfg == PRESETS["tiny"]
    assert build_model(cfg, None).cfg == PRESETS["small"]


def test_build_model_switches_the_prediction_of_a_new_run_only(tmp_path: Path) -> None:
    """--prediction v on ε weights: a new run predicts v; resuming one cannot switch; anything but eps/v is refused."""
    eps_file = {"unet": {**to_dict(PRESETS["tiny"]), "prediction": "eps"}}
    assert build_model(tiny_config(tmp_path, tmp_path, prediction="v"), eps_file).cfg.prediction == "v"
    assert build_model(tiny_config(tmp_path, tmp_path, prediction="eps"), eps_file).cfg.prediction == "eps"
    assert build_model(tiny_config(tmp_path, tmp_path), eps_file).cfg.prediction == "eps"
    with pytest.raises(ValueError, match="only applies to a new run"):
        build_model(tiny_config(tmp_path, tmp_path, prediction="v"), eps_file, resuming=True)
    with pytest.raises(ValueError, match="must be eps or v"):
        build_model(tiny_config(tmp_path, tmp_path, prediction="x0"), eps_file)


def test_save_checkpoint_creates_missing_folders_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "run" / "checkpoints" / "last.pt"
    save_checkpoint(path, {"step": 3})
    assert load_checkpoint(path) == {"step": 3}
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]


def test_train_runs_on_the_configured_device_and_thread_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    real_setup = train_module.setup_distributed
    monkeypatch.setattr(train_module, "setup_distributed", lambda pref: asked.append(pref) or real_setup(pref))
    photos = synthetic_photos(tmp_path / "photos", 2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        train(tiny_config(photos, tmp_path / "one", steps=1, threads=1))
        assert torch.get_num_threads() == 1
        train(tiny_config(photos, tmp_path / "default", steps=1, threads=0))  # 0 leaves torch's setting alone
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert asked == ["cpu", "cpu"]


def test_core_sharing_updates_every_ten_steps_on_the_cpu_when_no_thread_count_is_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    updates: list[float] = []

    class FakeShare:  # records what the loop asks of train_module.CoreShare
        def update(self, seconds: float) -> int:
            updates.append(seconds)
            return 1

    monkeypatch.setattr(train_module, "CoreShare", FakeShare)
    photos = synthetic_photos(tmp_path / "photos", 2)
    train(tiny_config(photos, tmp_path / "shared", steps=11, share_cores=True, threads=0))
    assert len(updates) == 2 and all(0 <= s < 60 for s in updates)  # at steps 0 and 10: seconds since the last
    updates.clear()
    train(tiny_config(photos, tmp_path / "fixed", steps=11, share_cores=True, threads=1))
    train(tiny_config(photos, tmp_path / "off", steps=11, share_cores=False, threads=0))
    assert updates == []


def test_train_builds_its_data_and_sample_grid_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from palette_training import data

    seen: dict[str, list] = {"photos": [], "examples": [], "buckets": [], "grid": []}

    class PhotoSet(data.PhotoSet):
        def __init__(self, root, max_short_side=384):
            seen["photos"].append((Path(root).name, max_short_side))
            super().__init__(root, max_short_side)

    class TaskExamples(data.TaskExamples):
        def __init__(self, photos, resolution, task_mix, min_crop_scale, seed, native_crop=0.0):
            seen["examples"].append((task_mix, min_crop_scale, seed, native_crop))
            super().__init__(photos, resolution, task_mix, min_crop_scale, seed, native_crop)

    class ScaleBuckets(data.ScaleBuckets):
        def __init__(self, resolution, batch_size, spec="", seed=0):
            seen["buckets"].append((resolution, batch_size, spec, seed))
            super().__init__(resolution, batch_size, spec, seed)

    monkeypatch.setattr(train_module, "PhotoSet", PhotoSet)
    monkeypatch.setattr(train_module, "TaskExamples", TaskExamples)
    monkeypatch.setattr(train_module, "ScaleBuckets", ScaleBuckets)
    monkeypatch.setattr(train_module, "write_sample_grid",
                        lambda model, examples, *args, **kwargs: seen["grid"].append(examples))
    photos, val = synthetic_photos(tmp_path / "photos", 2), synthetic_photos(tmp_path / "val", 2, seed=1)
    cfg = tiny_config(photos, tmp_path / "run", steps=1, sample_every=1, max_short_side=40, native_crop=0.25,
                      min_crop_scale=0.5, seed=11, scales="16:1", val_data=str(val))
    train(cfg)
    assert seen["photos"] == [("photos", 40), ("val", 40)]
    assert seen["examples"] == [(cfg.task_mix(), 0.5, 11, 0.25)]
    assert seen["buckets"] == [(16, 4, "16:1", 11)]
    grid = seen["grid"][0]
    assert len(seen["grid"]) == 1 and len(grid) == 4 * 4  # four examples of each of the four tasks
    assert all(example["y"].shape[-1] == 16 for example in grid)
    # the grid's examples come from the validation photos when there are some
    seen["grid"].clear()
    train(tiny_config(photos, tmp_path / "no-val", steps=1, sample_every=1, max_short_side=40))
    assert len(seen["grid"][0]) == 16 and seen["photos"][-1] == ("photos", 40)
    assert not any(np.array_equal(a["y"], b["y"]) for a, b in zip(grid, seen["grid"][0], strict=True))


def test_describe_hardware_names_the_gpu_or_the_cpus_model_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: asked.append(device) or "H100 80GB HBM3")
    assert train_module.describe_hardware(torch.device("cuda", 0)) == "NVIDIA H100 80GB HBM3 (CUDA)"
    assert asked == [torch.device("cuda", 0)]

    cpuinfo = "processor\t: 0\nvendor_id\t: Vendor\nmodel name\t: Test CPU 9000 @ 3.00GHz: v2\nflags\t: avx\n"
    real_read_text = Path.read_text
    proc_missing = [False]

    def read_text(self: Path, *args, **kwargs) -> str:
        if str(self) == "/proc/cpuinfo":
            if proc_missing[0]:
                raise FileNotFoundError(self)
            return cpuinfo
        return real_read_text(self, *args, **kwargs)
    monkeypatch.setattr(Path, "read_text", read_text)
    monkeypatch.setattr(train_module.platform, "processor", lambda: "Fancy Processor")
    monkeypatch.setattr(train_module.platform, "machine", lambda: "riscv64")
    threads = torch.get_num_threads()
    assert train_module.describe_hardware(torch.device("cpu")) == f"Test CPU 9000 @ 3.00GHz: v2 CPU, {threads} threads"
    cpuinfo = "processor\t: 0\n"  # no model name (some ARM kernels): the platform's name
    assert train_module.describe_hardware(torch.device("cpu")) == f"Fancy Processor CPU, {threads} threads"
    proc_missing[0] = True  # no /proc (macOS): the platform's name, else its machine type
    assert train_module.describe_hardware(torch.device("cpu")) == f"Fancy Processor CPU, {threads} threads"
    monkeypatch.setattr(train_module.platform, "processor", lambda: "")
    assert train_module.describe_hardware(torch.device("cpu")) == f"riscv64 CPU, {threads} threads"


def test_resume_keeps_the_checkpoints_network_and_refuses_another_prediction(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    train(tiny_config(photos, tmp_path / "run", steps=2, prediction="v"))
    ckpt = load_checkpoint(train(tiny_config(photos, tmp_path / "run", steps=3)))  # resumes without the flag
    assert ckpt["step"] == 3 and ckpt["unet"]["prediction"] == "v"
    with pytest.raises(ValueError, match="resumes a v-prediction checkpoint"):
        train(tiny_config(photos, tmp_path / "run", steps=4, prediction="eps"))


def test_a_new_run_counts_from_zero_and_a_resumed_one_keeps_its_counts_and_run_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(10**7, 10**8))  # 1 ms a reading from 10,000 s: the wall time no longer depends on load
    clock = type("Clock", (), {"monotonic": staticmethod(lambda: next(ticks) / 1000)})
    monkeypatch.setattr(train_module, "time", clock)
    photos = synthetic_photos(tmp_path / "photos", 2)
    first = load_checkpoint(train(tiny_config(photos, tmp_path / "run", steps=2, weight_decay=0.25)))
    assert (first["step"], first["samples_seen"]) == (2, 8) and 0 < first["wall_s"] < 0.1
    assert first["optimizer"]["param_groups"][0]["weight_decay"] == 0.25
    assert len(first["run_id"]) == 32
    resumed = load_checkpoint(train(tiny_config(photos, tmp_path / "run", steps=3, weight_decay=0.25)))
    assert (resumed["step"], resumed["samples_seen"]) == (3, 12) and first["wall_s"] < resumed["wall_s"] < 0.2
    assert resumed["run_id"] == first["run_id"]
    other = load_checkpoint(train(tiny_config(photos, tmp_path / "other", steps=1)))
    assert len(other["run_id"]) == 32 and other["run_id"] != first["run_id"]


def test_a_checkpoint_written_before_run_ids_resumes_with_a_new_id_no_warmup_start_and_no_history(
        tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    path = train(tiny_config(photos, tmp_path / "run", steps=2))
    old = load_checkpoint(path)
    for key in ("run_id", "warmup_start", "history"):
        del old[key]
    torch.save(old, path)
    resumed = load_checkpoint(train(tiny_config(photos, tmp_path / "run", steps=3)))
    assert resumed["step"] == 3 and resumed["warmup_start"] == 0 and resumed["history"] == []
    assert len(resumed["run_id"]) == 32 and int(resumed["run_id"], 16) >= 0


def test_compile_wraps_the_network_when_asked_and_the_cpu_keeps_contiguous_weights(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[torch.nn.Module] = []
    monkeypatch.setattr(torch, "compile", lambda net: compiled.append(net) or net)  # inductor takes minutes here
    photos = synthetic_photos(tmp_path / "photos", 2)
    ckpt = load_checkpoint(train(tiny_config(photos, tmp_path / "run", steps=1, compile=True, channels_last=True)))
    assert len(compiled) == 1 and isinstance(compiled[0], torch.nn.Module) and ckpt["step"] == 1
    # channels_last is for CUDA only (slower on this CPU): the weights stay in the default layout
    assert all(t.is_contiguous() for t in ckpt["model"].values())


def test_checkpoint_and_config_json_record_the_run(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    out = tmp_path / "runs" / "nested" / "run"  # folders that do not exist yet
    cfg = tiny_config(photos, out, steps=1, bf16=False)
    ckpt = load_checkpoint(train(cfg))
    assert set(ckpt) == {"model", "ema", "optimizer", "step", "samples_seen", "wall_s", "unet", "train", "schedule",
                         "world", "hardware", "warmup_start", "history", "run_id", "precision"}
    assert ckpt["train"] == to_dict(cfg) and ckpt["unet"] == to_dict(PRESETS["tiny"])
    assert ckpt["schedule"] == TrainingSchedule().describe() and ckpt["world"] == 1
    assert ckpt["hardware"] == train_module.describe_hardware(torch.device("cpu")) and ckpt["precision"] == "fp32"
    config_text = (out / "config.json").read_text()
    assert config_text == json.dumps({"train": to_dict(cfg), "unet": to_dict(PRESETS["tiny"])}, indent=2)


def test_the_first_line_says_what_the_run_starts_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    packed = tmp_path / "packed.pt"
    pack_weights(train(tiny_config(photos, tmp_path / "run", steps=1)), packed)
    opening = "palette train: 313,811 parameters, 2 photos, world 1 on cpu"
    assert capsys.readouterr().out.splitlines()[0] == opening
    train(tiny_config(photos, tmp_path / "run", steps=2))
    assert capsys.readouterr().out.splitlines()[0] == f"{opening}, resuming at step 1"
    train(tiny_config(photos, tmp_path / "next", steps=2, init_from=str(packed)))
    assert capsys.readouterr().out.splitlines()[0] == f"{opening}, starting from {packed} at step 1"


def test_the_net_sees_the_noised_target_in_the_hole_and_the_clean_one_around_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict = {}
    real_batches, real_optimise = train_module.batches, train_module.optimise

    def spy_batches(*args, **kwargs):
        for batch in real_batches(*args, **kwargs):
            seen.setdefault("y", batch["y"].clone())
            yield batch

    def spy_optimise(net, model, ema, optimizer, cond, y_t, gamma, noise, hole, *rest):
        seen.setdefault("args", (y_t.clone(), gamma.clone(), noise.clone(), hole.clone()))
        return real_optimise(net, model, ema, optimizer, cond, y_t, gamma, noise, hole, *rest)

    monkeypatch.setattr(train_module, "batches", spy_batches)
    monkeypatch.setattr(train_module, "optimise", spy_optimise)
    train(tiny_config(synthetic_photos(tmp_path / "photos", 2), tmp_path / "run", steps=1, batch_size=8,
                      mix_inpaint=1.0, mix_uncrop=0.0, mix_colorize=0.0, mix_jpeg=0.0))
    y_t, gamma, noise, hole = seen["args"]
    y0, g = seen["y"], gamma[:, None, None, None]
    assert 0 < hole.mean() < 1  # inpainting: a hole and pixels around it
    noised = g.sqrt() * y0 + (1 - g).sqrt() * noise
    assert torch.allclose(y_t, torch.where(hole.bool(), noised, y0), atol=1e-6)


def test_init_from_starts_the_raw_weights_from_the_files_raw_weights_else_from_its_ema(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    last = train(tiny_config(photos, tmp_path / "run", steps=2))
    full, ema_only = pack_weights(last, tmp_path / "full.pt"), pack_weights(last, tmp_path / "ema.pt", ema_only=True)
    for packed, path, source in ((full, tmp_path / "full.pt", "model"), (ema_only, tmp_path / "ema.pt", "ema")):
        # lr 0: the raw weights stay where the file put them
        after = load_checkpoint(train(tiny_config(photos, tmp_path / f"from-{source}", steps=3, lr=0.0,
                                                  init_from=str(path))))
        assert all(torch.equal(after["model"][k], t.float()) for k, t in packed[source].items()), source
    assert any(not torch.equal(full["model"][k], full["ema"][k]) for k in full["ema"])  # the two differ


def test_a_resumed_init_from_run_keeps_its_warmup_start_and_history(tmp_path: Path) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    packed_path = tmp_path / "packed.pt"
    pack_weights(train(tiny_config(photos, tmp_path / "first", steps=3)), packed_path)
    started = load_checkpoint(train(tiny_config(photos, tmp_path / "next", steps=5, init_from=str(packed_path))))
    resumed = load_checkpoint(train(tiny_config(photos, tmp_path / "next", steps=6, init_from=str(packed_path))))
    assert started["warmup_start"] == resumed["warmup_start"] == 3
    assert resumed["history"] == started["history"] and resumed["history"][-1]["until_step"] == 3
    # the log's learning rates re-warm from step 3 too (2 warm-up steps: half the rate, then all of it)
    rates = [json.loads(line)["lr"] for line in (tmp_path / "next" / "loss.jsonl").read_text().splitlines()]
    assert rates == pytest.approx([5e-4, 1e-3, 1e-3])
