"""allfi.ota.fleet_report run as Ansible runs it: the table, files, check mode."""

from __future__ import annotations

import json

from tests.fixtures.modules import run_module

ROWS = [
    {"host": "web1", "version": "1.2.0", "result": "upgraded"},
    {"host": "web22", "version": None, "result": "not reached"},
]


def test_renders_the_table_without_files():
    result = run_module(
        "fleet_report", {"rows": ROWS, "columns": ["host", "version", "result"]}
    )

    assert result["changed"] is False
    assert result["table"] == [
        "host   version  result",
        "-----  -------  -----------",
        "web1   1.2.0    upgraded",
        "web22  -        not reached",
    ]
    assert result["newest"] is None
    assert result["json_path"] is None


def test_writes_the_files_once_and_not_in_check_mode(tmp_path):
    args = {
        "rows": ROWS,
        "columns": ["host", "result"],
        "title": "Rollout",
        "json_path": str(tmp_path / "out" / "report.json"),
        "markdown_path": str(tmp_path / "out" / "report.md"),
    }

    checked = run_module("fleet_report", args, check_mode=True)
    assert checked["changed"] is True
    assert not (tmp_path / "out").exists()

    written = run_module("fleet_report", args)
    again = run_module("fleet_report", args)

    assert written["changed"] is True
    assert again["changed"] is False
    assert json.loads((tmp_path / "out" / "report.json").read_text())["hosts"] == ROWS
    assert (tmp_path / "out" / "report.md").read_text() == written["markdown"]
    assert "| web22 | not reached |" in written["markdown"]


def test_refuses_a_bad_column_with_one_message():
    result = run_module("fleet_report", {"rows": ROWS, "columns": ["host:wide"]})

    assert result["failed"] is True
    assert result["msg"] == (
        "Writing the fleet report 'AllFi fleet' failed:"
        " column 'host:wide' has a width that is not a number"
    )
