"""Fleet reports: cells, the text table, Markdown, JSON, behind counts, files."""

from __future__ import annotations

import json

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._report import (
    Column,
    add_behind,
    cell,
    newer_count,
    parse_columns,
    render_json,
    render_markdown,
    render_table,
    stable_versions,
    write_report,
)

ROWS = [
    {
        "host": "web1",
        "version": "1.2.0",
        "drift": False,
        "releases": ["1.1.0", "1.2.0"],
    },
    {"host": "web22", "version": None, "drift": True, "releases": []},
]


# value, expected cell
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "-"),
        ("", "-"),
        ([], "-"),
        (True, "yes"),
        (False, "no"),
        (0, "0"),
        (["1.1.0", None], "1.1.0, -"),
        ("two\nlines  here", "two lines here"),
    ],
)
def test_cell(value, expected):
    assert cell(value) == expected


def test_parse_columns_reads_keys_and_widths():
    assert parse_columns(["host", "sha256:12", "version_after"]) == [
        Column("host", "host"),
        Column("sha256", "sha256", 12),
        Column("version_after", "version after"),
    ]


# spec that is refused
@pytest.mark.parametrize("spec", [":12", "sha256:twelve"])
def test_parse_columns_refuses_bad_specs(spec):
    with pytest.raises(AllfiOtaError, match="column"):
        parse_columns([spec])


def test_render_table_pads_columns_and_cuts_widths():
    rows = [{"host": "web1", "sha256": "a" * 64}, {"host": "web22", "sha256": None}]
    lines = render_table(rows, parse_columns(["host", "sha256:12"]))
    assert lines == [
        "host   sha256",
        "-----  ------------",
        "web1   " + "a" * 12,
        "web22  -",
    ]


def test_render_markdown_escapes_pipes_and_lists_notes():
    rows = [{"host": "a|b", "result": "failed"}]
    text = render_markdown(rows, parse_columns(["host", "result"]), "Status", ["n1"])
    assert text == (
        "# Status\n\n- n1\n\n| host | result |\n| --- | --- |\n| a\\|b | failed |\n"
    )


def test_render_json_keeps_every_key():
    document = json.loads(render_json(ROWS, "Status", {"newest": "1.3.0"}))
    assert document["hosts"] == ROWS
    assert document["newest"] == "1.3.0"
    assert document["title"] == "Status"


def test_stable_versions_drop_prereleases_and_junk():
    found = stable_versions(["1.3.0", "v1.0.0", "1.4.0-rc.1", "adopted-abc", None])
    assert [v.text for v in found] == ["1.0.0", "1.3.0"]


# active version, newer stable releases among 1.0.0 1.1.0 1.2.0 1.3.0
@pytest.mark.parametrize(
    ("active", "expected"),
    [
        ("1.0.0", 3),
        ("v1.2.0", 1),
        ("1.3.0", 0),
        ("1.4.0-rc.1", 0),
        ("adopted-3fa1c09d2b7e", None),
        (None, None),
    ],
)
def test_newer_count(active, expected):
    stable = stable_versions(["1.0.0", "1.1.0", "1.2.0", "1.3.0"])
    assert newer_count(active, stable) == expected


def test_add_behind_names_the_newest():
    rows = add_behind(ROWS, stable_versions(["1.2.0", "1.3.0"]))
    assert [(r["behind"], r["newest"]) for r in rows] == [(1, "1.3.0"), (None, "1.3.0")]
    assert "behind" not in ROWS[0]


def test_write_report_changes_only_when_content_differs(tmp_path):
    path = tmp_path / "reports" / "status.md"
    assert write_report(str(path), "one\n", check_mode=True) is True
    assert not path.exists()
    assert write_report(str(path), "one\n", check_mode=False) is True
    assert path.read_text() == "one\n"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert write_report(str(path), "one\n", check_mode=False) is False
    assert write_report(str(path), "two\n", check_mode=False) is True
    assert sorted(p.name for p in path.parent.iterdir()) == ["status.md"]


def test_write_report_says_which_file_it_could_not_write(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AllfiOtaError, match=r"cannot write .*/file/status\.md"):
        write_report(str(blocker / "status.md"), "x", check_mode=False)
