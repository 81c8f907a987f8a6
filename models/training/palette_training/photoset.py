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
from palette_training.photoset_sheets import write_sheet

Image.MAX_IMAGE_PIXELS = 120_000_000  # the biggest wallpapers are ~5k x 3k; refuse bombs


@dataclass(frozen=True)
class PackageSpec:
    name: str
    split: str  # "train" or "val"
    include: tuple[str, ...] = ("*",)  # globs on paths inside the package
    # Files the colour heuristics let through but that are, on inspection, not photos.
    exclude: tuple[str, ...] = ()


# Held-out packages (val) are whole packages: their photos never appear in train.
# ``include`` scopes each package to where its photos live (handbook screenshots
# under usr/share/doc/HTML are never wanted).  ``exclude`` lists files that pass
# the colour heuristics but that contact sheets showed are not photographs:
# paintings, rendered/abstract wallpapers, synthetic test patterns, logos,
# generated textures, and deliberately degraded (blurred) test images.
PACKAGES: tuple[PackageSpec, ...] = (
    PackageSpec("endless-sky-high-dpi", "train", ("*/images/land/*",)),
    PackageSpec(
        "gcompris-qt-data",
        "train",
        ("usr/share/gcompris-qt/*",),
        (
            "*/babyshapes/resource/image/*_background.webp",  # paintings with shapes cut out
            "*/details/resource/image/*Gogh*",
            "*/details/resource/image/PortraitOfPereTanguy*",
            "*/details/resource/image/Eglise_dAuvers*",
            "*/paintings/resource/*",
            "*/louis-braille/resource/chart.webp",
        ),
    ),
    PackageSpec("scratch", "train", ("usr/share/scratch/Media/Backgrounds/*",), ("*/room2.jpg",)),
    PackageSpec("mate-backgrounds", "train", ("usr/share/backgrounds/mate/nature/*",)),
    PackageSpec(
        "plasma-workspace-wallpapers",
        "train",
        ("usr/share/wallpapers/*",),
        tuple(
            f"usr/share/wallpapers/{name}/*"
            for name in (
                "Altai", "Autumn", "Canopee", "Cascade", "Cluster", "ColorfulCups", "Elarun", "Flow",
                "FlyingKonqui", "Honeywave", "IceCold", "Kay", "Kokkini", "MilkyWay", "Opal",
                "PastelHills", "Patak", "SafeLanding", "Shell", "Volna",
            )
        ),
    ),
    PackageSpec(
        "lxqt-themes",
        "train",
        ("usr/share/lxqt/wallpapers/*",),
        tuple(
            f"*/wallpapers/{name}"
            for name in ("kde-plasma.png", "plasma-logo-*.png", "plasma_arch.png", "triangles*.png", "origami*.png")
        ),
    ),
    PackageSpec("kphotoalbum", "val", ("usr/share/kphotoalbum/*",), ("*/splash*",)),
    PackageSpec("palapeli-data", "val", ("usr/share/palapeli/collection/*",)),
    PackageSpec("gnome-control-center-data", "train", ("usr/share/pixmaps/faces/*",)),
    PackageSpec(
        "opencv-doc",
        "train",
        ("usr/share/doc/opencv-doc/examples/*",),
        tuple(
            f"*/examples/{name}"
            for name in (
                "data/WindowsLogo.jpg", "data/HappyFish.jpg", "data/digits.png", "data/ellipses.jpg",
                "data/gradient.png", "data/pca_test1.jpg", "data/pic*.png", "data/starry_night.jpg",
                "data/text_defocus.jpg", "data/text_motion.jpg", "data/licenseplate_motion.jpg",
                "data/imageText*.png", "data/ml.png", "fuzzy/input.png", "ximgproc/stanford.png",
            )
        ),
    ),
    PackageSpec("libdlib19.1", "train"),
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".ppm", ".pgm"}
LOSSY_FORMATS = {"JPEG", "MPO"}
DROP_REASONS = ("undecodable", "small", "transparent", "cartoon", "excluded", "duplicate")


@dataclass
class Candidate:
    package: str
    source_path: str  # inside the package; "<rcc>@<offset>" for carved images
    logical_path: str  # used for naming and licence lookup (rcc entry path for carved images)
    data: bytes


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


def iter_candidates(pkg: UnpackedPackage, spec: PackageSpec) -> Iterator[Candidate]:
    for path in _walk_sorted(pkg.root):
        rel = path.relative_to(pkg.root).as_posix()
        if not any(fnmatch.fnmatchcase(rel, g) for g in spec.include):
            continue
        suffixes = [s.lower() for s in path.suffixes[-2:]]
        if suffixes and suffixes[-1] in IMAGE_SUFFIXES:
            yield Candidate(pkg.name, rel, rel, path.read_bytes())
        elif suffixes[-2:-1] and suffixes[-2] in IMAGE_SUFFIXES and suffixes[-1] == ".gz":
            yield Candidate(pkg.name, rel, rel[: -len(".gz")], gzip.decompress(path.read_bytes()))
        elif suffixes and suffixes[-1] == ".rcc":
            yield from _carve_rcc(pkg.name, rel, path.read_bytes())


