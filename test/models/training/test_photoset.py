"""Unit tests of the photo-set builder: carving, photo filter, de-duplication, licences.

Everything here is synthetic: no network, no Debian packages.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from palette_training import photoset_filter as pf
from palette_training.photoset import (
    Candidate,
    Drops,
    carve_rcc,
    deduplicate,
    examine,
    sidecar_rotations,
    write_outputs,
)
from palette_training.photoset_carve import carve, carve_valid, read_rcc_entries
from palette_training.photoset_debian import Copyright, guess_licence, licence_for, parse_copyright
from palette_training.photoset_packages import PackageSpec

# --- synthetic images


def natural_image(width: int = 512, height: int = 384, seed: int = 0) -> Image.Image:
    """Smooth random shading plus sensor-like noise: statistically photo-like."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(30, 220, size=(6, 8, 3)).astype(np.uint8)
    shading = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), dtype=float)
    noisy = shading + rng.normal(0, 6, size=shading.shape)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def cartoon_image(width: int = 512, height: int = 384) -> Image.Image:
    img = Image.new("RGB", (width, height), (120, 190, 250))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 260, width, height), fill=(60, 170, 60))
    draw.ellipse((360, 30, 450, 120), fill=(255, 220, 0))
    draw.rectangle((80, 150, 220, 270), fill=(200, 40, 40), outline=(0, 0, 0), width=4)
    return img


def cutout_image() -> Image.Image:
    img = natural_image().convert("RGBA")
    alpha = Image.new("L", img.size, 0)
    ImageDraw.Draw(alpha).ellipse((100, 50, 400, 330), fill=255)
    img.putalpha(alpha)
    return img


