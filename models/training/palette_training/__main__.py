"""The training pipeline's command line: `python -m palette_training <command> --help`.

    train     train (or resume) a model; torchrun-ready
    export    checkpoint → models/<name>/model.onnx + model.json, verified against PyTorch
    fixture   the seeded tiny model in test/fixtures/ used by the daemon's tests
    loss-plot a run's loss curve (total and per task) as a PNG
    photoset  build the training photo set from Debian packages
    bundle, unbundle, pack-weights, find-weights, split, join
              move a run to a lent GPU machine and back (transfer_cli.py, device/README.md)
    val-loss  a checkpoint's ε-loss on fixed held-out examples and noise levels (JSON)
    size-compare  FLOPs, CPU throughput and an equal-compute run of two presets
    background    one stint of the never-ending training run (lock, low priority, packs the committed file)
    train-bench   samples/s of the data pipeline and the training step, fp32 vs bf16, side by side
    reexport  a shipped model's graph again from its own weights (batch-invariant γ embedding)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

from .config import PRESETS, TrainConfig
from .transfer_cli import COMMANDS as TRANSFER_COMMANDS
from .transfer_cli import add_transfer_commands, run_transfer_command


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One --flag per TrainConfig field, typed from its annotation (no config-file magic)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        if kind in (bool, bool | None):  # bool | None: --flag True, --no-flag False, neither the default
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        elif typing.get_origin(kind) is typing.Literal:
            parser.add_argument(flag, choices=typing.get_args(kind), default=f.default)
        else:
            parser.add_argument(flag, type=kind, default=f.default)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="palette_training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p_train = sub.add_parser("train", help="train or resume (auto-resumes from <out>/checkpoints/last.pt)")
    add_dataclass_flags(p_train, TrainConfig)
    p_train.add_argument("--config", dest="preset_alias", choices=sorted(PRESETS), help="same as --preset")

    p_export = sub.add_parser("export", help="write model.onnx + model.json and verify against PyTorch")
    p_export.add_argument("--checkpoint", type=Path, required=True)
    p_export.add_argument("--out", type=Path, required=True, help="e.g. ../palette-small")
    p_export.add_argument("--name", required=True)
    p_export.add_argument("--version", default="0.1.0")
    p_export.add_argument("--fp32-weights", action="store_true", help="store weights as fp32 (default: fp16)")
    p_export.add_argument("--photoset-manifest", type=Path, default=None)
    p_export.add_argument("--notes", default="")
    p_export.add_argument("--triton-repo", type=Path, default=None,
                          help="also write a Triton model repository there (see triton-repo)")

    p_triton = sub.add_parser("triton-repo", help="write a Triton Inference Server model repository for a model folder")
    p_triton.add_argument("--model", type=Path, required=True, help="an exported model folder (model.json)")
    p_triton.add_argument("--out", type=Path, required=True, help="the repository folder (one entry per model)")
    p_triton.add_argument("--name", default=None, help="served model name (default: the model folder's name)")
    p_triton.add_argument("--max-batch", type=int, default=16)
    p_triton.add_argument("--queue-delay-us", type=int, default=2000, help="dynamic batcher's max queue delay")
    p_triton.add_argument("--no-dynamic-batching", action="store_true",
                          help="run each call as sent (pixels independent of other jobs, bit for bit)")

    p_fixture = sub.add_parser("fixture", help="regenerate the tiny test model")
    p_fixture.add_argument("--out", type=Path, default=Path("../../test/fixtures/tiny-model"))

    p_plot = sub.add_parser("loss-plot", help="plot a run's loss.jsonl (total and per task) to a PNG")
    p_plot.add_argument("--run", type=Path, default=None, help="the training run's --out folder")
    p_plot.add_argument("--stints", type=Path, default=None,
                        help="instead of --run: the background run's stint log (models/checkpoints/stints.jsonl)")
    p_plot.add_argument("--out", type=Path, required=True)
    p_plot.add_argument("--mark", action="append", default=[], metavar="STEP:LABEL",
                        help="a labelled vertical line at STEP (repeatable)")
    p_plot.add_argument("--ylabel", default="ε loss (L2, hole pixels), smoothed")

    add_transfer_commands(sub)
    sub.add_parser("photoset", help="build the photo set from Debian packages (see its --help)", add_help=False)
    sub.add_parser("val-loss", help="held-out validation loss of a checkpoint (see its --help)", add_help=False)
    sub.add_parser("size-compare", help="compare presets at equal compute (see its --help)", add_help=False)
    sub.add_parser("background", help="a stint of the background training run (see its --help)", add_help=False)
    sub.add_parser("train-bench", help="training throughput, fp32 vs bf16 (see its --help)", add_help=False)
    sub.add_parser("reexport", help="re-export a model graph from its own weights (see its --help)", add_help=False)

    args, rest = parser.parse_known_args(argv)
    if args.command == "photoset":
        from .photoset import main as photoset_main

        return photoset_main(rest)
    if args.command == "val-loss":
        from .val_loss import main as val_loss_main

        return val_loss_main(rest)
    if args.command == "size-compare":
        from .size_compare import main as size_compare_main

        return size_compare_main(rest)
    if args.command == "background":
        from .background import main as background_main

        return background_main(rest)
    if args.command == "train-bench":
        from .train_bench import main as train_bench_main

        return train_bench_main(rest)
    if args.command == "reexport":
        from .reexport import main as reexport_main

        return reexport_main(rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    if args.command == "train":
        from .packed_weights import InitFromError
        from .train import train

        values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
        if args.preset_alias:
            values["preset"] = args.preset_alias
        if values["preset"] not in PRESETS:
            parser.error(f"unknown preset {values['preset']!r}; choose from {', '.join(PRESETS)}")
        try:
            train(TrainConfig(**values))
        except InitFromError as error:
            parser.error(str(error))
        return 0
    if args.command == "export":
        from .export import export

        manifest = export(args.checkpoint, args.out, args.name, args.version, not args.fp32_weights,
                          args.photoset_manifest, args.notes)
        check = manifest["metrics"]["export_check"]
        print(f"exported {args.out / manifest['file']} ({manifest['file_bytes'] / 1e6:.1f} MB, "
              f"{manifest['parameters']:,} parameters); onnxruntime vs PyTorch max relative error "
              f"{check['max_relative_error']:.2e}")
        if args.triton_repo:
            from .triton_repo import write_triton_repo

            print(f"triton repository entry: {write_triton_repo(args.out, args.triton_repo)}")
        return 0
    if args.command == "triton-repo":
        from .triton_repo import TritonRepoError, write_triton_repo

        try:
            entry = write_triton_repo(args.model, args.out, args.name, args.max_batch,
                                      queue_delay_us=args.queue_delay_us,
                                      dynamic_batching=not args.no_dynamic_batching)
        except TritonRepoError as error:
            parser.error(str(error))
        print(f"triton repository entry: {entry} (serve it: {args.out / 'README.md'})")
        return 0
    if args.command == "loss-plot":
        from .loss_plot import plot_loss, plot_stints

        if args.stints:
            print(f"loss-plot: {plot_stints(args.stints, args.out)} stints → {args.out}")
            return 0
        if args.run is None:
            raise SystemExit("loss-plot: give --run or --stints")
        marks = {int(m.split(":", 1)[0]): m.split(":", 1)[1] for m in args.mark}
        plot_loss(args.run / "loss.jsonl", args.out, marks=marks, ylabel=args.ylabel)
        return 0
    if args.command == "fixture":
        from .fixture import make_fixture

        make_fixture(args.out)
        return 0
    if args.command in TRANSFER_COMMANDS:
        return run_transfer_command(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