def _carve_rcc(package: str, rel: str, buf: bytes) -> Iterator[Candidate]:
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
            yield Candidate(package, f"{rel}@{where}", f"{rel}{entry.name}{suffix}", blob.data)


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
    copyright: Copyright,
    version: str,
    max_short_side: int,
    drops: Drops,
    sheets: bool,
) -> Photo | None:
    img = decode_blob(cand.data)
    if img is None:
        drops.add("undecodable", None, sheets)
        return None
    if any(fnmatch.fnmatchcase(cand.logical_path, g) for g in spec.exclude):
        drops.add("excluded", img, sheets)
        return None
    verdict = pf.classify(img)
    if verdict.reason != "ok":
        drops.add(verdict.reason, img, sheets)
        return None
    lossless = _is_lossless(img, cand.data)
    rgb = pf.to_rgb(ImageOps.exif_transpose(img))
    licence = licence_for(copyright, [cand.logical_path])
    hashes = pf.perceptual_hashes(rgb)
    small = downscale(rgb, max_short_side)  # hold thousands of photos in memory at output size
    return Photo(cand, small, rgb.size, lossless, pf.pixel_sha256(rgb), hashes, licence, version)


def deduplicate(photos: list[Photo], drops: Drops, sheets: bool) -> list[Photo]:
    """Keep the largest member of each exact or near-duplicate group (first one on ties)."""
    exact: dict[str, Photo] = {}
    for photo in photos:
        exact.setdefault(photo.pixel_sha, photo)
    unique = list(exact.values())
    groups = pf.duplicate_groups([p.hashes for p in unique])
    best: dict[int, Photo] = {}
    for group, photo in zip(groups, unique):
        current = best.get(group)
        if current is None or _area(photo) > _area(current):
            best[group] = photo
    keep = {id(p) for p in best.values()}
    for photo in photos:
        if id(photo) not in keep:
            drops.add("duplicate", photo.image, sheets)
    return [p for p in photos if id(p) in keep]


def _area(photo: Photo) -> int:
    return photo.original_size[0] * photo.original_size[1]


# --- writing


def output_names(photos: list[Photo]) -> list[str]:
    """Flat, unique file stems: the logical path minus the package's common directory."""
    dirs = [p.candidate.logical_path.split("/")[:-1] for p in photos]
    common = os.path.commonprefix(dirs) if dirs else []
    names: list[str] = []
    for photo in photos:
        rest = photo.candidate.logical_path.split("/")[len(common) :]
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
        and source is not None
        and source.format == "JPEG"
        and source.mode == "RGB"
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
    for photo, stem in zip(photos, output_names(photos)):
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


def remove_stale(out: Path, keep: set[str]) -> None:
    """Delete files from earlier runs that this run did not produce (idempotence)."""
    for split in ("train", "val"):
        for path in sorted((out / split).rglob("*")) if (out / split).is_dir() else []:
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


def build(
    out: Path, cache: Path, scratch: Path, packages: tuple[PackageSpec, ...], max_short_side: int, sheets: Path | None
) -> dict:
    drops = Drops()
    photos: list[tuple[PackageSpec, Photo]] = []
    for spec in packages:
        pkg = unpack(download(cache, spec.name), scratch, spec.name)
        copyright = read_copyright(pkg)
        before = len(photos)
        for cand in iter_candidates(pkg, spec):
            photo = examine(cand, spec, copyright, pkg.version, max_short_side, drops, sheets is not None)
            if photo is not None:
                photos.append((spec, photo))
        print(f"{spec.name} {pkg.version}: {len(photos) - before} photo candidates", file=sys.stderr)

    kept = {id(p) for p in deduplicate([p for _, p in photos], drops, sheets is not None)}
    entries: list[dict] = []
    for spec in packages:
        mine = [p for s, p in photos if s is spec and id(p) in kept]
        entries += write_photos(out, spec, mine)
    remove_stale(out, {e["path"] for e in entries})

    summary = summarise(entries, drops.counts)
    manifest = {"summary": summary, "photos": entries}
    write_if_changed(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())
    if sheets is not None:
        for reason, thumbs in sorted(drops.thumbs.items()):
            write_sheet(thumbs, sheets / f"dropped_{reason}")
        write_sheet([thumbnail(p.image) for _, p in photos if id(p) in kept], sheets / "kept")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (data/photos)")
    parser.add_argument("--cache", type=Path, default=Path("data/debs"), help="where .deb files are kept")
    parser.add_argument("--scratch", type=Path, help="unpack folder (default: <cache>/unpacked)")
    parser.add_argument("--max-short-side", type=int, default=1024, help="downscale larger photos; 0 keeps size")
    parser.add_argument("--only", nargs="*", help="process just these packages (for debugging)")
    parser.add_argument("--sheets", type=Path, help="also write contact sheets of kept/dropped images here")
    args = parser.parse_args(argv)

    packages = tuple(p for p in PACKAGES if not args.only or p.name in args.only)
    scratch = args.scratch or args.cache / "unpacked"
    summary = build(args.out, args.cache, scratch, packages, args.max_short_side, args.sheets)
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
