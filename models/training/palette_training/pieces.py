"""Split a file into pieces small enough for the device machine's return trip, and join them checked.

The lent GPU machine hands back at most 8 files of at most 16 MiB each, so a packed `base` checkpoint
(~35 MB) travels as `X.part-000`, `X.part-001`, … beside `X.sha256`, which lists every piece's sha256 and
the whole file's, in `sha256sum` format (`sha256sum -c X.sha256` checks the pieces by hand, too).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

MIB = 1 << 20
PIECE_MARK = ".part-"


class PieceError(ValueError):
    """A piece or the checksum list is missing, or a checksum does not match."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_of(path: Path) -> str:
    """A file's sha256, read in 1 MiB blocks (model files are tens of MB)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def split_file(path: Path, out_dir: Path, piece_mib: float = 15.0) -> list[Path]:
    """Write the pieces and the checksum list into out_dir; returns the pieces then the list."""
    piece_bytes = int(piece_mib * MIB)
    if piece_bytes <= 0:
        raise ValueError(f"piece size must be positive, got {piece_mib} MiB")
    out_dir.mkdir(parents=True, exist_ok=True)
    data = path.read_bytes()
    pieces, lines = [], []
    # An empty file still gets one (empty) piece, so join always has a part-000 to start from.
    for index, start in enumerate(range(0, max(1, len(data)), piece_bytes)):
        piece = out_dir / f"{path.name}{PIECE_MARK}{index:03d}"
        chunk = data[start : start + piece_bytes]
        piece.write_bytes(chunk)
        pieces.append(piece)
        lines.append(f"{sha256_hex(chunk)}  {piece.name}")
    lines.append(f"{sha256_hex(data)}  {path.name}")
    checksums = out_dir / f"{path.name}.sha256"
    checksums.write_text("\n".join(lines) + "\n")
    return [*pieces, checksums]


def read_checksums(checksums: Path) -> list[tuple[str, str]]:
    if not checksums.is_file():
        raise PieceError(f"missing checksum list {checksums}")
    rows = [line.split(maxsplit=1) for line in checksums.read_text().splitlines() if line.strip()]
    return [(digest, name.strip()) for digest, name in rows]


def join_pieces(first_piece: Path, out: Path) -> Path:
    """Concatenate the pieces named in `<name>.sha256` beside first_piece, verifying each and the whole."""
    if PIECE_MARK not in first_piece.name:
        raise PieceError(f"{first_piece} is not a piece (expected a name like model.pt{PIECE_MARK}000)")
    folder = first_piece.parent
    whole_name = first_piece.name.rsplit(PIECE_MARK, 1)[0]
    rows = read_checksums(folder / f"{whole_name}.sha256")
    expected_pieces = [(d, n) for d, n in rows if n.startswith(whole_name + PIECE_MARK)]
    whole = [d for d, n in rows if n == whole_name]
    if not expected_pieces or len(whole) != 1:
        raise PieceError(f"{folder / (whole_name + '.sha256')} does not list the pieces and the whole of {whole_name}")
    chunks = []
    for digest, name in expected_pieces:
        piece = folder / name
        if not piece.is_file():
            raise PieceError(f"missing piece {piece}")
        chunk = piece.read_bytes()
        if sha256_hex(chunk) != digest:
            raise PieceError(f"corrupt piece {piece}: sha256 {sha256_hex(chunk)} but the list says {digest}")
        chunks.append(chunk)
    data = b"".join(chunks)
    if sha256_hex(data) != whole[0]:
        raise PieceError(f"the joined {whole_name} has sha256 {sha256_hex(data)}, the list says {whole[0]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out
