"""The photo bundle and the split/join of files for the trip to a lent GPU machine and back."""

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from palette_training.bundle import build_bundle, unbundle
from palette_training.data import PhotoSet
from palette_training.fixture import draw_synthetic_photo
from palette_training.pieces import PieceError, join_pieces, split_file


def photo_set(root: Path) -> Path:
    """train/ and val/ with one package each, a manifest, and photos above and below the short side."""
    rng = np.random.default_rng(3)
    entries = []
    for split, package, sizes in (("train", "pkg-a", (96, 96, 40)), ("val", "pkg-b", (80,))):
        for i, size in enumerate(sizes):
            rel = f"{split}/{package}/photo-{i}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            draw_synthetic_photo(rng, size=size).crop((0, 0, size, size * 3 // 4)).save(root / rel)
            entries.append({"path": rel, "split": split, "package": package, "licence": "public-domain",
                            "width": size, "height": size * 3 // 4, "sha256": "original"})
    (root / "manifest.json").write_text(json.dumps({"summary": {"total": len(entries)}, "photos": entries}))
    return root


def test_bundle_round_trip_keeps_split_and_manifest_and_never_upscales(tmp_path: Path) -> None:
    photos = photo_set(tmp_path / "photos")
    summary = build_bundle(photos, tmp_path / "bundle" / "photos.tar", short_side=48, quality=90)
    bundle = tmp_path / "bundle" / "photos.tar"
    assert summary["bundle_bytes"] == bundle.stat().st_size
    assert summary["per_split"] == {"train": 3, "val": 1}
    with tarfile.open(bundle) as tar:
        assert tar.getmember("manifest.json").size > 0  # a plain tar: tar -xf unpacks it too

    unbundled = unbundle(bundle, tmp_path / "out")
    assert unbundled["photos"] == 4
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    for entry in manifest["photos"]:
        bundled = entry["bundled"]
        assert entry["sha256"] == "original" and entry["path"].endswith(".png")  # provenance kept
        assert bundled["path"].split("/")[:2] == entry["path"].split("/")[:2]  # split and package kept
        assert Path(bundled["path"]).suffix in (".webp", ".jpg")
        path = tmp_path / "out" / bundled["path"]
        assert path.stat().st_size == bundled["bytes"]
        with Image.open(path) as im:
            assert im.size == (bundled["width"], bundled["height"])
        # Downscaled to a short side of 48, or left as it was (the 40-pixel photo is not upscaled).
        assert min(bundled["width"], bundled["height"]) == min(48, entry["height"])
        assert bundled["width"] == round(entry["width"] * min(1, 48 / entry["height"]))
    assert len(PhotoSet(tmp_path / "out" / "train")) == 3  # training reads the unpacked folder
    assert len(PhotoSet(tmp_path / "out" / "val")) == 1


def test_bundle_over_the_size_limit_fails_and_leaves_nothing(tmp_path: Path) -> None:
    photos = photo_set(tmp_path / "photos")
    with pytest.raises(ValueError, match="over the 0.001 MiB limit"):
        build_bundle(photos, tmp_path / "photos.tar", short_side=48, quality=90, max_mib=0.001)
    assert list(tmp_path.glob("photos.tar*")) == []


def test_split_join_round_trip(tmp_path: Path) -> None:
    data = np.random.default_rng(0).bytes(int(2.5 * 1024))
    (tmp_path / "w.pt").write_bytes(data)
    written = split_file(tmp_path / "w.pt", tmp_path / "pieces", piece_mib=1 / 1024)  # 1 KiB pieces
    assert [p.name for p in written] == ["w.pt.part-000", "w.pt.part-001", "w.pt.part-002", "w.pt.sha256"]
    assert [p.stat().st_size for p in written[:3]] == [1024, 1024, 512]
    joined = join_pieces(tmp_path / "pieces" / "w.pt.part-000", tmp_path / "back" / "w.pt")
    assert joined.read_bytes() == data


def test_join_refuses_a_missing_or_corrupt_piece(tmp_path: Path) -> None:
    (tmp_path / "w.pt").write_bytes(bytes(range(256)) * 10)
    split_file(tmp_path / "w.pt", tmp_path / "pieces", piece_mib=1 / 1024)
    first = tmp_path / "pieces" / "w.pt.part-000"
    corrupt = tmp_path / "pieces" / "w.pt.part-001"
    corrupt.write_bytes(b"x" + corrupt.read_bytes()[1:])
    with pytest.raises(PieceError, match="corrupt piece .*w.pt.part-001"):
        join_pieces(first, tmp_path / "w-joined.pt")
    corrupt.unlink()
    with pytest.raises(PieceError, match="missing piece .*w.pt.part-001"):
        join_pieces(first, tmp_path / "w-joined.pt")
    (tmp_path / "pieces" / "w.pt.sha256").unlink()
    with pytest.raises(PieceError, match="missing checksum list"):
        join_pieces(first, tmp_path / "w-joined.pt")
    assert not (tmp_path / "w-joined.pt").exists()
