"""Carve embedded JPEG / PNG / WebP streams out of arbitrary bytes.

Some Debian packages (GCompris) ship their pictures inside Qt resource
bundles (``.rcc``) instead of as loose files.  We find the images in those
bundles in two complementary ways:

* walk the rcc directory tree (gives us resource names and lets us inflate
  zlib-compressed entries), then
* carve each entry's payload by file signatures, walking the container
  structure of each format so that we find the *end* of the stream rather than
  guessing it.  Walking JPEG segments by their length fields is what makes
  embedded EXIF thumbnails harmless: they live inside an APP1 segment and are
  skipped as part of it, so we never carve a thumbnail out of its parent.

Every carved blob is only a candidate; callers validate it by fully decoding
it with Pillow (see :func:`decode_blob`).
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIGNATURES = re.compile(rb"\xff\xd8\xff|\x89PNG\r\n\x1a\n|RIFF....WEBP", re.DOTALL)
_JPEG_STANDALONE = set(range(0xD0, 0xD8)) | {0x01}  # RSTn and TEM carry no length
_JPEG_EOI = 0xD9
_JPEG_SOS = 0xDA
# Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4/C8/CC are not frames.
_JPEG_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class Carved:
    offset: int  # where the blob starts in the scanned buffer
    kind: str  # "jpeg" | "png" | "webp"
    data: bytes


@dataclass(frozen=True)
class RccEntry:
    name: str  # resource path inside the bundle, e.g. "/gcompris/src/.../x.jpg"
    offset: int  # file offset of the entry's payload (after its 4-byte size)
    compressed: bool  # payload was zlib-compressed (qCompress format)
    data: bytes  # payload, inflated when it was compressed


# --- format walkers: each returns the end offset of a well-formed stream or None


def jpeg_end(buf: bytes, start: int) -> int | None:
    """Walk JPEG markers from the SOI at ``start``; return the offset after EOI.

    A stream only counts if it has a frame header and scan data before EOI:
    random bytes (audio samples, say) contain FFD8FF...FFD9 surprisingly often.
    """
    pos = start + 2
    size = len(buf)
    seen_frame = seen_scan = False
    while pos + 1 < size:
        if buf[pos] != 0xFF:
            return None
        while pos + 1 < size and buf[pos + 1] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos + 1 >= size:
            return None
        marker = buf[pos + 1]
        if marker == _JPEG_EOI:
            return pos + 2 if seen_frame and seen_scan else None
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if pos + 4 > size:
            return None
        (length,) = struct.unpack_from(">H", buf, pos + 2)
        if length < 2:
            return None
        pos += 2 + length
        seen_frame = seen_frame or marker in _JPEG_SOF
        if marker == _JPEG_SOS:
            seen_scan = True
            found = _skip_entropy_coded(buf, pos)
            if found is None:
                return None
            pos = found
    return None


def _skip_entropy_coded(buf: bytes, pos: int) -> int | None:
    """Find the next real marker after scan data (FF00 is stuffing, FFD0-D7 restarts)."""
    while True:
        pos = buf.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(buf):
            return None
        nxt = buf[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos += 1 if nxt == 0xFF else 2
            continue
        return pos


def png_end(buf: bytes, start: int) -> int | None:
    """Walk PNG chunks from the signature at ``start``; return the offset after IEND."""
    pos = start + len(PNG_SIGNATURE)
    first = True
    while pos + 12 <= len(buf):
        length, ctype = struct.unpack_from(">I4s", buf, pos)
        if not ctype.isalpha() or (first and ctype != b"IHDR"):
            return None
        first = False
        pos += 12 + length
        if pos > len(buf):
            return None
        if ctype == b"IEND":
            return pos
    return None


def webp_end(buf: bytes, start: int) -> int | None:
    """RIFF header carries the payload length; trust it only if it fits the buffer."""
    if start + 12 > len(buf):
        return None
    (riff_size,) = struct.unpack_from("<I", buf, start + 4)
    end = start + 8 + riff_size
    return end if riff_size >= 4 and end <= len(buf) else None


_WALKERS = {"jpeg": jpeg_end, "png": png_end, "webp": webp_end}


def _kind_of(signature: bytes) -> str:
    if signature.startswith(b"\xff\xd8"):
        return "jpeg"
    return "png" if signature.startswith(PNG_SIGNATURE) else "webp"


def carve(buf: bytes, accept: Callable[[bytes], bool] | None = None) -> list[Carved]:
    """All structurally complete image streams in ``buf``, outermost first.

    After an accepted carve we resume scanning *after* the blob, so streams
    nested inside it (thumbnails, previews) are not reported separately.  A
    rejected candidate only advances the scan by one byte, so a bogus
    signature cannot hide a real image that overlaps it.
    """
    found: list[Carved] = []
    pos = 0
    while (match := _SIGNATURES.search(buf, pos)) is not None:
        start = match.start()
        end = _WALKERS[_kind_of(match.group())](buf, start)
        blob = bytes(buf[start:end]) if end is not None else b""
        if end is None or (accept is not None and not accept(blob)):
            pos = start + 1
            continue
        found.append(Carved(start, _kind_of(match.group()), blob))
        pos = end
    return found


def decode_blob(data: bytes) -> Image.Image | None:
    """Fully decode an image; None for anything Pillow cannot read to the end."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception:  # noqa: BLE001 - any decoder failure means "not a usable image"
        return None
    return img


