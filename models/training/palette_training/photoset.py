"""Build a small set of real photographs from Debian packages for training Palette.

Usage (from ``models/training``)::

    python -m palette_training.photoset --out ../../data/photos --cache ../../data/debs

Each package is fetched with ``apt-get download`` and unpacked with
``dpkg-deb -x`` (nothing is installed).  Loose image files and images carved
out of Qt ``.rcc`` bundles are decoded, filtered to photographs
(:mod:`palette_training.photoset_filter`), de-duplicated, downscaled so the
short side is at most 1024 px, and written to ``<out>/<split>/<package>/``.
Whole packages are held out for validation so that no scene leaks across
splits.  ``<out>/manifest.json`` records provenance and licence per photo.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import hashlib
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from PIL import Image, ImageOps

from palette_training import photoset_filter as pf
from palette_training.photoset_carve import carve_valid, decode_blob, read_rcc_entries
from palette_training.photoset_debian import (
    Copyright,
    UnpackedPackage,
    download,
    licence_for,
    read_copyright,
    unpack,
)
from palette_training.photoset_packages import PACKAGES, PackageSpec
from palette_training.photoset_sheets import write_sheet

Image.MAX_IMAGE_PIXELS = 120_000_000  # the biggest wallpapers are ~5k x 3k; refuse bombs


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".ppm", ".pgm"}
LOSSY_FORMATS = {"JPEG", "MPO"}
DROP_REASONS = ("undecodable", "small", "transparent", "cartoon", "excluded", "duplicate")


@dataclass
class Candidate:
    package: str
    source_path: str  # inside the package; "<rcc>@<offset>" for carved images
    logical_path: str  # used for naming and licence lookup (rcc entry path for carved images)
    data: bytes
    rotate: int = 0  # clockwise degrees recorded by a photo manager (the pixels are stored sideways)
    name: str = ""  # short path the output file name is made from; logical_path if empty


@dataclass
class Photo:
    candidate: Candidate
    image: Image.Image  # opaque RGB, orientation applied, already downscaled for output
    original_size: tuple[int, int]  # before downscaling: "keep the largest" compares these
    lossless: bool
    pixel_sha: str
    hashes: tuple[int, int]
    licence: str
    version: str


@dataclass
class Drops:
    counts: Counter[str] = field(default_factory=Counter)
    thumbs: dict[str, list[Image.Image]] = field(default_factory=dict)

    def add(self, reason: str, img: Image.Image | None, keep_thumb: bool) -> None:
        self.counts[reason] += 1
        if keep_thumb and img is not None:
            self.thumbs.setdefault(reason, []).append(thumbnail(img))


def thumbnail(img: Image.Image, size: int = 160) -> Image.Image:
    thumb = pf.to_rgb(img.copy() if img.mode == "RGB" else img)
    thumb.thumbnail((size, size))
    return thumb


# --- finding candidate images inside an unpacked package


def _walk_sorted(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_symlink():  # links only duplicate files we already visit
                yield path


def sidecar_rotations(root: Path) -> dict[str, int]:
    """Rotations that a KPhotoAlbum ``index.xml`` records for its images.

    KPhotoAlbum's demo album stores some photos sideways and keeps the
    correction in its database instead of in EXIF.
    """
    rotations: dict[str, int] = {}
    for index in sorted(root.rglob("index.xml")):
        try:
            tree = ElementTree.parse(index)
        except ElementTree.ParseError:
            continue
        for image in tree.iter("image"):
            angle = int(image.get("angle", "0") or 0) % 360
            if angle and image.get("file"):
                rotations[(index.parent / image.get("file", "")).relative_to(root).as_posix()] = angle
    return rotations


def iter_candidates(pkg: UnpackedPackage, spec: PackageSpec) -> Iterator[Candidate]:
    rotations = sidecar_rotations(pkg.root)
    for path in _walk_sorted(pkg.root):
        rel = path.relative_to(pkg.root).as_posix()
        if not any(fnmatch.fnmatchcase(rel, g) for g in spec.include):
            continue
        suffixes = [s.lower() for s in path.suffixes[-2:]]
        if suffixes and suffixes[-1] in IMAGE_SUFFIXES:
            yield Candidate(pkg.name, rel, rel, path.read_bytes(), rotations.get(rel, 0))
        elif suffixes[-2:-1] and suffixes[-2] in IMAGE_SUFFIXES and suffixes[-1] == ".gz":
            yield Candidate(pkg.name, rel, rel[: -len(".gz")], gzip.decompress(path.read_bytes()))
        elif suffixes and suffixes[-1] == ".rcc":
            yield from carve_rcc(pkg.name, rel, path.read_bytes())


def carve_rcc(package: str, rel: str, buf: bytes) -> Iterator[Candidate]:
    """Images inside a Qt resource bundle, entry by entry (whole-file carving as fallback)."""
    entries = read_rcc_entries(buf)
    if entries is None:
        for blob, _ in carve_valid(buf):
            yield Candidate(package, f"{rel}@{blob.offset}", f"{rel}/{blob.offset}", blob.data)
        return
    for entry in entries:
        for blob, _ in carve_valid(entry.data):
            where = f"{entry.offset}+zlib:{blob.offset}" if entry.compressed else f"{entry.offset + blob.offset}"
            suffix = f"@{blob.offset}" if blob.offset else ""
            # Qt resource paths are long and repetitive; bundle + file name is enough to name it.
            base = Path(entry.name)
            name = f"{Path(rel).stem}/{base.stem}{suffix}{base.suffix}"
            yield Candidate(package, f"{rel}@{where}", f"{rel}{entry.name}{suffix}", blob.data, name=name)


# --- filtering


def _is_lossless(img: Image.Image, data: bytes) -> bool:
    if img.format == "WEBP":
        return data[12:16] == b"VP8L"  # VP8L is the lossless WebP bitstream
    return img.format not in LOSSY_FORMATS


def downscale(img: Image.Image, max_short_side: int) -> Image.Image:
    if not max_short_side or min(img.size) <= max_short_side:
        return img
    scale = max_short_side / min(img.size)
    return img.resize((round(img.size[0] * scale), round(img.size[1] * scale)), Image.Resampling.LANCZOS)


def examine(
    cand: Candidate,
    spec: PackageSpec,
    terms: Copyright,
    version: str,
    max_short_side: int,
    drops: Drops,
    sheets: bool,
) -> Photo | None:
    img = decode_blob(cand.data)
    if img is None:
        drops.add("undecodable", None, sheets)
        return None
    verdict = pf.classify(img)
    if verdict.reason != "ok":
        drops.add(verdict.reason, img, sheets)
        return None
    # The manual list is applied last, so "excluded" counts only what it alone removed.
    if any(fnmatch.fnmatchcase(cand.logical_path, g) for g in spec.exclude):
        drops.add("excluded", img, sheets)
        return None
    lossless = _is_lossless(img, cand.data)
    rgb = pf.to_rgb(ImageOps.exif_transpose(img)).rotate(-cand.rotate, expand=True)
    licence = licence_for(terms, [cand.logical_path])
    hashes = pf.perceptual_hashes(rgb)
    small = downscale(rgb, max_short_side)  # hold thousands of photos in memory at output size
    return Photo(cand, small, rgb.size, lossless, pf.pixel_sha256(rgb), hashes, licence, version)


def deduplicate(photos: list[Photo]) -> tuple[list[Photo], dict[int, Photo]]:
    """Keep the largest member of each exact or near-duplicate group (first one on ties).

    Returns the kept photos in input order and, for every dropped photo (by
    ``id``), the photo that was kept in its place.
    """
    exact: dict[str, Photo] = {}
    for photo in photos:
        exact.setdefault(photo.pixel_sha, photo)
    unique = list(exact.values())
    group_of = dict(zip((id(p) for p in unique), pf.duplicate_groups([p.hashes for p in unique]), strict=True))
    best: dict[int, Photo] = {}
    for photo in unique:
        current = best.get(group_of[id(photo)])
        if current is None or _area(photo) > _area(current):
            best[group_of[id(photo)]] = photo
    kept_ids = {id(p) for p in best.values()}
    replaced_by = {id(p): best[group_of[id(exact[p.pixel_sha])]] for p in photos if id(p) not in kept_ids}
    return [p for p in photos if id(p) in kept_ids], replaced_by


def _area(photo: Photo) -> int:
    return photo.original_size[0] * photo.original_size[1]


# --- writing


def output_names(photos: list[Photo]) -> list[str]:
    """Flat, unique file stems: the candidate's path minus the package's common directory."""
    paths = [(p.candidate.name or p.candidate.logical_path).split("/") for p in photos]
    common = os.path.commonprefix([parts[:-1] for parts in paths]) if paths else []
    names: list[str] = []
    for parts in paths:
        rest = parts[len(common) :]
        rest[-1] = rest[-1].rsplit(".", 1)[0]
        stem = "".join(c if c.isalnum() or c in "._@-" else "_" for c in "__".join(rest))
        name, n = stem, 1
        while name in names:
            n += 1
            name = f"{stem}-{n}"
        names.append(name)
    return names


def encode(photo: Photo) -> tuple[bytes, str, tuple[int, int]]:
    """File bytes, extension and size; JPEG sources are copied verbatim when untouched."""
    img = photo.image
    if photo.lossless:
        buf = io.BytesIO()
        img.save(buf, "PNG", optimize=True)
        return buf.getvalue(), ".png", img.size
    source = decode_blob(photo.candidate.data)
    untouched = (
        img.size == photo.original_size
        and photo.candidate.rotate == 0
        and source is not None
        and source.format == "JPEG"
        and source.mode in ("RGB", "L")
        and source.getexif().get(0x0112, 1) == 1  # no EXIF rotation to bake in
    )
    if untouched:
        return photo.candidate.data, ".jpg", img.size
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue(), ".jpg", img.size


def write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_photos(out: Path, spec: PackageSpec, photos: list[Photo]) -> list[dict]:
    entries = []
    for photo, stem in zip(photos, output_names(photos), strict=True):
        data, ext, (width, height) = encode(photo)
        rel = f"{spec.split}/{spec.name}/{stem}{ext}"
        write_if_changed(out / rel, data)
        entries.append(
            {
                "path": rel,
                "split": spec.split,
                "package": spec.name,
                "package_version": photo.version,
                "source_path": photo.candidate.source_path,
                "licence": photo.licence,
                "width": width,
                "height": height,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return entries


def remove_stale(out: Path, packages: tuple[PackageSpec, ...], keep: set[str]) -> None:
    """Delete files from earlier runs that this run did not produce (idempotence).

    Only the folders of the packages processed now are touched, so ``--only``
    cannot wipe the other packages' photos.
    """
    for spec in packages:
        for split in ("train", "val"):
            folder = out / split / spec.name
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if path.is_file() and path.relative_to(out).as_posix() not in keep:
                    path.unlink()


# --- summary


def summarise(entries: list[dict], drops: Counter[str]) -> dict:
    return {
        "total": len(entries),
        "per_split": dict(sorted(Counter(e["split"] for e in entries).items())),
        "per_package": dict(sorted(Counter(e["package"] for e in entries).items())),
        f"short_side_below_{pf.PREFERRED_SHORT_SIDE}": sum(
            min(e["width"], e["height"]) < pf.PREFERRED_SHORT_SIDE for e in entries
        ),
        "dropped": {reason: drops.get(reason, 0) for reason in DROP_REASONS},
    }


def format_summary(summary: dict) -> str:
    lines = [f"{'package':<30} {'photos':>6}"]
    lines += [f"{name:<30} {n:>6}" for name, n in summary["per_package"].items()]
    lines += [f"{'split ' + name:<30} {n:>6}" for name, n in summary["per_split"].items()]
    lines.append(f"{'total':<30} {summary['total']:>6}")
    small_key = f"short_side_below_{pf.PREFERRED_SHORT_SIDE}"
    lines.append(f"{'(of which ' + small_key + ')':<30} {summary[small_key]:>6}")
    lines += [f"{'dropped ' + reason:<30} {n:>6}" for reason, n in summary["dropped"].items()]
    return "\n".join(lines)


# --- driver


def collect(
    cache: Path, scratch: Path, packages: tuple[PackageSpec, ...], max_short_side: int, drops: Drops, sheets: bool
) -> list[tuple[PackageSpec, Photo]]:
    """Fetch, unpack and filter every package; photos come back in deterministic order."""
    photos: list[tuple[PackageSpec, Photo]] = []
    for spec in packages:
        pkg = unpack(download(cache, spec.name), scratch, spec.name)
        terms = read_copyright(pkg)
        before = len(photos)
        for cand in iter_candidates(pkg, spec):
            photo = examine(cand, spec, terms, pkg.version, max_short_side, drops, sheets)
            if photo is not None:
                photos.append((spec, photo))
        print(f"{spec.name} {pkg.version}: {len(photos) - before} photos before de-duplication", file=sys.stderr)
    return photos


def write_outputs(
    out: Path, photos: list[tuple[PackageSpec, Photo]], packages: tuple[PackageSpec, ...], drops: Drops, sheets: bool
) -> tuple[list[dict], list[dict], list[Photo]]:
    """De-duplicate, write image files; returns manifest entries, duplicate records and kept photos."""
    kept, replaced_by = deduplicate([p for _, p in photos])
    kept_ids = {id(p) for p in kept}
    entries: list[dict] = []
    path_of: dict[int, str] = {}
    for spec in packages:
        mine = [p for s, p in photos if s is spec and id(p) in kept_ids]
        written = write_photos(out, spec, mine)
        path_of.update((id(p), e["path"]) for p, e in zip(mine, written, strict=True))
        entries += written
    remove_stale(out, packages, {e["path"] for e in entries})

    duplicates = []
    for spec, photo in photos:
        if id(photo) in replaced_by:
            drops.add("duplicate", photo.image, sheets)
            kept_path = path_of[id(replaced_by[id(photo)])]
            duplicates.append(
                {"package": spec.name, "source_path": photo.candidate.source_path, "duplicate_of": kept_path}
            )
    return entries, duplicates, kept


def build(
    out: Path, cache: Path, scratch: Path, packages: tuple[PackageSpec, ...], max_short_side: int, sheets: Path | None
) -> dict:
    drops = Drops()
    photos = collect(cache, scratch, packages, max_short_side, drops, sheets is not None)
    entries, duplicates, kept = write_outputs(out, photos, packages, drops, sheets is not None)
    summary = summarise(entries, drops.counts)
    manifest = {"summary": summary, "photos": entries, "duplicates": duplicates}
    write_if_changed(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())
    if sheets is not None:
        for reason, thumbs in sorted(drops.thumbs.items()):
            write_sheet(thumbs, sheets / f"dropped_{reason}")
        write_sheet([thumbnail(p.image) for p in kept], sheets / "kept")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (data/photos)")
    parser.add_argument("--cache", type=Path, default=Path("data/debs"), help="where .deb files are kept")
    parser.add_argument("--scratch", type=Path, help="unpack folder (default: <cache>/unpacked)")
    parser.add_argument("--max-short-side", type=int, default=1024, help="downscale larger photos; 0 keeps size")
    parser.add_argument("--only", nargs="*", help="just these packages (debugging; the manifest lists only them)")
    parser.add_argument("--sheets", type=Path, help="also write contact sheets of kept/dropped images here")
    args = parser.parse_args(argv)

    packages = tuple(p for p in PACKAGES if not args.only or p.name in args.only)
    scratch = args.scratch or args.cache / "unpacked"
    summary = build(args.out, args.cache, scratch, packages, args.max_short_side, args.sheets)
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
