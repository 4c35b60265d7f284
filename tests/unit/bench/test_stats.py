"""The benchmarks' pure helpers: downtime from health samples, server traffic, chart."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from bench.chart import FONT, GLYPH_H, GLYPH_W, Canvas, line_chart, nice_top
from bench.stats import Sample, downtime, ratio, summary, traffic

OLD, NEW = "1.1.0", "1.2.0"


def polls(*answers: tuple[float, bool, str | None]) -> list[Sample]:
    return [Sample(at, healthy, version) for at, healthy, version in answers]


# samples (time, healthy, version), expected downtime in seconds
DOWNTIME_CASES = [
    # a gap of two failed polls between old and new
    (
        [
            (0.0, True, OLD),
            (0.05, True, OLD),
            (0.1, False, None),
            (0.15, False, None),
            (0.2, True, NEW),
            (0.25, True, NEW),
        ],
        0.15,
    ),
    # no failed poll seen: the switch fell between two polls
    ([(1.0, True, OLD), (1.05, True, NEW)], 0.05),
    # out of order input is sorted first
    ([(0.3, True, NEW), (0.0, True, OLD), (0.1, False, None)], 0.3),
    # an old answer after the first new one does not count
    ([(0.0, True, OLD), (0.5, True, NEW), (0.6, True, OLD)], 0.5),
    # never healthy on the new version
    ([(0.0, True, OLD), (0.1, False, None)], None),
    # the poller never saw the old version
    ([(0.0, False, None), (0.1, True, NEW)], None),
    # healthy answers of some third version are ignored
    ([(0.0, True, OLD), (0.1, True, "9.9.9"), (0.4, True, NEW)], 0.4),
]


@pytest.mark.parametrize(("answers", "expected"), DOWNTIME_CASES)
def test_downtime(answers, expected):
    found = downtime(polls(*answers), OLD, NEW)
    if expected is None:
        assert found is None
    else:
        assert found == pytest.approx(expected)


def test_summary_counts_missing_hosts():
    assert summary([0.2, None, 0.1, 0.4]) == {
        "median": 0.2,
        "max": 0.4,
        "count": 3,
        "missing": 1,
    }
    assert summary([None]) == {"median": None, "max": None, "count": 0, "missing": 1}


def test_traffic_counts_requests_downloads_and_bytes():
    records = [
        {"server": "api", "status": 200, "bytes_sent": 4000},
        {"server": "api", "status": 302, "bytes_sent": 0},
        {"server": "objects", "status": 200, "bytes_sent": 376000},
        {"server": "objects", "status": 503, "bytes_sent": 50},
    ]
    lines = [json.dumps(record) for record in records] + [""]
    assert traffic(lines) == {
        "requests": 4,
        "api_requests": 2,
        "downloads": 1,
        "bytes": 380050,
        "download_bytes": 376000,
    }


# numerator, denominator, expected
RATIO_CASES = [(30.0, 10.0, 3.0), (None, 10.0, None), (5.0, None, None), (5.0, 0, None)]


@pytest.mark.parametrize(("numerator", "denominator", "expected"), RATIO_CASES)
def test_ratio(numerator, denominator, expected):
    assert ratio(numerator, denominator) == expected


def test_every_glyph_is_five_by_seven():
    assert all(len(glyph) == GLYPH_W * GLYPH_H for glyph in FONT.values())


# value, round top of the axis
NICE_CASES = [(0, 1.0), (7, 10), (13, 20), (23, 25), (95.1, 100), (120, 200)]


@pytest.mark.parametrize(("value", "expected"), NICE_CASES)
def test_nice_top(value, expected):
    assert nice_top(value) == expected


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of an 8-bit RGB PNG, checking each CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        body = data[position + 4 : position + 8 + length]
        (crc,) = struct.unpack(
            ">I", data[position + 8 + length : position + 12 + length]
        )
        assert zlib.crc32(body) == crc
        chunks[body[:4]] = body[4:]
        position += 12 + length
    width, height, depth, colour, *_rest = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour) == (8, 2)
    assert b"IEND" in chunks
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_canvas_png_holds_its_pixels():
    canvas = Canvas(3, 2)
    canvas.dot(1, 1, (10, 20, 30))
    width, height, raw = decode_png(canvas.png())
    assert (width, height) == (3, 2)
    rows = [raw[i * 10 : (i + 1) * 10] for i in range(2)]
    assert rows[0] == b"\x00" + b"\xff" * 9
    assert rows[1] == b"\x00" + b"\xff\xff\xff" + bytes([10, 20, 30]) + b"\xff\xff\xff"


def test_line_chart_draws_each_series(tmp_path):
    path = tmp_path / "chart.png"
    line_chart(
        {"ours": [(5, 30.0), (20, 90.0)], "baseline": [(5, 10.0), (20, 40.0)]},
        path,
        title="rollout time",
        x_label="hosts (N)",
        y_label="seconds",
        width=200,
        height=150,
    )
    width, height, raw = decode_png(path.read_bytes())
    assert (width, height) == (200, 150)
    assert bytes((31, 119, 180)) in raw  # the first series' colour
    assert bytes((230, 120, 20)) in raw  # the second series' colour
