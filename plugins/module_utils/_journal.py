# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""journal.json: the operation in flight, so that the next run finishes or undoes it.

An entry is written before the first change on disk and updated before each
later step; it is removed when the operation is complete. What the next run
does with an entry left behind is decided in _install.recover().

Uses nothing of the module object.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._layout import (
    Layout,
    fsync_dir,
    write_json,
)


@dataclass
class JournalEntry:
    """One operation: switch `current` to target, maybe after placing its files."""

    operation: str
    target: str
    previous: str | None
    created_release: bool = False
    activate: bool = True
    step: str = "begin"
    record: dict | None = None
    legacy_link: bool = False
    pid: int = field(default_factory=os.getpid)


def begin(layout: Layout, entry: JournalEntry) -> JournalEntry:
    """Record an operation before its first change."""
    write_json(layout, layout.journal_file, asdict(entry))
    return entry


def advance(layout: Layout, entry: JournalEntry, step: str, **changes: object) -> None:
    """Record that the operation reached step (and what it learnt on the way)."""
    entry.step = step
    for name, value in changes.items():
        setattr(entry, name, value)
    write_json(layout, layout.journal_file, asdict(entry))


def load(layout: Layout) -> JournalEntry | None:
    """The entry a killed run left behind, or None."""
    try:
        with open(layout.journal_file, encoding="utf-8") as stream:
            data = json.load(stream)
        return JournalEntry(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as error:
        raise AllfiOtaError(
            f"{layout.journal_file} is not a journal of this collection: {error};"
            " remove it after checking where `current` points"
        ) from None


def finish(layout: Layout) -> None:
    """Forget the operation: it is complete or undone."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(layout.journal_file)
        fsync_dir(layout.state_dir)
