# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet reports: how far hosts are behind, and a report as a table, JSON, Markdown.

Uses nothing of the module object: every function takes plain values, and
write_report() takes the check_mode flag. The rows are the dicts the playbooks
collect per host; columns name their keys, optionally with a width for the text
table ("sha256:12").
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Iterable, Sequence

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._version import (
    Version,
    try_parse_version,
)

EMPTY_CELL = "-"


@dataclass(frozen=True)
class Column:
    """One column of a report: the row key, its header, and a width for the table."""

    key: str
    header: str
    width: int | None = None


def parse_columns(specs: Iterable[str]) -> list[Column]:
    """Columns from "key" or "key:width" strings; the header is the key in words."""
    columns = []
    for spec in specs:
        key, _colon, width = spec.partition(":")
        if not key:
            raise AllfiOtaError(f"column '{spec}' has no key")
        if width and not width.isdigit():
            raise AllfiOtaError(f"column '{spec}' has a width that is not a number")
        columns.append(
            Column(key, key.replace("_", " "), int(width) if width else None)
        )
    return columns


def cell(value: object) -> str:
    """One value as text: lists joined by commas, booleans yes/no, none as '-'."""
    if value is None or value == "" or value == []:
        return EMPTY_CELL
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(item) for item in value)
    return " ".join(str(value).split())


def _cut(text: str, width: int | None) -> str:
    return text if width is None or len(text) <= width else text[:width]


def render_table(rows: Sequence[dict], columns: Sequence[Column]) -> list[str]:
    """The rows as lines of a plain text table, columns padded to their widest cell."""
    cells = [[c.header for c in columns]]
    cells += [[_cut(cell(row.get(c.key)), c.width) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def _markdown_cell(value: object) -> str:
    return cell(value).replace("|", "\\|")


def render_markdown(
    rows: Sequence[dict], columns: Sequence[Column], title: str, notes: Sequence[str]
) -> str:
    """The rows as a Markdown document: a title, notes, then one table."""
    lines = [f"# {title}", ""]
    if notes:
        lines += [f"- {note}" for note in notes] + [""]
    lines.append("| " + " | ".join(c.header for c in columns) + " |")
    lines.append("|" + "|".join(" --- " for _column in columns) + "|")
    for row in rows:
        values = (_markdown_cell(row.get(c.key)) for c in columns)
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def render_json(rows: Sequence[dict], title: str, extra: dict) -> str:
    """The full rows (every key, not only the columns) as a JSON document."""
    document = {"title": title, **extra, "hosts": list(rows)}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def stable_versions(versions: Iterable[str | None]) -> list[Version]:
    """The semantic versions among the given ones, without prereleases, sorted."""
    parsed = (try_parse_version(text) for text in versions if text)
    return sorted(v for v in parsed if v is not None and not v.is_prerelease)


def newer_count(active: str | None, stable: Sequence[Version]) -> int | None:
    """How many of the stable versions are newer than active; None when unknown."""
    version = try_parse_version(active) if active else None
    if version is None:
        return None
    return sum(1 for candidate in stable if candidate > version)


def add_behind(rows: Sequence[dict], stable: Sequence[Version]) -> list[dict]:
    """Copies of the rows with 'behind' (newer stable releases) and 'newest'."""
    newest = stable[-1].text if stable else None
    return [
        {**row, "behind": newer_count(row.get("version"), stable), "newest": newest}
        for row in rows
    ]


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise AllfiOtaError(f"cannot read {path}: {error}") from error


def write_report(path: str, text: str, check_mode: bool, mode: int = 0o644) -> bool:
    """Write text to path atomically unless it holds it already; True if changed."""
    if _read(path) == text:
        return False
    if check_mode:
        return True
    folder = os.path.dirname(path) or "."
    temporary = None
    try:
        os.makedirs(folder, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".report-", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        raise AllfiOtaError(f"cannot write {path}: {error}") from error
    return True
