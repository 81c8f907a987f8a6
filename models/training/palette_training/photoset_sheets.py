"""Contact sheets: grids of thumbnails, for eyeballing what the photo filter kept and dropped."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

TILE = 160
COLUMNS = 8
ROWS = 6


def write_sheet(thumbs: list[Image.Image], base: Path) -> list[Path]:
    """Write ``base_000.png``, ``base_001.png``, ... with up to COLUMNS x ROWS tiles each."""
    base.parent.mkdir(parents=True, exist_ok=True)
    per_page = COLUMNS * ROWS
    pages = []
    for page, start in enumerate(range(0, len(thumbs), per_page)):
        chunk = thumbs[start : start + per_page]
        rows = (len(chunk) + COLUMNS - 1) // COLUMNS
        sheet = Image.new("RGB", (COLUMNS * TILE, rows * TILE), (255, 0, 255))
        for i, thumb in enumerate(chunk):
            x, y = (i % COLUMNS) * TILE, (i // COLUMNS) * TILE
            sheet.paste(thumb, (x + (TILE - thumb.width) // 2, y + (TILE - thumb.height) // 2))
        path = base.parent / f"{base.name}_{page:03d}.png"
        sheet.save(path)
        pages.append(path)
    return pages
