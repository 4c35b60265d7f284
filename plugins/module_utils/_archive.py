# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safe, streamed extraction of the named parts of an AllFi release archive.

Reads the archive once, front to back, and writes only the executable,
config.yaml and webapp-dist/ of its one top folder; never extractall. Every
member is checked (names, types, duplicates, sizes) before anything is kept,
and a refused archive leaves only what the caller's staging folder holds,
which the caller removes.

Uses nothing of the module object.
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from typing import IO, Iterator

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._layout import fsync_dir
from ansible_collections.allfi.ota.plugins.module_utils._platform import (
    HEADER_BYTES,
    check_executable_header,
)
from ansible_collections.allfi.ota.plugins.module_utils._version import (
    try_parse_version,
)

CHUNK = 1024 * 1024
CONFIG_NAME = "config.yaml"
WEBAPP_DIR = "webapp-dist"

_TOP_FOLDER = re.compile(r"^allfi-(?P<version>.+)-(?:linux|darwin)-[a-z0-9]+$")
_REGULAR_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)


@dataclass
class ExtractedRelease:
    """What extract_release wrote into the staging folder."""

    top: str
    binary: str
    binary_sha256: str
    binary_size: int
    files: dict[str, str] = field(default_factory=dict)


def member_parts(name: str) -> list[str]:
    """Split a member name into its path parts; refuse absolute names and '..'."""
    if name.startswith("/"):
        raise AllfiOtaError(f"member '{name}' has an absolute name")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise AllfiOtaError(f"member '{name}' climbs out of its folder with '..'")
    return parts


def _member_kind(member: tarfile.TarInfo) -> str:
    """'file' or 'dir'; refuse every other kind of member."""
    if member.type in _REGULAR_TYPES:
        return "file"
    if member.isdir():
        return "dir"
    if member.issym():
        kind = f"a symbolic link to '{member.linkname}'"
    elif member.islnk():
        kind = f"a hard link to '{member.linkname}'"
    elif member.ischr() or member.isblk():
        kind = "a device"
    elif member.isfifo():
        kind = "a FIFO"
    elif member.issparse():
        kind = "a sparse file"
    else:
        kind = f"of tar type {member.type!r}"
    raise AllfiOtaError(
        f"member '{member.name}' is {kind}; only regular files and folders are allowed"
    )


def _wanted(rel: tuple[str, ...], binary_name: str) -> bool:
    """True for the parts of a release that are installed."""
    if rel in ((binary_name,), (CONFIG_NAME,)):
        return True
    return rel[0] == WEBAPP_DIR


