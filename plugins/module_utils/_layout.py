# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layout of an install_dir, its state file, drift and atomic switches.

<install_dir>/releases/<name>/   one folder per kept release
<install_dir>/current            symlink to releases/<name>, the active release
<install_dir>/.allfi-ota/        state.json, journal.json, lock, tmp/ (private)

Uses nothing of the module object.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._version import (
    try_parse_version,
)

STATE_DIR = ".allfi-ota"
STATE_FORMAT = 1
CHUNK = 1024 * 1024


class Layout:
    """Paths of one install_dir."""

    def __init__(self, install_dir: str, binary_name: str = "allfi") -> None:
        if not os.path.isabs(install_dir):
            raise AllfiOtaError(f"install_dir '{install_dir}' is not an absolute path")
        self.install_dir = os.path.normpath(install_dir)
        self.binary_name = binary_name
        self.releases_dir = os.path.join(self.install_dir, "releases")
        self.current = os.path.join(self.install_dir, "current")
        self.legacy_binary = os.path.join(self.install_dir, binary_name)
        self.state_dir = os.path.join(self.install_dir, STATE_DIR)
        self.state_file = os.path.join(self.state_dir, "state.json")
        self.journal_file = os.path.join(self.state_dir, "journal.json")
        self.lock_file = os.path.join(self.state_dir, "lock")
        self.tmp_dir = os.path.join(self.state_dir, "tmp")

    def release_dir(self, name: str) -> str:
        """The folder of the release called name."""
        return os.path.join(self.releases_dir, name)

    def prepare(self) -> None:
        """Create install_dir, releases/ and the private state folders."""
        for path in (self.install_dir, self.releases_dir, self.state_dir):
            if not os.path.isdir(path):
                os.makedirs(path, 0o755, exist_ok=True)
        if not os.path.isdir(self.tmp_dir):
            os.mkdir(self.tmp_dir, 0o700)
        os.chmod(self.tmp_dir, 0o700)

    def active_name(self) -> str | None:
        """The release current points to, or None when there is no current link."""
        if not os.path.lexists(self.current):
            return None
        if not os.path.islink(self.current):
            raise AllfiOtaError(
                f"{self.current} is not a symlink; move it away so that it can"
                " point to the active release"
            )
        target = os.readlink(self.current)
        if not os.path.isabs(target):
            target = os.path.join(self.install_dir, target)
        target = os.path.normpath(target)
        if os.path.dirname(target) != self.releases_dir:
            raise AllfiOtaError(
                f"{self.current} points to {target}, outside {self.releases_dir}"
            )
        return os.path.basename(target)

    def release_names(self) -> list[str]:
        """Names of the release folders, sorted oldest version first."""
        try:
            names = [
                entry.name
                for entry in os.scandir(self.releases_dir)
                if entry.is_dir(follow_symlinks=False)
            ]
        except FileNotFoundError:
            return []
        return sort_names(names)

    def legacy_file(self) -> bool:
        """True when <install_dir>/<binary_name> is a hand-installed regular file."""
        try:
            mode = os.lstat(self.legacy_binary).st_mode
        except FileNotFoundError:
            return False
        return stat.S_ISREG(mode)

    def clean_tmp(self) -> None:
        """Remove everything under the private tmp folder."""
        if not os.path.isdir(self.tmp_dir):
            return
        for entry in os.scandir(self.tmp_dir):
            remove_path(entry.path)

    def new_tmp(self, prefix: str, directory: bool = False) -> str:
        """A fresh private path in tmp/: a 0700 folder or an empty 0600 file."""
        if directory:
            return tempfile.mkdtemp(prefix=prefix, dir=self.tmp_dir)
        fd, path = tempfile.mkstemp(prefix=prefix, dir=self.tmp_dir)
        os.close(fd)
        return path


def sort_names(names: list[str]) -> list[str]:
    """Sort release names: adopted and unparsable ones first, then by version."""

    def key(name: str) -> tuple:
        version = try_parse_version(name)
        return (0, name) if version is None else (1, version)

    return sorted(names, key=key)


@dataclass
class ReleaseRecord:
    """What was installed as one release, as state.json records it."""

    name: str
    binary: str
    files: dict[str, str]
    installed_at: float
    archive_sha256: str | None = None
    adopted: bool = False

    @property
    def binary_sha256(self) -> str | None:
        """The recorded sha256 of the executable."""
        return self.files.get(self.binary)

    def to_json(self) -> dict:
        """The record as stored in state.json."""
        return {
            "binary": self.binary,
            "files": self.files,
            "installed_at": self.installed_at,
            "archive_sha256": self.archive_sha256,
            "adopted": self.adopted,
        }

    @classmethod
    def from_json(cls, name: str, data: dict) -> ReleaseRecord:
        """Read a record of state.json."""
        return cls(
            name=name,
            binary=str(data.get("binary", "allfi")),
            files=dict(data.get("files") or {}),
            installed_at=float(data.get("installed_at") or 0),
            archive_sha256=data.get("archive_sha256"),
            adopted=bool(data.get("adopted", False)),
        )


