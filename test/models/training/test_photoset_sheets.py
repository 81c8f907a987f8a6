"""Contact sheets of the photo filter's kept and dropped images: pages of centred thumbnails on magenta."""

from pathlib import Path

import numpy as np
from PIL import Image

from palette_training.photoset_sheets import COLUMNS, ROWS, TILE, write_sheet

MAGENTA = (255, 0, 255)


def colour(i: int) -> tuple[int, int, int]:
    return (i, 255 - i, 7)  # never magenta, different for every i < 256


def thumbs(count: int, size: tuple[int, int] = (TILE, TILE)) -> list[Image.Image]:
    return [Image.new("RGB", size, colour(i)) for i in range(count)]


def test_a_full_page_then_a_short_one_named_by_page_number(tmp_path: Path) -> None:
    per_page = COLUMNS * ROWS
    pages = write_sheet(thumbs(per_page + 3), tmp_path / "sheets" / "kept")
    assert pages == [tmp_path / "sheets" / "kept_000.png", tmp_path / "sheets" / "kept_001.png"]
    with Image.open(pages[0]) as first, Image.open(pages[1]) as second:
        assert first.size == (COLUMNS * TILE, ROWS * TILE)
        assert second.size == (COLUMNS * TILE, TILE)  # 3 tiles: one row, not a page of empty rows
        assert second.getpixel((TILE // 2, TILE // 2)) == colour(per_page)  # page 2 carries on the order
        assert second.getpixel((2 * TILE + TILE // 2, TILE // 2)) == colour(per_page + 2)
        assert second.getpixel((3 * TILE + TILE // 2, TILE // 2)) == MAGENTA  # no fourth thumbnail


def test_tiles_fill_rows_left_to_right_then_top_to_bottom(tmp_path: Path) -> None:
    count = COLUMNS + 2
    (page,) = write_sheet(thumbs(count), tmp_path / "dropped_small")
    sheet = np.asarray(Image.open(page))
    assert sheet.shape == (2 * TILE, COLUMNS * TILE, 3)
    for i in range(count):
        row, col = divmod(i, COLUMNS)
        tile = sheet[row * TILE : (row + 1) * TILE, col * TILE : (col + 1) * TILE]
        assert (tile == colour(i)).all(), i  # a full-size thumbnail covers its whole tile
    assert (sheet[TILE:, 2 * TILE :] == MAGENTA).all()  # the rest of the last row is background


def test_smaller_thumbnails_are_centred_in_their_tile_on_magenta(tmp_path: Path) -> None:
    images = thumbs(2, (100, 60))  # landscape thumbnails, as Image.thumbnail((160, 160)) makes them
    (page,) = write_sheet(images, tmp_path / "kept")
    sheet = np.asarray(Image.open(page))
    assert sheet.shape == (TILE, COLUMNS * TILE, 3)
    for i in range(2):
        tile = sheet[:, i * TILE : (i + 1) * TILE]
        drawn = np.argwhere((tile != MAGENTA).any(axis=-1))
        # 100×60 in a 160×160 tile: 30 px in from the left and 50 px down, nothing outside that box.
        assert drawn.min(axis=0).tolist() == [50, 30] and drawn.max(axis=0).tolist() == [109, 129]
        assert (tile[50:110, 30:130] == colour(i)).all()
        assert len(drawn) == 100 * 60


def test_no_thumbnails_write_no_pages(tmp_path: Path) -> None:
    assert write_sheet([], tmp_path / "sheets" / "dropped_blank") == []
    assert (tmp_path / "sheets").is_dir() and list((tmp_path / "sheets").iterdir()) == []