def carve_valid(buf: bytes) -> list[tuple[Carved, Image.Image]]:
    """Carved blobs that also decode completely, paired with their decoded image."""
    decoded: dict[bytes, Image.Image] = {}

    def accept(blob: bytes) -> bool:
        img = decode_blob(blob)
        if img is not None:
            decoded[blob] = img
        return img is not None

    return [(blob, decoded[blob.data]) for blob in carve(buf, accept)]


# --- Qt resource bundles


_RCC_COMPRESSED = 0x01
_RCC_DIRECTORY = 0x02
_RCC_COMPRESSED_ZSTD = 0x04


def read_rcc_entries(buf: bytes) -> list[RccEntry] | None:
    """Parse a Qt ``.rcc`` bundle; None if it is not one (or is malformed).

    Layout: "qres", version, tree/data/names offsets.  Tree nodes are 14 bytes
    (+8 byte mtime from version 2): name offset, flags, then either a child
    count and first-child index (directories) or locale and data offset.
    zlib-compressed payloads are Qt's qCompress format: a 4-byte big-endian
    uncompressed length followed by a zlib stream.  zstd payloads are skipped
    (no decoder in our dependencies; GCompris 3.1 uses zlib).
    """
    if len(buf) < 20 or buf[:4] != b"qres":
        return None
    try:
        version, tree, data, names = struct.unpack_from(">4I", buf, 4)
        node_size = 14 if version == 1 else 22
        entries: list[RccEntry] = []
        _walk_rcc(buf, tree, data, names, node_size, 0, "", entries, depth=0)
    except (struct.error, zlib.error, UnicodeDecodeError, RecursionError, ValueError):
        return None
    return sorted(entries, key=lambda e: e.offset)


def _rcc_name(buf: bytes, names: int, name_offset: int) -> str:
    (length,) = struct.unpack_from(">H", buf, names + name_offset)
    start = names + name_offset + 6  # skip length and the 4-byte name hash
    return buf[start : start + 2 * length].decode("utf-16-be")


def _walk_rcc(
    buf: bytes,
    tree: int,
    data: int,
    names: int,
    node_size: int,
    index: int,
    prefix: str,
    out: list[RccEntry],
    depth: int,
) -> None:
    if depth > 64:
        raise ValueError("rcc tree too deep")
    node = tree + index * node_size
    name_offset, flags = struct.unpack_from(">IH", buf, node)
    path = prefix if index == 0 else f"{prefix}/{_rcc_name(buf, names, name_offset)}"
    if flags & _RCC_DIRECTORY:
        count, first = struct.unpack_from(">II", buf, node + 6)
        for child in range(first, first + count):
            _walk_rcc(buf, tree, data, names, node_size, child, path, out, depth + 1)
        return
    (data_offset,) = struct.unpack_from(">I", buf, node + 10)
    at = data + data_offset
    (size,) = struct.unpack_from(">I", buf, at)
    payload = buf[at + 4 : at + 4 + size]
    if flags & _RCC_COMPRESSED_ZSTD:
        return
    if flags & _RCC_COMPRESSED:
        payload = zlib.decompress(payload[4:])
    out.append(RccEntry(path, at + 4, bool(flags & _RCC_COMPRESSED), bytes(payload)))
