"""Which precision a run trains in: bf16 where the device has it natively, fp32 where it would be emulated."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from palette_training import precision
from palette_training.__main__ import add_dataclass_flags
from palette_training.background import stint_config
from palette_training.config import TrainConfig
from palette_training.packed_weights import pack_weights
from palette_training.precision import cpu_has_fast_bf16, device_has_fast_bf16, resolve_bf16
from palette_training.train import train

from training_helpers import synthetic_photos, tiny_config

CPU = torch.device("cpu")


def cpuinfo(tmp_path: Path, flags: str) -> Path:
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    return info


@pytest.mark.parametrize(("flags", "fast"), [
    ("fpu sse2 avx2 avx512f avx512_bf16", True),     # Zen 4, Cooper Lake
    ("fpu sse2 amx_bf16 amx_tile", True),            # Sapphire Rapids
    ("fpu sse2 avx2 fma", False),                    # AVX2 only (the AMD EPYC of 2026-12-08)
    ("fpu avx512f avx512bw", False),                 # AVX-512 without its bf16 extension
    ("fpu avx512_bf16x amx_bf16_", False),           # whole flags only
])
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path: Path, flags: str, fast: bool) -> None:
    assert cpu_has_fast_bf16(cpuinfo(tmp_path, flags)) is fast
    assert device_has_fast_bf16(CPU, cpuinfo(tmp_path, flags)) is fast


def test_an_unreadable_cpuinfo_counts_as_no_native_bf16(tmp_path: Path) -> None:
    assert cpu_has_fast_bf16(tmp_path / "missing") is False


def test_unset_means_bf16_where_it_is_native_and_fp32_where_it_would_be_emulated(tmp_path: Path) -> None:
    assert resolve_bf16(None, CPU, cpuinfo(tmp_path, "avx2 amx_bf16")) == (
        True, "precision: bf16 autocast (native bf16 on this device)")
    bf16, line = resolve_bf16(None, CPU, cpuinfo(tmp_path, "avx2 fma"))
    assert bf16 is False
    assert line == ("precision: fp32 (this CPU has no AVX-512 BF16 or AMX: emulated bf16 would be 20-40x slower; "
                    "--bf16 forces it)")


@pytest.mark.parametrize("flags", ["avx2 fma", "avx2 amx_bf16"])
def test_an_explicit_choice_is_kept_whatever_the_cpu(tmp_path: Path, flags: str) -> None:
    assert resolve_bf16(True, CPU, cpuinfo(tmp_path, flags)) == (True, "precision: bf16 autocast (as asked)")
    assert resolve_bf16(False, CPU, cpuinfo(tmp_path, flags)) == (False, "precision: fp32 (as asked)")


@pytest.mark.parametrize("supported", [True, False])
def test_on_cuda_the_gpu_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, supported: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: supported)
    info = cpuinfo(tmp_path, "avx2 amx_bf16")  # the host CPU's flags do not matter for a GPU
    assert device_has_fast_bf16(torch.device("cuda", 0), info) is supported
    bf16, line = resolve_bf16(None, torch.device("cuda", 0), info)
    assert bf16 is supported
    assert line.endswith("(native bf16 on this device)" if supported else
                         "(cuda has no native bf16: emulated bf16 would be 20-40x slower; --bf16 forces it)")


@pytest.mark.parametrize(("native", "precision_name"), [(False, "fp32"), (True, "bf16 autocast")])
def test_a_run_left_to_choose_trains_in_the_precision_the_cpu_runs_natively(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        native: bool, precision_name: str) -> None:
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda *_: native)
    seen: list[bool] = []
    real_autocast = precision.autocast_context
    monkeypatch.setattr("palette_training.train.autocast_context",
                        lambda device, bf16: seen.append(bf16) or real_autocast(device, bf16))
    cfg = tiny_config(synthetic_photos(tmp_path / "photos", 2), tmp_path / "run", steps=1)
    assert cfg.bf16 is None
    ckpt = torch.load(train(cfg), weights_only=True)
    assert seen == [native]
    assert ckpt["precision"] == precision_name
    assert capsys.readouterr().out.splitlines()[1].startswith(f"precision: {precision_name} (")


def test_the_train_command_leaves_bf16_unset_unless_a_flag_says_otherwise() -> None:
    parser = argparse.ArgumentParser()
    add_dataclass_flags(parser, TrainConfig)
    assert parser.parse_args([]).bf16 is None
    assert parser.parse_args(["--bf16"]).bf16 is True
    assert parser.parse_args(["--no-bf16"]).bf16 is False


@pytest.mark.parametrize("native", [True, False])
def test_background_stints_record_the_precision_they_train_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, native: bool) -> None:
    packed = tmp_path / "packed.pt"
    pack_weights(train(tiny_config(synthetic_photos(tmp_path / "photos", 2), tmp_path / "run", steps=1)), packed)
    monkeypatch.setattr("palette_training.background.cpu_has_fast_bf16", lambda *_: native)
    cfg = stint_config(packed, tmp_path / "stint", tmp_path / "photos", 1.0, {})
    assert cfg.bf16 is native  # stints.jsonl says true or false, never null
    assert stint_config(packed, tmp_path / "stint", tmp_path / "photos", 1.0, {"bf16": True}).bf16 is True
