"""The optimisation schedule: warm-up, cosine decay, the EMA ramp, gradient clipping, bf16 autocast."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import torch

from palette_training import train as train_module
from palette_training.config import PRESETS, TrainConfig
from palette_training.diffusion import eps_loss_per_sample
from palette_training.train import autocast_context, ema_decay, learning_rate, optimise, train, update_ema
from palette_training.unet import PaletteUNet

from training_helpers import synthetic_photos, tiny_config


def _cfg(**kw: object) -> TrainConfig:
    values: dict = dict(lr=1e-3, warmup_steps=10, steps=100, lr_decay_start=0, lr_final=1e-5, ema_decay=0.9999)
    values.update(kw)
    return TrainConfig(**values)


def test_learning_rate_warms_up_linearly_then_stays_constant() -> None:
    cfg = _cfg()
    assert learning_rate(cfg, 0) == pytest.approx(1e-4)
    assert learning_rate(cfg, 4) == pytest.approx(5e-4)
    assert learning_rate(cfg, 9) == pytest.approx(1e-3)
    assert learning_rate(cfg, 99) == learning_rate(cfg, 50) == pytest.approx(1e-3)
    assert learning_rate(cfg, 20, warmup_start=20) == pytest.approx(1e-4)  # --init-from re-warms from its step


def test_cosine_decay_goes_from_lr_to_lr_final_between_its_start_and_the_last_step() -> None:
    cfg = _cfg(lr_decay_start=50)
    assert learning_rate(cfg, 49) == pytest.approx(1e-3)
    assert learning_rate(cfg, 50) == pytest.approx(1e-3)
    assert learning_rate(cfg, 75) == pytest.approx((1e-3 + 1e-5) / 2)
    assert learning_rate(cfg, 60) == pytest.approx(1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * 0.2)))
    assert learning_rate(cfg, 100) == pytest.approx(1e-5)
    rates = [learning_rate(cfg, s) for s in range(50, 101)]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))


def test_learning_rate_edges_no_warm_up_decay_from_step_one_none_when_it_starts_at_the_end_and_floor_after() -> None:
    assert learning_rate(_cfg(warmup_steps=1), 0) == learning_rate(_cfg(warmup_steps=0), 0) == pytest.approx(1e-3)
    from_one = _cfg(warmup_steps=1, lr_decay_start=1, steps=11)
    assert learning_rate(from_one, 6) == pytest.approx((1e-3 + 1e-5) / 2)  # halfway from step 1 to 11
    at_the_end = _cfg(lr_decay_start=100, steps=100)  # nothing left to decay over: constant, no 0/0
    assert learning_rate(at_the_end, 100) == learning_rate(at_the_end, 120) == pytest.approx(1e-3)
    decayed = _cfg(lr_decay_start=50)
    assert learning_rate(decayed, 150) == pytest.approx(1e-5)  # a run continued past `steps` stays at lr_final


def test_ema_decay_ramps_up_then_holds_the_configured_value() -> None:
    cfg = _cfg(ema_decay=0.999)
    assert ema_decay(cfg, 0) == pytest.approx(0.1)
    assert ema_decay(cfg, 10) == pytest.approx(11 / 20)
    assert ema_decay(cfg, 990) == pytest.approx(991 / 1000)
    assert ema_decay(cfg, 10**6) == 0.999
    ramp = [ema_decay(cfg, s) for s in range(0, 2000)]
    assert all(a <= b for a, b in zip(ramp, ramp[1:], strict=False))


def test_update_ema_moves_each_weight_by_one_minus_decay_and_copies_buffers() -> None:
    model, ema = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        model.weight.fill_(2.0)
        ema.weight.fill_(1.0)
        model.running_mean.fill_(5.0)
    update_ema(ema, model, 0.75)
    assert torch.allclose(ema.weight, torch.full((3,), 1.25))
    assert torch.equal(ema.running_mean, model.running_mean)


def _before_each_adamw_step(monkeypatch: pytest.MonkeyPatch, look) -> None:
    """Calls look(optimizer) right before every AdamW step: what the step is handed."""
    real_step = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        look(self)
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)


def _grad_norms(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    norms: list[float] = []

    def norm(optimizer) -> None:  # the norm the optimiser is handed, after any clipping
        grads = [p.grad.flatten() for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        norms.append(float(torch.cat(grads).norm()))

    _before_each_adamw_step(monkeypatch, norm)
    return norms


def test_gradient_clipping_bounds_the_gradient_norm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = synthetic_photos(tmp_path / "photos", 2)
    norms = _grad_norms(monkeypatch)
    train(tiny_config(photos, tmp_path / "free", steps=2, grad_clip=0.0))
    assert min(norms) > 0.01  # unclipped, the gradients are larger than the bound below
    norms.clear()
    train(tiny_config(photos, tmp_path / "clipped", steps=2, grad_clip=0.01))
    assert len(norms) == 2 and max(norms) <= 0.01 * (1 + 1e-4)


def test_each_optimiser_step_runs_at_the_learning_rate_of_its_step(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rates: list[float] = []
    # the rate AdamW applies is the one in its param group at step()
    _before_each_adamw_step(monkeypatch, lambda optimizer: rates.append(optimizer.param_groups[0]["lr"]))
    cfg = tiny_config(synthetic_photos(tmp_path / "photos", 2), tmp_path / "run", steps=4, warmup_steps=4, lr=1e-3)
    train(cfg)
    assert rates == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])


@pytest.mark.parametrize("prediction", ["v", "eps"])
@pytest.mark.parametrize("loss", ["l2", "l1"])
def test_optimise_returns_the_configured_loss_and_rewarms_from_warmup_start(prediction: str, loss: str) -> None:
    torch.manual_seed(0)
    model = PaletteUNet(dataclasses.replace(PRESETS["tiny"], prediction=prediction))
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1.0)
    cond, y_t, noise = (torch.randn(2, 3, 16, 16) for _ in range(3))
    gamma, hole = torch.tensor([0.3, 0.8]), torch.ones(2, 1, 16, 16)
    with torch.no_grad():
        pred = model(cond, y_t, gamma)
    # a v-prediction net is trained on the v error: the ε error over √γ
    expected = eps_loss_per_sample(pred, noise, hole, loss, gamma if prediction == "v" else None)
    cfg = TrainConfig(loss=loss, lr=1e-3, warmup_steps=4)
    got = optimise(model, model, ema, optimizer, cond, y_t, gamma, noise, hole, cfg, 25, 24, nullcontext())
    assert torch.allclose(got, expected, rtol=1e-5)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(5e-4)  # step 25 is the 2nd of a re-warm from 24


def test_cpu_autocast_runs_convolutions_in_bf16_and_the_training_loss_in_fp32(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conv = torch.nn.Conv2d(3, 4, 3)
    with autocast_context(torch.device("cpu"), True):
        assert conv(torch.randn(1, 3, 8, 8)).dtype == torch.bfloat16
    with autocast_context(torch.device("cpu"), False):
        assert conv(torch.randn(1, 3, 8, 8)).dtype == torch.float32
    seen: list[tuple[torch.dtype, torch.dtype]] = []
    real_loss = train_module.eps_loss_per_sample

    def spy(eps_pred, *args, **kwargs):
        out = real_loss(eps_pred, *args, **kwargs)
        seen.append((eps_pred.dtype, out.dtype))
        return out

    monkeypatch.setattr(train_module, "eps_loss_per_sample", spy)
    ckpt = torch.load(train(tiny_config(synthetic_photos(tmp_path / "photos", 2), tmp_path / "run", steps=1,
                                        bf16=True)), weights_only=True)
    assert seen == [(torch.bfloat16, torch.float32)]
    assert ckpt["precision"] == "bf16 autocast"
    assert all(t.dtype == torch.float32 for t in ckpt["model"].values() if t.is_floating_point())


def test_bf16_autocast_training_follows_fp32(tmp_path: Path) -> None:
    """Same init, same batches, 30 steps: the loss curves agree (last 10 steps' mean within 10%, correlated)."""
    photos = synthetic_photos(tmp_path / "photos", 3)
    curves = {}
    for bf16 in (False, True):
        run = tmp_path / f"bf16-{bf16}"
        train(tiny_config(photos, run, steps=30, batch_size=8, lr=2e-3, warmup_steps=5, bf16=bf16))
        curves[bf16] = np.array([json.loads(x)["loss"] for x in (run / "loss.jsonl").read_text().splitlines()])
    fp32, bf16_curve = curves[False], curves[True]
    assert len(fp32) == len(bf16_curve) == 30
    assert not np.array_equal(fp32, bf16_curve)  # the bf16 run really ran in another precision
    assert abs(bf16_curve[-10:].mean() - fp32[-10:].mean()) < 0.1 * fp32[-10:].mean()
    assert np.corrcoef(fp32, bf16_curve)[0, 1] > 0.9

