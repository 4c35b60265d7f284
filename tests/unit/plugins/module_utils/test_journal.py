"""Tests of _journal: entries survive a round trip; a corrupt one is reported."""

from __future__ import annotations

import pytest

from ansible_collections.allfi.ota.plugins.module_utils import _journal as journal
from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._layout import Layout


def test_round_trip(tmp_path):
    layout = Layout(str(tmp_path))
    layout.prepare()
    assert journal.load(layout) is None
    entry = journal.begin(
        layout,
        journal.JournalEntry(operation="install", target="1.2.0", previous="1.1.0"),
    )
    journal.advance(layout, entry, "place", record={"binary": "allfi"})
    loaded = journal.load(layout)
    assert (loaded.step, loaded.record, loaded.previous) == (
        "place",
        {"binary": "allfi"},
        "1.1.0",
    )
    journal.finish(layout)
    assert journal.load(layout) is None
    journal.finish(layout)


def test_corrupt_journal_is_reported(tmp_path):
    layout = Layout(str(tmp_path))
    layout.prepare()
    with open(layout.journal_file, "w") as stream:
        stream.write('{"operation": "install"}')
    with pytest.raises(AllfiOtaError, match="is not a journal of this collection"):
        journal.load(layout)
