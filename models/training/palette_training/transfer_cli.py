"""The commands that move a training run to a lent GPU machine and back (see device/README.md).

    bundle        data/photos → one small tar (downscaled WebP/JPEG, split kept, manifest)
    unbundle      that tar → train/, val/, manifest.json, checked against the manifest
    pack-weights  a training checkpoint → fp16 EMA weights + counters (models/checkpoints/<name>.pt)
    find-weights  print the most trained packed file in a folder that holds a preset's network
    split / join  a file ↔ pieces of at most --piece-mib plus a sha256 list, checked on joining

Kept apart from __main__.py so that file only registers and dispatches them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import PRESETS

COMMANDS = ("bundle", "unbundle", "pack-weights", "find-weights", "split", "join")


def add_transfer_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bundle", help="the photo set as one small tar for a GPU machine")
    p.add_argument("--photos", type=Path, required=True, help="e.g. ../../data/photos (train/, val/, manifest.json)")
    p.add_argument("--out", type=Path, required=True, help="e.g. ../../data/bundle/photos.tar")
    p.add_argument("--short-side", type=int, default=320, help="downscale so the short side is at most this")
    p.add_argument("--quality", type=int, default=85, help="WebP/JPEG quality (the smaller encoding is kept)")
    p.add_argument("--max-mib", type=float, default=24.0, help="fail if the bundle would be larger")

    p = sub.add_parser("unbundle", help="unpack a bundle and check it against its manifest")
    p.add_argument("--bundle", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)

    p = sub.add_parser("pack-weights", help="checkpoint → fp16 EMA and raw weights + counters, no optimizer")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--ema-only", action="store_true", help="leave the raw weights out (half the size)")
    p.add_argument("--out", type=Path, required=True, help="e.g. ../checkpoints/small-r64.pt")

    p = sub.add_parser("find-weights", help="print the most trained packed file holding --preset's network")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--preset", choices=sorted(PRESETS), required=True)

    p = sub.add_parser("split", help="a file → pieces of at most --piece-mib + a sha256 list")
    p.add_argument("--file", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for the pieces")
    p.add_argument("--piece-mib", type=float, default=15.0)

    p = sub.add_parser("join", help="pieces → the file, every sha256 checked")
    p.add_argument("--pieces", type=Path, required=True, help="the first piece, e.g. DIR/model.pt.part-000")
    p.add_argument("--out", type=Path, required=True)


def run_transfer_command(args: argparse.Namespace) -> int:
    if args.command == "bundle":
        from .bundle import MIB, build_bundle

        s = build_bundle(args.photos, args.out, args.short_side, args.quality, args.max_mib)
        print(f"bundled {s['photos']} photos ({s['per_split']}, {s['formats']}) from "
              f"{s['original_bytes'] / MIB:.1f} MiB into {args.out}: {s['bundle_bytes'] / MIB:.2f} MiB "
              f"({s['bundle_bytes']:,} bytes) in {s['seconds']} s")
        return 0
    if args.command == "unbundle":
        from .bundle import unbundle

        s = unbundle(args.bundle, args.out)
        print(f"unbundled {s['photos']} photos ({s['per_split']}) into {args.out}")
        return 0
    if args.command == "pack-weights":
        from .packed_weights import pack_weights

        packed = pack_weights(args.checkpoint, args.out, args.ema_only)
        print(f"packed step {packed['step']} ({packed['samples_seen']:,} samples, {packed['wall_s'] / 3600:.2f} h) "
              f"into {args.out}: {args.out.stat().st_size / 1e6:.1f} MB")
        return 0
    if args.command == "find-weights":
        from .packed_weights import newest_packed_weights

        found = newest_packed_weights(args.dir, args.preset)
        print(found or "")
        return 0
    if args.command == "split":
        from .pieces import split_file

        written = split_file(args.file, args.out, args.piece_mib)
        print("\n".join(str(p) for p in written))
        return 0
    if args.command == "join":
        from .pieces import join_pieces

        out = join_pieces(args.pieces, args.out)
        print(f"joined {out} ({out.stat().st_size / 1e6:.1f} MB), every sha256 checked")
        return 0
    raise ValueError(f"not a transfer command: {args.command}")