def encoded(img: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def jpeg_with_embedded_thumbnail() -> bytes:
    """A JPEG whose APP1 segment carries a complete second JPEG, as EXIF thumbnails do."""
    outer = encoded(natural_image(200, 150), "JPEG", quality=80)
    thumb = encoded(natural_image(40, 30, seed=1), "JPEG", quality=50)
    payload = b"Exif\x00\x00" + thumb
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return outer[:2] + app1 + outer[2:]


# --- carving


def test_carver_finds_each_format_once_and_skips_garbage() -> None:
    jpeg = jpeg_with_embedded_thumbnail()
    png = encoded(natural_image(64, 48), "PNG")
    webp = encoded(natural_image(64, 48), "WEBP", quality=80)
    fake_jpeg = b"\xff\xd8\xff\x00\x01\x02\xff\xd9"  # signature and EOI, but no frame
    truncated_png = png[: len(png) // 2]
    buf = b"junk" * 10 + jpeg + b"\x00" * 7 + fake_jpeg + png + truncated_png + b"pad" + webp + b"tail"

    blobs = carve(buf)

    assert [b.kind for b in blobs] == ["jpeg", "png", "webp"]
    assert blobs[0].offset == 40 and blobs[0].data == jpeg  # the thumbnail is not reported on its own
    assert blobs[1].data == png
    assert blobs[2].data == webp
    assert [img.size for _, img in carve_valid(buf)] == [(200, 150), (64, 48), (64, 48)]


def test_carve_valid_rejects_well_formed_but_undecodable_streams() -> None:
    png = bytearray(encoded(natural_image(64, 48), "PNG"))
    idat = png.index(b"IDAT")
    png[idat + 8 : idat + 16] = b"\x00" * 8  # chunk structure intact, pixel data corrupt
    assert len(carve(bytes(png))) == 1
    assert carve_valid(bytes(png)) == []


def rcc_bundle(entries: list[tuple[str, bytes, bool]]) -> bytes:
    """A minimal Qt resource file (format version 3): a root directory holding files."""
    names = b""
    data = b""
    nodes = []
    for name, payload, compress in entries:
        name_offset = len(names)
        names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
        if compress:
            payload = struct.pack(">I", len(payload)) + zlib.compress(payload)
        nodes.append(struct.pack(">IHHHI", name_offset, 1 if compress else 0, 0, 0, len(data)) + b"\x00" * 8)
        data += struct.pack(">I", len(payload)) + payload
    root = struct.pack(">IHII", 0, 2, len(entries), 1) + b"\x00" * 8
    tree = root + b"".join(nodes)
    header_size = 24
    tree_at, data_at = header_size, header_size + len(tree)
    names_at = data_at + len(data)
    header = b"qres" + struct.pack(">5I", 3, tree_at, data_at, names_at, 1)
    return header + tree + data + names


def test_rcc_entries_are_listed_and_zlib_entries_inflated() -> None:
    png = encoded(natural_image(64, 48), "PNG")
    jpeg = encoded(natural_image(64, 48, seed=2), "JPEG")
    bundle = rcc_bundle([("a.png", png, False), ("b.jpg", jpeg, True), ("c.qml", b"Item {}", True)])

    entries = read_rcc_entries(bundle)

    assert entries is not None
    assert [(e.name, e.compressed) for e in entries] == [("/a.png", False), ("/b.jpg", True), ("/c.qml", True)]
    assert entries[0].data == png and bundle[entries[0].offset : entries[0].offset + len(png)] == png
    assert entries[1].data == jpeg  # only findable after inflating
    assert not any(b.kind == "jpeg" for b in carve(bundle))
    assert [b.kind for b in carve(entries[1].data)] == ["jpeg"]


def test_rcc_candidates_record_bundle_and_offset() -> None:
    png = encoded(natural_image(64, 48), "PNG")
    jpeg = encoded(natural_image(64, 48, seed=2), "JPEG")
    bundle = rcc_bundle([("a.png", png, False), ("b.jpg", jpeg, True)])

    found = list(carve_rcc("pkg", "usr/share/app/x.rcc", bundle))

    assert [c.source_path for c in found][0] == f"usr/share/app/x.rcc@{bundle.index(png)}"
    assert found[1].source_path.startswith("usr/share/app/x.rcc@") and found[1].source_path.endswith("+zlib:0")
    assert [c.name for c in found] == ["x/a.png", "x/b.jpg"]
    assert [c.data for c in found] == [png, jpeg]


def test_non_rcc_data_is_not_parsed_as_rcc() -> None:
    assert read_rcc_entries(b"not a resource file at all") is None
    assert read_rcc_entries(b"qres" + b"\xff" * 30) is None


# --- photo filter


def test_natural_image_is_kept() -> None:
    verdict = pf.classify(natural_image())
    assert verdict.reason == "ok", verdict.stats


def test_flat_colour_cartoon_is_dropped() -> None:
    assert pf.classify(cartoon_image()).reason == "cartoon"
    # JPEG ringing around the shapes must not rescue it
    assert pf.classify(Image.open(io.BytesIO(encoded(cartoon_image(), "JPEG", quality=90)))).reason == "cartoon"


def test_transparent_cutout_is_dropped_but_opaque_alpha_is_not() -> None:
    assert pf.classify(cutout_image()).reason == "transparent"
    opaque = natural_image().convert("RGBA")
    assert pf.classify(opaque).reason == "ok"


def test_small_image_is_dropped() -> None:
    assert pf.classify(natural_image(120, 90)).reason == "small"


# --- duplicates


def test_resized_and_recompressed_copy_is_a_near_duplicate() -> None:
    original = natural_image(960, 540)
    copy = Image.open(io.BytesIO(encoded(original.resize((480, 270)), "JPEG", quality=70))).convert("RGB")
    narrow_crop = original.crop((120, 0, 840, 540))  # the 4:3 wallpaper variant of a 16:9 photo
    other = natural_image(960, 540, seed=5)

    hashes = [pf.perceptual_hashes(img) for img in (original, copy, narrow_crop, other)]

    assert pf.duplicate_groups(hashes) == [0, 0, 0, 3]


def _candidate(name: str, img: Image.Image) -> Candidate:
    return Candidate("pkg", name, name, encoded(img, "JPEG", quality=92))


def test_deduplicate_keeps_the_largest_copy() -> None:
    spec = PackageSpec("pkg", "train")
    terms = Copyright((), "GPL-2+")
    big = natural_image(1024, 768)
    sources = [("small.jpg", big.resize((512, 384))), ("big.jpg", big), ("other.jpg", natural_image(seed=9))]
    drops = Drops()
    photos = [examine(_candidate(n, img), spec, terms, "1.0", 0, drops, False) for n, img in sources]
    assert not drops.counts

    kept, replaced_by = deduplicate([p for p in photos if p is not None])

    assert [p.candidate.source_path for p in kept] == ["big.jpg", "other.jpg"]
    assert [r.candidate.source_path for r in replaced_by.values()] == ["big.jpg"]


def test_writing_twice_is_idempotent_and_removes_stale_files(tmp_path: Path) -> None:
    spec = PackageSpec("pkg", "val")
    terms = Copyright((), "GPL-2+")
    photo = examine(_candidate("dir/a.jpg", natural_image()), spec, terms, "1.0", 256, Drops(), False)
    assert photo is not None
    stale = tmp_path / "val" / "pkg" / "old.jpg"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x")

    first, _, _ = write_outputs(tmp_path, [(spec, photo)], (spec,), Drops(), False)
    second, _, _ = write_outputs(tmp_path, [(spec, photo)], (spec,), Drops(), False)

    assert first == second
    assert [e["path"] for e in first] == ["val/pkg/a.jpg"]
    assert (first[0]["width"], first[0]["height"]) == (341, 256)  # downscaled, short side 256
    assert not stale.exists()


# --- licences

DEP5 = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: demo

Files: *
Copyright: 2020 Someone
License: GPL-3+

Files:
 images/land/*
 images/sky/*.jpg
Copyright: 2021 Photographer
License: CC-BY-SA-4.0
 Long licence text that is
 not part of the name.

Files: images/land/secret*
License: public-domain

License: GPL-3+
 Full text.
"""


def test_dep5_licence_lookup_matches_installed_path_suffixes() -> None:
    terms = parse_copyright(DEP5)

    assert terms.overall == "GPL-3+"
    assert licence_for(terms, ["usr/share/games/demo/images/land/beach@2x.jpg"]) == "CC-BY-SA-4.0"
    assert licence_for(terms, ["usr/share/games/demo/images/sky/x.jpg"]) == "CC-BY-SA-4.0"
    assert licence_for(terms, ["usr/share/games/demo/images/land/secret1.jpg"]) == "public-domain"  # last wins
    assert licence_for(terms, ["usr/share/games/demo/images/ui/button.png"]) == "GPL-3+"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("under the GNU General Public License as published by the Free Software Foundation; "
         "either version 2 of the License, or (at your option) any later version.", "GPL-2+"),
        ("GNU Lesser General Public License version 2.1 only", "LGPL-2.1"),
        ("All rights reserved.", "unknown"),
    ],
)  # fmt: skip
def test_free_text_copyright_falls_back_to_a_guess(text: str, expected: str) -> None:
    assert guess_licence(text) == expected
    assert parse_copyright("This package was debianized by someone.\n\n" + text).overall == expected


def test_kphotoalbum_index_rotations_are_read(tmp_path: Path) -> None:
    album = tmp_path / "usr/share/kphotoalbum/demo"
    album.mkdir(parents=True)
    (album / "index.xml").write_text(
        '<KPhotoAlbum><images><image file="a.jpg" angle="90"/><image file="b.jpg" angle="0"/>'
        '<image file="c.jpg"/></images></KPhotoAlbum>'
    )
    assert sidecar_rotations(tmp_path) == {"usr/share/kphotoalbum/demo/a.jpg": 90}
