"""A small PNG line chart with no dependency: pixels, a 5x7 font, zlib and struct.

Enough for the benchmarks' one chart (rollout time against the number of hosts);
not a plotting library.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)
GREY: Color = (215, 215, 215)
PALETTE: tuple[Color, ...] = ((31, 119, 180), (230, 120, 20), (44, 160, 44))

# 5x7 glyphs: seven rows of five pixels ("#" on, "." off), rows split by spaces.
GLYPHS = {
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "a": "..... ..... .###. ....# .#### #...# .####",
    "b": "#.... #.... #.##. ##..# #...# #...# ####.",
    "c": "..... ..... .###. #.... #.... #...# .###.",
    "d": "....# ....# .##.# #..## #...# #...# .####",
    "e": "..... ..... .###. #...# ##### #.... .###.",
    "f": "..##. .#..# .#... ###.. .#... .#... .#...",
    "g": "..... .#### #...# #...# .#### ....# .###.",
    "h": "#.... #.... #.##. ##..# #...# #...# #...#",
    "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
    "j": "...#. ..... ..##. ...#. ...#. #..#. .##..",
    "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
    "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "m": "..... ..... ##.#. #.#.# #.#.# #...# #...#",
    "n": "..... ..... #.##. ##..# #...# #...# #...#",
    "o": "..... ..... .###. #...# #...# #...# .###.",
    "p": "..... ..... ####. #...# ####. #.... #....",
    "q": "..... ..... .##.# #..## .#### ....# ....#",
    "r": "..... ..... #.##. ##..# #.... #.... #....",
    "s": "..... ..... .###. #.... .###. ....# ####.",
    "t": ".#... .#... ###.. .#... .#... .#..# ..##.",
    "u": "..... ..... #...# #...# #...# #..## .##.#",
    "v": "..... ..... #...# #...# #...# .#.#. ..#..",
    "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
    "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
    "y": "..... ..... #...# #...# .#### ....# .###.",
    "z": "..... ..... ##### ...#. ..#.. .#... #####",
    "N": "#...# ##..# #.#.# #..## #...# #...# #...#",
    " ": "..... ..... ..... ..... ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "/": "....# ...#. ...#. ..#.. .#... .#... #....",
    "-": "..... ..... ..... ##### ..... ..... .....",
    "%": "##..# ##.#. ...#. ..#.. .#... .#.## #..##",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "=": "..... ..... ##### ..... ##### ..... .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
}
FONT = {char: rows.replace(" ", "") for char, rows in GLYPHS.items()}
GLYPH_W, GLYPH_H = 5, 7


class Canvas:
    """An RGB image held as rows of pixels, written out as a PNG."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width = width
        self.height = height
        self.pixels = [[background] * width for _row in range(height)]

    def dot(self, x: int, y: int, color: Color, size: int = 1) -> None:
        """Paint a size x size square whose top-left corner is (x, y)."""
        for row in range(y, y + size):
            for col in range(x, x + size):
                if 0 <= col < self.width and 0 <= row < self.height:
                    self.pixels[row][col] = color

    def line(
        self,
        start: tuple[float, float],
        end: tuple[float, float],
        color: Color,
        width: int = 1,
        dash: int = 0,
    ) -> None:
        """Draw a straight line, optionally dashed (dash = pixels on, then off)."""
        (x0, y0), (x1, y1) = start, end
        steps = max(1, int(max(abs(x1 - x0), abs(y1 - y0))))
        for step in range(steps + 1):
            if dash and (step // dash) % 2:
                continue
            x = x0 + (x1 - x0) * step / steps
            y = y0 + (y1 - y0) * step / steps
            self.dot(round(x) - width // 2, round(y) - width // 2, color, width)

    def text(
        self, x: int, y: int, words: str, color: Color = BLACK, scale: int = 2
    ) -> None:
        """Write text with the 5x7 font; unknown characters are left blank."""
        for index, char in enumerate(words):
            glyph = FONT.get(char, FONT[" "])
            left = x + index * (GLYPH_W + 1) * scale
            for cell, bit in enumerate(glyph):
                if bit == "#":
                    row, col = divmod(cell, GLYPH_W)
                    self.dot(left + col * scale, y + row * scale, color, scale)

    def png(self) -> bytes:
        """The image as PNG bytes (8-bit RGB, no filter, zlib-compressed)."""
        raw = b"".join(
            b"\x00" + bytes(channel for pixel in row for channel in pixel)
            for row in self.pixels
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return (
                struct.pack(">I", len(data))
                + body
                + struct.pack(">I", zlib.crc32(body))
            )

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def text_width(words: str, scale: int = 2) -> int:
    """Width in pixels of text written with Canvas.text."""
    return len(words) * (GLYPH_W + 1) * scale


def nice_top(value: float) -> float:
    """A round number at or above value, for the top of an axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    path: Path,
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 760,
    height: int = 460,
) -> None:
    """Write a PNG line chart of the series (name -> [(x, y), ...]) to path."""
    canvas = Canvas(width, height)
    left, right, top, bottom = 80, width - 30, 60, height - 70
    points = [point for values in series.values() for point in values]
    x_top = nice_top(max((x for x, _y in points), default=1))
    y_top = nice_top(max((y for _x, y in points), default=1) * 1.1)

    def place(x: float, y: float) -> tuple[float, float]:
        return (
            left + (right - left) * x / x_top,
            bottom - (bottom - top) * y / y_top,
        )

    canvas.text((width - text_width(title)) // 2, 16, title)
    for tick in range(6):
        value = y_top * tick / 5
        _left, y = place(0, value)
        canvas.line((left, y), (right, y), GREY)
        label = f"{value:g}"
        canvas.text(left - 10 - text_width(label), round(y) - 7, label)
    for tick in range(5):
        value = x_top * tick / 4
        x, _bottom = place(value, 0)
        canvas.line((x, bottom), (x, bottom + 6), BLACK)
        label = f"{value:g}"
        canvas.text(round(x) - text_width(label) // 2, bottom + 12, label)
    canvas.line((left, top), (left, bottom), BLACK, 2)
    canvas.line((left, bottom), (right, bottom), BLACK, 2)
    canvas.text((left + right - text_width(x_label)) // 2, height - 30, x_label)
    canvas.text(10, top - 26, y_label)

    for index, (name, values) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        dash = 8 if index >= 2 else 0
        placed = [place(x, y) for x, y in sorted(values)]
        for start, end in zip(placed, placed[1:]):
            canvas.line(start, end, color, 3, dash)
        for x, y in placed:
            canvas.dot(round(x) - 4, round(y) - 4, color, 9)
        legend_y = top + 10 + index * 24
        canvas.line(
            (left + 20, legend_y + 7), (left + 60, legend_y + 7), color, 3, dash
        )
        canvas.text(left + 70, legend_y, name)
    Path(path).write_bytes(canvas.png())
