"""The photo set as one small file that can travel to a lent GPU machine with the working tree.

`bundle` downscales every photo of data/photos so its short side is at most `short_side` (never
upscaling), re-encodes it as WebP or JPEG at the same quality setting, whichever comes out smaller for
that photo, and writes an uncompressed tar that keeps the train/ and val/ split and carries the photo
set's manifest. The manifest's entries keep their provenance fields untouched (path, size and sha256 of
the original) and gain a `bundled` record; the tar is plain (no gzip: the images are already
compressed) so `tar -xf` unpacks it as well as `unbundle` does.

Training reads the unpacked folders like the originals: PhotoSet takes every .webp/.jpg below a folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

MANIFEST_NAME = "manifest.json"
SPLITS = ("train", "val")
MIB = 1 << 20


@dataclass(frozen=True)
class EncodedPhoto:
    data: bytes
    suffix: str
    width: int
    height: int


def downscale(image: Image.Image, short_side: int) -> Image.Image:
    """Bicubic, as training's load_photo: a bundled photo decodes to what training would have made of it."""
    short = min(image.size)
    if short <= short_side:
        return image
    scale = short_side / short
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BICUBIC)


def encode_smaller(image: Image.Image, quality: int) -> EncodedPhoto:
    """WebP and JPEG at the same quality; keep the smaller (WebP wins on most photos, JPEG on some noise)."""
    candidates = []
    for fmt, suffix, options in (("WEBP", ".webp", {"method": 6}), ("JPEG", ".jpg", {"optimize": True})):
        buf = io.BytesIO()
        image.save(buf, fmt, quality=quality, **options)
        candidates.append((len(buf.getvalue()), suffix, buf.getvalue()))
    size, suffix, data = min(candidates)
    return EncodedPhoto(data, suffix, image.width, image.height)


def photo_files(photos: Path) -> list[Path]:
    """Every photo below train/ and val/, as paths relative to the photo set's root, sorted."""
    from .data import PHOTO_SUFFIXES  # here, not at the top: data imports torch, which unbundle does not need

    files = [p.relative_to(photos) for split in SPLITS if (photos / split).is_dir()
             for p in sorted((photos / split).rglob("*")) if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES]
    if not files:
        raise FileNotFoundError(f"no photos under {photos}/train or {photos}/val")
    return files


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """A tar member with fixed owner and time, so the same photos give the same bundle."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


def build_bundle(photos: Path, out: Path, short_side: int = 320, quality: int = 85,
                 max_mib: float = 24.0) -> dict:
    """Write the bundle; returns its summary (also stored as the manifest's `bundle` field)."""
    started = time.monotonic()
    manifest_path = photos / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"photos": []}
    entries = {e["path"]: e for e in manifest.get("photos", [])}
    bundled_entries = []
    formats: dict[str, int] = {}
    original_bytes = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for rel in photo_files(photos):
            with Image.open(photos / rel) as im:
                encoded = encode_smaller(downscale(im.convert("RGB"), short_side), quality)
            name = rel.with_suffix(encoded.suffix).as_posix()
            add_bytes(tar, name, encoded.data)
            original_bytes += (photos / rel).stat().st_size
            formats[encoded.suffix] = formats.get(encoded.suffix, 0) + 1
            # Photos the manifest does not list (a hand-made folder) still travel, with a bare entry.
            entry = dict(entries.get(rel.as_posix(), {"path": rel.as_posix(), "split": rel.parts[0]}))
            entry["bundled"] = {"path": name, "bytes": len(encoded.data), "width": encoded.width,
                                "height": encoded.height, "sha256": hashlib.sha256(encoded.data).hexdigest()}
            bundled_entries.append(entry)
        summary = {"short_side": short_side, "quality": quality, "photos": len(bundled_entries),
                   "per_split": {s: sum(e["split"] == s for e in bundled_entries) for s in SPLITS},
                   "formats": formats, "original_bytes": original_bytes,
                   "photo_bytes": sum(e["bundled"]["bytes"] for e in bundled_entries)}
        bundled_manifest = {**manifest, "photos": bundled_entries, "bundle": summary}
        add_bytes(tar, MANIFEST_NAME, (json.dumps(bundled_manifest, indent=1) + "\n").encode())
    size = tmp.stat().st_size
    if size > max_mib * MIB:
        tmp.unlink()
        raise ValueError(f"the bundle would be {size / MIB:.1f} MiB, over the {max_mib} MiB limit: "
                         f"lower --short-side ({short_side}) or --quality ({quality})")
    os.replace(tmp, out)
    return {**summary, "bundle_bytes": size, "seconds": round(time.monotonic() - started, 1)}


def unbundle(bundle: Path, out: Path) -> dict:
    """Unpack into `out` (train/, val/, manifest.json) and check every photo the manifest lists arrived whole."""
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle) as tar:
        tar.extractall(out, filter="data")  # refuses absolute paths and `..`, whoever made the tar
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    for entry in manifest["photos"]:
        bundled = entry["bundled"]
        path = out / bundled["path"]
        if not path.is_file() or path.stat().st_size != bundled["bytes"]:
            raise ValueError(f"{bundle}: {bundled['path']} is missing or truncated")
    return manifest["bundle"]
