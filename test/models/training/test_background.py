"""The background run: a stint continues the committed packed file (steps, samples, EMA), holds a lock,
packs back into the same file and logs the stint."""

import json
from pathlib import Path

import pytest
import torch

from palette_training import background
from palette_training import train as train_module
from palette_training.packed_weights import pack_weights
from palette_training.train import load_checkpoint, train

from training_helpers import synthetic_photos, tiny_config

FAST = dict(resolution=16, batch_size=4, scales="", native_crop=0.0, max_short_side=64, num_workers=0,
            sample_every=10**9, ckpt_every=1, log_every=1, warmup_steps=2, sample_steps=2, device="cpu")


@pytest.fixture
def committed(tmp_path: Path) -> tuple[Path, Path]:
    """A packed file at step 3 (tiny preset) and a photo folder with train/."""
    data = tmp_path / "photos"
    synthetic_photos(data / "train", 4)
    ckpt = train(tiny_config(data / "train", tmp_path / "first", steps=3))
    weights = tmp_path / "checkpoints" / "latest.pt"
    pack_weights(ckpt, weights)
    return weights, data


def test_packed_file_holds_ema_and_raw_weights_in_fp16(committed: tuple[Path, Path], tmp_path: Path) -> None:
    weights, _ = committed
    packed = torch.load(weights, weights_only=True)
    source = load_checkpoint(tmp_path / "first" / "checkpoints" / "last.pt")
    assert "optimizer" not in packed
    for key in ("ema", "model"):
        for name, tensor in source[key].items():
            if tensor.is_floating_point():
                assert packed[key][name].dtype == torch.float16
                assert torch.equal(packed[key][name].float(), tensor.half().float()), f"{key}.{name}"
    # The raw weights are not the EMA (else the file would carry one copy twice).
    assert any(not torch.equal(packed["ema"][n], packed["model"][n]) for n in packed["ema"])


def test_stint_continues_step_count_samples_and_ema_of_packed_file(committed, tmp_path, monkeypatch) -> None:
    weights, data = committed
    packed = torch.load(weights, weights_only=True)
    first_update = {}
    real_update = train_module.update_ema

    def spy(ema, model, decay):
        if not first_update:  # the state the stint starts from, before its first EMA update
            first_update["ema"] = {k: v.clone() for k, v in ema.state_dict().items()}
            first_update["decay"] = decay
        real_update(ema, model, decay)

    monkeypatch.setattr(train_module, "update_ema", spy)
    run = tmp_path / "run"
    stint = background.run_stint(weights, run, data, minutes=0, pack_minutes=0, nice=None,
                                 overrides={**FAST, "steps": 5})
    for name, tensor in packed["ema"].items():
        assert torch.equal(first_update["ema"][name], tensor.float()), f"EMA {name} did not start from the file"
    assert first_update["decay"] == pytest.approx(train_module.ema_decay(tiny_config(data, run), 3))

    after = torch.load(weights, weights_only=True)  # packed back into the same file
    assert after["step"] == 5 and after["samples_seen"] == packed["samples_seen"] + 2 * 4
    steps_logged = [json.loads(line)["step"] for line in (run / "loss.jsonl").read_text().splitlines()]
    assert steps_logged == [4, 5]
    assert after["history"][-1]["until_step"] == 3  # the earlier run is one segment of the file's history
    lines = [json.loads(line) for line in weights.with_name("stints.jsonl").read_text().splitlines()]
    assert len(lines) == 1 and lines[0] == stint
    assert (stint["from_step"], stint["until_step"], stint["samples_added"]) == (3, 5, 8)
    assert sorted(p.name for p in weights.parent.iterdir()) == ["latest.pt", "stints.jsonl"]  # in place


def test_second_stint_resumes_its_own_checkpoint_exactly(committed, tmp_path) -> None:
    weights, data = committed
    run = tmp_path / "run"
    background.run_stint(weights, run, data, 0, 0, None, {**FAST, "steps": 5})
    assert background.prepare_run_dir(run, weights) == "resume"
    background.run_stint(weights, run, data, 0, 0, None, {**FAST, "steps": 7})
    local = load_checkpoint(run / "checkpoints" / "last.pt")
    assert local["step"] == 7 and "optimizer" in local
    steps_logged = [json.loads(line)["step"] for line in (run / "loss.jsonl").read_text().splitlines()]
    assert steps_logged == [4, 5, 6, 7]
    assert len(weights.with_name("stints.jsonl").read_text().splitlines()) == 2