@dataclass
class State:
    """state.json: the active and previous release and a record per release."""

    active: str | None = None
    previous: str | None = None
    last_action: str | None = None
    releases: dict[str, ReleaseRecord] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The state as stored in state.json."""
        return {
            "format": STATE_FORMAT,
            "active": self.active,
            "previous": self.previous,
            "last_action": self.last_action,
            "releases": {n: r.to_json() for n, r in sorted(self.releases.items())},
        }

    @classmethod
    def from_json(cls, data: dict) -> State:
        """Read state.json's content."""
        return cls(
            active=data.get("active"),
            previous=data.get("previous"),
            last_action=data.get("last_action"),
            releases={
                name: ReleaseRecord.from_json(name, record)
                for name, record in (data.get("releases") or {}).items()
            },
        )


def load_state(layout: Layout) -> State:
    """Read state.json and reconcile it with what is on disk."""
    try:
        with open(layout.state_file, encoding="utf-8") as stream:
            state = State.from_json(json.load(stream))
    except FileNotFoundError:
        state = State()
    except (ValueError, AttributeError, TypeError) as error:
        raise AllfiOtaError(
            f"{layout.state_file} is not a state file of this collection: {error}"
        ) from None

    # Forget releases whose folder is gone; the current link is the truth
    on_disk = set(layout.release_names())
    state.releases = {n: r for n, r in state.releases.items() if n in on_disk}
    active = layout.active_name()
    if active != state.active:
        if state.active is not None and state.active != active:
            state.previous = state.active
        state.active = active
    if state.previous not in on_disk or state.previous == state.active:
        state.previous = None
    return state


def save_state(layout: Layout, state: State) -> None:
    """Write state.json atomically."""
    write_json(layout, layout.state_file, state.to_json())


def write_json(layout: Layout, path: str, data: dict) -> None:
    """Write a JSON file atomically: a private temporary file renamed over it."""
    temp = layout.new_tmp(os.path.basename(path) + ".")
    with open(temp, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=2, sort_keys=True)
        stream.write("\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(temp, 0o644)
    os.replace(temp, path)
    fsync_dir(os.path.dirname(path))


def hash_file(path: str) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def tree_files(root: str) -> dict[str, str]:
    """Every entry under root: sha256 for regular files, a kind for the others."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(files) + sorted(d for d in dirs if _is_link(folder, d)):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                found[rel] = hash_file(path)
            elif stat.S_ISLNK(mode):
                found[rel] = "symlink:" + os.readlink(path)
            else:
                found[rel] = "special"
    return found


def _is_link(folder: str, name: str) -> bool:
    return os.path.islink(os.path.join(folder, name))


def drifted_files(recorded: dict[str, str], actual: dict[str, str]) -> list[str]:
    """Files that were changed, removed or added since they were recorded."""
    names = set(recorded) | set(actual)
    return sorted(n for n in names if recorded.get(n) != actual.get(n))


def release_drift(layout: Layout, record: ReleaseRecord | None, name: str) -> list[str]:
    """Drifted files of a release; every file when nothing was recorded."""
    actual = tree_files(layout.release_dir(name))
    recorded = record.files if record is not None else {}
    return drifted_files(recorded, actual)


def fsync_dir(path: str) -> None:
    """Flush a folder's entries to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def switch_symlink(link: str, target: str, temp_dir: str | None = None) -> None:
    """Point link at target atomically: a new link renamed over the old one."""
    folder = os.path.dirname(link)
    if os.path.isdir(link) and not os.path.islink(link):
        raise AllfiOtaError(f"{link} is a folder, not a symlink; move it away")
    temp = os.path.join(
        temp_dir or folder, f".{os.path.basename(link)}.{os.getpid()}.tmp"
    )
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)
    os.symlink(target, temp)
    os.replace(temp, link)
    fsync_dir(folder)


def remove_path(path: str) -> None:
    """Remove a file, a link or a whole folder; a missing path is fine."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def discard_release(layout: Layout, name: str) -> None:
    """Remove a release folder: renamed into tmp/ first, so it vanishes at once."""
    path = layout.release_dir(name)
    if not os.path.lexists(path):
        return
    trash = os.path.join(layout.tmp_dir, f"discard-{name}-{os.getpid()}")
    remove_path(trash)
    os.rename(path, trash)
    fsync_dir(layout.releases_dir)
    remove_path(trash)


def prune_candidates(
    names: list[str],
    state: State,
    keep: set[str],
    keep_releases: int,
    layout: Layout,
) -> list[str]:
    """The releases to remove: beyond keep_releases, never one in keep."""
    others = [n for n in names if n not in keep]

    def newest_first(name: str) -> float:
        record = state.releases.get(name)
        if record is not None:
            return record.installed_at
        with contextlib.suppress(OSError):
            return os.lstat(layout.release_dir(name)).st_mtime
        return 0.0

    others.sort(key=newest_first, reverse=True)
    room = max(0, keep_releases - len(keep))
    return sort_names(others[room:])


def now() -> float:
    """Seconds since the epoch, for install times."""
    return round(time.time(), 3)
