"""The transfer commands of `python -m palette_training` (bundle, unbundle, pack-weights, find-weights, split,
join): their flags, what each prints and returns, and that their errors reach the caller."""

import argparse
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from palette_training.__main__ import main
from palette_training.config import PRESETS, to_dict
from palette_training.pieces import PieceError
from palette_training.transfer_cli import COMMANDS, add_transfer_commands, run_transfer_command
from palette_training.unet import PaletteUNet

from training_helpers import synthetic_photos


def transfer_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="palette_training")
    add_transfer_commands(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.mark.parametrize(("argv", "missing"), [
    (["bundle", "--photos", "p"], "--out"),
    (["unbundle", "--out", "o"], "--bundle"),
    (["pack-weights", "--out", "o.pt"], "--checkpoint"),
    (["find-weights", "--dir", "d"], "--preset"),
    (["split", "--out", "o"], "--file"),
    (["join", "--out", "o"], "--pieces"),
])
def test_a_missing_required_flag_exits_2_naming_it(argv: list[str], missing: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert f"the following arguments are required: {missing}" in capsys.readouterr().err
    assert argv[0] in COMMANDS  # main dispatches only the commands COMMANDS lists


def test_flag_defaults_and_types(capsys: pytest.CaptureFixture[str]) -> None:
    parser = transfer_parser()
    (subcommands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(subcommands.choices) == sorted(COMMANDS)  # COMMANDS is what __main__ hands over to run_...
    bundle = parser.parse_args(["bundle", "--photos", "data/photos", "--out", "b/photos.tar"])
    assert (bundle.photos, bundle.out) == (Path("data/photos"), Path("b/photos.tar"))
    assert (bundle.short_side, bundle.quality, bundle.max_mib) == (320, 85, 24.0)
    assert parser.parse_args(["split", "--file", "f", "--out", "o"]).piece_mib == 15.0
    assert parser.parse_args(["pack-weights", "--checkpoint", "c", "--out", "o"]).ema_only is False
    assert parser.parse_args(["pack-weights", "--checkpoint", "c", "--out", "o", "--ema-only"]).ema_only is True
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["find-weights", "--dir", "d", "--preset", "huge"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'huge'" in err and all(name in err for name in PRESETS)


def test_split_then_join_restores_the_file_and_a_corrupt_piece_raises(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    original = tmp_path / "model.pt"
    original.write_bytes(bytes(range(256)) * 10)  # 2560 bytes → 3 pieces of at most 1048 bytes
    assert main(["split", "--file", str(original), "--out", str(tmp_path / "pieces"), "--piece-mib", "0.001"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [str(tmp_path / "pieces" / name) for name in
                       ("model.pt.part-000", "model.pt.part-001", "model.pt.part-002", "model.pt.sha256")]
    assert [Path(p).stat().st_size for p in printed[:3]] == [1048, 1048, 464]

    joined = tmp_path / "back" / "model.pt"
    assert main(["join", "--pieces", printed[0], "--out", str(joined)]) == 0
    assert joined.read_bytes() == original.read_bytes()
    assert capsys.readouterr().out == f"joined {joined} (0.0 MB), every sha256 checked\n"

    Path(printed[1]).write_bytes(b"x" * 1048)
    with pytest.raises(PieceError, match="corrupt piece .*model.pt.part-001"):
        main(["join", "--pieces", printed[0], "--out", str(tmp_path / "again.pt")])
    assert not (tmp_path / "again.pt").exists()


def test_bundle_then_unbundle_pass_the_flags_on_and_report_the_counts(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    synthetic_photos(photos / "train" / "pkg-a", 2)
    synthetic_photos(photos / "val" / "pkg-b", 1, seed=1)
    bundle = tmp_path / "bundle" / "photos.tar"
    assert main(["bundle", "--photos", str(photos), "--out", str(bundle), "--short-side", "24"]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(rf"bundled 3 photos \({{'train': 2, 'val': 1}}, {{.+}}\) from \d+\.\d MiB into "
                        rf"{re.escape(str(bundle))}: \d+\.\d\d MiB \({bundle.stat().st_size:,} bytes\) in [\d.]+ s\n",
                        out), out

    assert main(["unbundle", "--bundle", str(bundle), "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out == f"unbundled 3 photos ({{'train': 2, 'val': 1}}) into {tmp_path / 'out'}\n"
    unpacked = sorted(p for p in (tmp_path / "out").rglob("*") if p.suffix in (".webp", ".jpg"))
    assert len(unpacked) == 3
    for path in unpacked:
        with Image.open(path) as im:
            assert im.size == (24, 24)  # --short-side reached build_bundle: 64 → 24

    with pytest.raises(ValueError, match="over the 0.0001 MiB limit"):  # --max-mib reaches it too
        main(["bundle", "--photos", str(photos), "--out", str(tmp_path / "small.tar"), "--max-mib", "0.0001"])


def fake_checkpoint(path: Path, step: int) -> Path:
    torch.manual_seed(step)
    weights = PaletteUNet(PRESETS["tiny"]).state_dict()
    torch.save({"unet": to_dict(PRESETS["tiny"]), "model": weights, "ema": weights, "optimizer": {},
                "step": step, "samples_seen": 4 * step, "wall_s": 1800.0 * step}, path)
    return path


def test_pack_weights_reports_the_counters_and_find_weights_prints_the_most_trained_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packed = tmp_path / "packed"
    for step, name, ema_only in ((3, "tiny-b.pt", []), (1200, "tiny-a.pt", ["--ema-only"])):
        out = packed / name
        checkpoint = fake_checkpoint(tmp_path / f"last-{step}.pt", step)
        assert main(["pack-weights", "--checkpoint", str(checkpoint), "--out", str(out), *ema_only]) == 0
        assert capsys.readouterr().out == (f"packed step {step} ({4 * step:,} samples, {step / 2:.2f} h) into {out}: "
                                           f"{out.stat().st_size / 1e6:.1f} MB\n")
        assert ("model" in torch.load(out, weights_only=True)) == (not ema_only)  # raw weights unless --ema-only

    assert main(["find-weights", "--dir", str(packed), "--preset", "tiny"]) == 0
    assert capsys.readouterr().out == f"{packed / 'tiny-a.pt'}\n"  # step 1200 beats step 3, whatever the names
    assert main(["find-weights", "--dir", str(packed), "--preset", "small"]) == 0
    assert capsys.readouterr().out == "\n"  # nothing for that preset: an empty line, still success
    assert main(["find-weights", "--dir", str(tmp_path / "absent"), "--preset", "tiny"]) == 0
    assert capsys.readouterr().out == "\n"


def test_a_command_that_is_not_a_transfer_command_is_refused() -> None:
    with pytest.raises(ValueError, match="not a transfer command: train"):
        run_transfer_command(argparse.Namespace(command="train"))