def test_run_folder_from_another_lineage_is_set_aside(committed, tmp_path) -> None:
    weights, data = committed
    run = tmp_path / "run"
    train(tiny_config(data / "train", run, steps=4, seed=99))  # an unrelated run at a later step
    assert background.prepare_run_dir(run, weights).startswith("set aside stale-4-")
    assert not (run / "checkpoints").exists()


def test_lock_refuses_a_second_stint(committed, tmp_path, capsys) -> None:
    weights, data = committed
    run = tmp_path / "run"
    held = background.acquire_lock(run)
    try:
        assert background.lock_holder(run) is not None
        code = background.main(["--weights", str(weights), "--run", str(run), "--data", str(data),
                                "--nice", "0", "--set", "steps=5"])
        assert code == background.LOCKED_EXIT
        assert "holds" in capsys.readouterr().err
        assert torch.load(weights, weights_only=True)["step"] == 3  # nothing trained
    finally:
        held.close()
    assert background.lock_holder(run) is None


def test_stop_request_ends_the_stint_with_a_pack(committed, tmp_path, monkeypatch) -> None:
    """What --stop's SIGTERM does: the handler asks the loop to stop; it checkpoints and packs."""
    weights, data = committed
    calls = {"n": 0}
    real_train = train_module.train

    def train_that_gets_a_signal(cfg, should_stop=None, on_checkpoint=None):
        def stop_after_two() -> bool:
            calls["n"] += 1
            return calls["n"] >= 2

        return real_train(cfg, should_stop=lambda: should_stop() or stop_after_two(), on_checkpoint=on_checkpoint)

    monkeypatch.setattr(train_module, "train", train_that_gets_a_signal)
    background.run_stint(weights, tmp_path / "run", data, 0, 60, None, {**FAST, "steps": 100})
    assert torch.load(weights, weights_only=True)["step"] == 5


def test_set_overrides_are_typed(committed, tmp_path, monkeypatch) -> None:
    weights, data = committed
    seen = {}
    monkeypatch.setattr(background, "run_stint", lambda *a: seen.update(overrides=a[-1]))
    assert background.main(["--weights", str(weights), "--run", str(tmp_path / "r"), "--set", "steps=9",
                            "--set", "bf16=false", "--set", "scales=64:1", "--set", "lr=0.5"]) == 0
    assert seen["overrides"] == {"steps": 9, "bf16": False, "scales": "64:1", "lr": 0.5}


def test_loss_windows_average_each_hundred_steps_of_the_stint_only(tmp_path) -> None:
    log = tmp_path / "loss.jsonl"
    rows = [{"step": s, "loss": float(s), "samples_seen": 16 * s} for s in range(20, 420, 20)]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 4')  # a line cut by a hard stop
    windows = background.loss_windows(log, after_step=100, until_step=340)
    # steps 120..200 → one window, 220..300 → the next; 320, 340 are an unfinished window; >340 is not this stint's
    assert windows == [[200, 3200, 160.0], [300, 4800, 260.0]]
    assert background.loss_windows(tmp_path / "missing.jsonl", 0) == []


def test_commit_fills_in_the_loss_of_a_stint_line_written_without_it(tmp_path, monkeypatch) -> None:
    run, weights = tmp_path / "run", tmp_path / "checkpoints" / "latest.pt"
    run.mkdir()
    weights.parent.mkdir()
    weights.write_bytes(b"packed")
    (run / "loss.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1.0, "samples_seen": s})
                                            + "\n" for s in range(1, 301)))
    line = {"stint": "abc", "from_step": 0, "until_step": 250, "samples_added": 250, "samples_seen": 250}
    (weights.parent / "stints.jsonl").write_text(json.dumps(line) + "\n")
    calls = []
    monkeypatch.setattr(background.subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    background.commit(weights, run)
    written = json.loads((weights.parent / "stints.jsonl").read_text())
    assert written["loss"] == [[100, 100, 1.0], [200, 200, 1.0]]
    assert calls[-1][:2] == ["git", "commit"] and "+250 samples" in calls[-1][3]