class _Extractor:
    """One pass over the members of an archive, writing the wanted ones."""

    def __init__(
        self,
        dest: str,
        *,
        binary_name: str,
        max_size: int,
        platform_name: str | None,
        expected_version: str | None,
    ) -> None:
        self.dest = dest
        self.binary_name = binary_name
        self.max_size = max_size
        self.platform_name = platform_name
        self.expected_version = expected_version
        self.top: str | None = None
        self.seen: dict[tuple[str, ...], str] = {}
        self.implied_dirs: set[tuple[str, ...]] = set()
        self.made_dirs: set[str] = {dest}
        self.other_bytes = 0
        self.result: ExtractedRelease | None = None
        self.files: dict[str, str] = {}

    def check_top(self, parts: list[str], kind: str, name: str) -> None:
        """Every member must sit in the same single top folder."""
        if len(parts) == 1 and kind == "file":
            raise AllfiOtaError(
                f"member '{name}' sits at the archive's root;"
                " a release holds one top folder"
            )
        if self.top is None:
            self.top = parts[0]
            self.check_top_version()
        elif parts[0] != self.top:
            raise AllfiOtaError(
                f"the archive has two top folders, '{self.top}' and '{parts[0]}'"
            )

    def check_top_version(self) -> None:
        """A top folder named allfi-<version>-<platform> must hold that version."""
        match = _TOP_FOLDER.match(self.top or "")
        if match is None or self.expected_version is None:
            return
        found = try_parse_version(match.group("version"))
        wanted = try_parse_version(self.expected_version)
        if found is not None and wanted is not None and found != wanted:
            raise AllfiOtaError(
                f"the archive's top folder '{self.top}' holds version {found},"
                f" not {wanted}"
            )

    def check_unique(self, parts: list[str], kind: str, name: str) -> None:
        """Refuse a name seen before, or a file where a folder is needed."""
        key = tuple(parts)
        if key in self.seen:
            raise AllfiOtaError(f"member '{name}' appears more than once")
        for depth in range(1, len(parts)):
            if self.seen.get(key[:depth]) == "file":
                raise AllfiOtaError(
                    f"member '{name}' needs '{'/'.join(key[:depth])}' to be a"
                    " folder, but it is a file"
                )
        if kind == "file" and key in self.implied_dirs:
            raise AllfiOtaError(
                f"member '{name}' is a file, but earlier members sit inside it"
            )
        self.seen[key] = kind
        self.implied_dirs.update(key[:depth] for depth in range(1, len(key)))

    def make_dirs(self, rel: tuple[str, ...]) -> str:
        """Create the folders of rel under dest (0755) and return the full path."""
        path = self.dest
        for part in rel:
            path = os.path.join(path, part)
            if path not in self.made_dirs:
                os.mkdir(path, 0o700)
                os.chmod(path, 0o755)
                self.made_dirs.add(path)
        return path

    def write_file(
        self, tar: tarfile.TarFile, member: tarfile.TarInfo, rel: tuple[str, ...]
    ) -> tuple[str, str, int]:
        """Stream one member to its place under dest; return path, sha256, size."""
        is_binary = rel == (self.binary_name,)
        limit = self.max_size if is_binary else self.max_size - self.other_bytes
        if member.size > limit:
            what = "the executable" if is_binary else "the release's other files"
            raise AllfiOtaError(
                f"member '{member.name}' is {member.size} bytes; {what} may hold"
                f" at most {limit} more (max_size {self.max_size})"
            )
        if is_binary and member.size == 0:
            raise AllfiOtaError(f"the executable '{member.name}' is empty")
        folder = self.make_dirs(rel[:-1])
        path = os.path.join(folder, rel[-1])
        digest = hashlib.sha256()
        size = 0
        source = tar.extractfile(member)
        if source is None:
            raise AllfiOtaError(f"member '{member.name}' has no data")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        try:
            while True:
                chunk = _read(source, member.name)
                if not chunk:
                    break
                if is_binary and size == 0 and self.platform_name is not None:
                    self.check_header(chunk, member.name)
                digest.update(chunk)
                size += len(chunk)
                _write_all(fd, chunk)
            os.fchmod(fd, 0o755 if is_binary else 0o644)
            os.fsync(fd)
        finally:
            os.close(fd)
        if not is_binary:
            self.other_bytes += size
        return path, digest.hexdigest(), size

    def check_header(self, chunk: bytes, name: str) -> None:
        """The executable's header must match the host's OS and CPU."""
        try:
            check_executable_header(chunk[:HEADER_BYTES], self.platform_name or "")
        except AllfiOtaError as error:
            raise AllfiOtaError(
                f"the executable '{name}' cannot run here: {error}"
            ) from None

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        """Check one member and write it when it belongs to the release."""
        parts = member_parts(member.name)
        if not parts:
            return
        kind = _member_kind(member)
        self.check_top(parts, kind, member.name)
        self.check_unique(parts, kind, member.name)
        rel = tuple(parts[1:])
        if not rel or not _wanted(rel, self.binary_name):
            return
        if rel == (self.binary_name,) and kind != "file":
            raise AllfiOtaError(
                f"member '{member.name}' is a folder, not the executable"
            )
        if kind == "dir":
            self.make_dirs(rel)
            return
        path, sha256, size = self.write_file(tar, member, rel)
        self.files["/".join(rel)] = sha256
        if rel == (self.binary_name,):
            self.result = ExtractedRelease(
                top=self.top or "",
                binary=path,
                binary_sha256=sha256,
                binary_size=size,
            )

    def finish(self) -> ExtractedRelease:
        """Refuse an archive without the executable; fsync every folder written."""
        if self.top is None:
            raise AllfiOtaError("the archive is empty")
        if self.result is None:
            raise AllfiOtaError(
                f"the archive holds no executable '{self.top}/{self.binary_name}'"
            )
        for path in sorted(self.made_dirs, key=len, reverse=True):
            fsync_dir(path)
        self.result.files = dict(sorted(self.files.items()))
        return self.result


def _read(source: IO[bytes], name: str) -> bytes:
    """Read the next chunk of a member, turning corrupt data into AllfiOtaError."""
    try:
        return source.read(CHUNK)
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise AllfiOtaError(
            f"member '{name}' is truncated or corrupt: {error}"
        ) from None


def _write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def extract_release(
    archive: str,
    dest: str,
    *,
    binary_name: str,
    max_size: int,
    platform_name: str | None = None,
    expected_version: str | None = None,
) -> ExtractedRelease:
    """Extract the executable, config.yaml and webapp-dist/ of archive into dest.

    dest must be an existing empty folder; on failure it may hold partial files,
    which the caller removes.
    """
    extractor = _Extractor(
        dest,
        binary_name=binary_name,
        max_size=max_size,
        platform_name=platform_name,
        expected_version=expected_version,
    )
    label = os.path.basename(archive)
    try:
        with _open_tar(archive) as tar:
            for member in _members(tar):
                extractor.add(tar, member)
        return extractor.finish()
    except AllfiOtaError as error:
        raise AllfiOtaError(f"archive {label}: {error}") from None


def _open_tar(archive: str) -> tarfile.TarFile:
    """Open archive as a compressed or plain tar stream."""
    try:
        return tarfile.open(archive, "r|*")
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise AllfiOtaError(f"not a readable tar archive: {error}") from None


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Iterate over members, turning a corrupt stream into AllfiOtaError."""
    iterator = iter(tar)
    while True:
        try:
            member = next(iterator)
        except StopIteration:
            return
        except (tarfile.TarError, EOFError, zlib.error) as error:
            raise AllfiOtaError(f"not a readable tar archive: {error}") from None
        yield member
