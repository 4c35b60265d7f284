"""Tests of _archive: every refusal, with crafted archives, and what is extracted."""

from __future__ import annotations

import os
import stat
import tarfile

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._archive import (
    extract_release,
    member_parts,
)
from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from tests.unit.plugins.module_utils.install_support import (
    EXECUTABLE,
    elf_header,
    good_entries,
    macho_header,
    tar_entry,
    write_tar,
)

TOP = "allfi-1.2.0-linux-amd64"


def extract(
    tmp_path,
    entries,
    *,
    binary_name="allfi",
    max_size=1024 * 1024,
    platform_name="linux-amd64",
    **options,
):
    archive = write_tar(tmp_path / "release.tar.gz", entries)
    dest = tmp_path / "stage"
    dest.mkdir()
    result = extract_release(
        str(archive),
        str(dest),
        binary_name=binary_name,
        max_size=max_size,
        platform_name=platform_name,
        **options,
    )
    return result, dest


def files_under(root):
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, dirs, files in os.walk(root)
        for name in dirs + files
    )


def test_extracts_only_the_named_parts(tmp_path):
    entries = [
        *good_entries(),
        tar_entry(f"{TOP}/README.md", "file", b"read me"),
        tar_entry(f"{TOP}/tools/", "dir"),
        tar_entry(f"{TOP}/tools/helper", "exe", b"#!/bin/sh\n"),
    ]
    result, dest = extract(tmp_path, entries)
    assert files_under(dest) == [
        "allfi",
        "config.yaml",
        "webapp-dist",
        "webapp-dist/index.html",
    ]
    assert result.top == TOP
    assert result.binary == str(dest / "allfi")
    assert result.binary_size == len(EXECUTABLE)
    assert sorted(result.files) == ["allfi", "config.yaml", "webapp-dist/index.html"]
    assert stat.S_IMODE(os.stat(dest / "allfi").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(dest / "config.yaml").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(dest / "webapp-dist").st_mode) == 0o755


def test_accepts_dot_slash_names_and_a_release_without_extras(tmp_path):
    entries = [
        tar_entry("./", "dir"),
        tar_entry(f"./{TOP}/", "dir"),
        tar_entry(f"./{TOP}/allfi", "exe", EXECUTABLE),
    ]
    result, dest = extract(tmp_path, entries)
    assert files_under(dest) == ["allfi"]
    assert result.files == {"allfi": result.binary_sha256}


def test_uncompressed_tar_is_read(tmp_path):
    archive = write_tar(tmp_path / "plain.tar", good_entries(), compression="")
    dest = tmp_path / "stage"
    dest.mkdir()
    result = extract_release(
        str(archive), str(dest), binary_name="allfi", max_size=1 << 20
    )
    assert result.binary_size == len(EXECUTABLE)


def test_binary_name_option_names_the_executable(tmp_path):
    entries = [
        tar_entry(f"{TOP}/", "dir"),
        tar_entry(f"{TOP}/allfi-server", "exe", EXECUTABLE),
        tar_entry(f"{TOP}/allfi", "file", b"not this one"),
    ]
    _result, dest = extract(tmp_path, entries, binary_name="allfi-server")
    assert files_under(dest) == ["allfi-server"]


# columns: crafted members, words the refusal must contain
REFUSALS = {
    "absolute name": (
        [tar_entry("/etc/allfi-1.2.0-linux-amd64/allfi", "exe", EXECUTABLE)],
        "'/etc/allfi-1.2.0-linux-amd64/allfi' has an absolute name",
    ),
    "dot-dot": (
        [*good_entries(), tar_entry(f"{TOP}/../../evil", "file", b"x")],
        "climbs out of its folder",
    ),
    "dot-dot in the executable path": (
        [tar_entry(f"{TOP}/webapp-dist/../allfi", "exe", EXECUTABLE)],
        "climbs out of its folder",
    ),
    "symlink as executable": (
        [
            tar_entry(f"{TOP}/", "dir"),
            tar_entry(f"{TOP}/allfi", "symlink", linkname="/bin/sh"),
        ],
        "'allfi-1.2.0-linux-amd64/allfi' is a symbolic link to '/bin/sh'",
    ),
    "symlink elsewhere": (
        [
            *good_entries(),
            tar_entry(f"{TOP}/webapp-dist/x", "symlink", linkname="/etc"),
        ],
        "is a symbolic link",
    ),
    "hardlink": (
        [
            *good_entries(),
            tar_entry(f"{TOP}/webapp-dist/h", "hardlink", linkname=f"{TOP}/allfi"),
        ],
        "is a hard link",
    ),
    "character device": (
        [*good_entries(), tar_entry(f"{TOP}/null", "chardev", devmajor=1, devminor=3)],
        "is a device",
    ),
    "block device": (
        [*good_entries(), tar_entry(f"{TOP}/sda", "blockdev", devmajor=8, devminor=0)],
        "is a device",
    ),
    "fifo": (
        [*good_entries(), tar_entry(f"{TOP}/pipe", "fifo")],
        "is a FIFO",
    ),
    "duplicate executable": (
        [*good_entries(), tar_entry(f"{TOP}/allfi", "exe", elf_header(183))],
        "'allfi-1.2.0-linux-amd64/allfi' appears more than once",
    ),
    "duplicate through ./": (
        [*good_entries(), tar_entry(f"./{TOP}/config.yaml", "file", b"x")],
        "appears more than once",
    ),
    "file where a folder is needed": (
        [
            tar_entry(f"{TOP}/", "dir"),
            tar_entry(f"{TOP}/webapp-dist", "file", b"x"),
            tar_entry(f"{TOP}/webapp-dist/index.html", "file", b"y"),
        ],
        "needs 'allfi-1.2.0-linux-amd64/webapp-dist' to be a folder",
    ),
    "file over an implied folder": (
        [
            tar_entry(f"{TOP}/webapp-dist/index.html", "file", b"y"),
            tar_entry(f"{TOP}/webapp-dist", "file", b"x"),
        ],
        "is a file, but earlier members sit inside it",
    ),
    "empty executable": (
        [tar_entry(f"{TOP}/", "dir"), tar_entry(f"{TOP}/allfi", "exe", b"")],
        "the executable 'allfi-1.2.0-linux-amd64/allfi' is empty",
    ),
    "executable over max_size": (
        [tar_entry(f"{TOP}/allfi", "exe", elf_header() + bytes(2 * 1024 * 1024))],
        "is 2097216 bytes; the executable may hold at most 1048576",
    ),
    "other files over max_size": (
        [
            *good_entries(),
            tar_entry(f"{TOP}/webapp-dist/big.js", "file", bytes(700 * 1024)),
            tar_entry(f"{TOP}/webapp-dist/big2.js", "file", bytes(700 * 1024)),
        ],
        "'allfi-1.2.0-linux-amd64/webapp-dist/big2.js' is 716800 bytes;"
        " the release's other files",
    ),
    "wrong ELF machine": (
        good_entries(binary=elf_header(183) + bytes(100)),
        "'allfi-1.2.0-linux-amd64/allfi' cannot run here: its header says"
        " ELF linux-arm64, but this host's CPU is amd64",
    ),
    "wrong OS": (
        good_entries(binary=macho_header() + bytes(100)),
        "cannot run here: its header says Mach-O darwin-amd64, but this host"
        " runs linux-amd64",
    ),
    "not an executable at all": (
        good_entries(binary=b"#!/bin/sh\nexec true\n"),
        "cannot run here: neither an ELF nor a Mach-O",
    ),
    "missing top folder": (
        [tar_entry("allfi", "exe", EXECUTABLE), tar_entry("config.yaml", "file", b"x")],
        "member 'allfi' sits at the archive's root",
    ),
    "two top folders": (
        [
            *good_entries(),
            tar_entry("allfi-1.3.0-linux-amd64/allfi", "exe", EXECUTABLE),
        ],
        "two top folders, 'allfi-1.2.0-linux-amd64' and 'allfi-1.3.0-linux-amd64'",
    ),
    "no executable": (
        [tar_entry(f"{TOP}/", "dir"), tar_entry(f"{TOP}/config.yaml", "file", b"x")],
        "holds no executable 'allfi-1.2.0-linux-amd64/allfi'",
    ),
    "executable nested deeper": (
        [tar_entry(f"{TOP}/bin/allfi", "exe", EXECUTABLE)],
        "holds no executable",
    ),
    "folder as executable": (
        [tar_entry(f"{TOP}/allfi/", "dir")],
        "is a folder, not the executable",
    ),
    "empty archive": ([], "the archive is empty"),
    "top folder of another version": (
        good_entries(top="allfi-1.1.0-linux-amd64"),
        "top folder 'allfi-1.1.0-linux-amd64' holds version 1.1.0, not 1.2.0",
    ),
}


@pytest.mark.parametrize("entries, words", REFUSALS.values(), ids=REFUSALS.keys())
def test_refuses(tmp_path, entries, words):
    with pytest.raises(AllfiOtaError) as caught:
        extract(tmp_path, entries, expected_version="1.2.0")
    assert words in str(caught.value)
    assert str(caught.value).startswith("archive release.tar.gz: ")
    assert not (tmp_path / "evil").exists()


def test_refusal_of_absolute_name_writes_nothing_there(tmp_path):
    target = tmp_path / "outside" / "allfi"
    entries = [*good_entries(), tar_entry(str(target), "exe", EXECUTABLE)]
    with pytest.raises(AllfiOtaError, match="absolute name"):
        extract(tmp_path, entries)
    assert not target.exists()


def test_truncated_archive_is_refused(tmp_path):
    archive = write_tar(
        tmp_path / "full.tar.gz",
        good_entries(binary=elf_header() + os.urandom(256 * 1024)),
    )
    data = archive.read_bytes()
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(data[: len(data) // 2])
    dest = tmp_path / "stage"
    dest.mkdir()
    with pytest.raises(AllfiOtaError, match=r"truncated or corrupt|not a readable tar"):
        extract_release(str(broken), str(dest), binary_name="allfi", max_size=1 << 30)


def test_not_an_archive_is_refused(tmp_path):
    path = tmp_path / "page.tar.gz"
    path.write_text("<html>Not Found</html>")
    dest = tmp_path / "stage"
    dest.mkdir()
    with pytest.raises(AllfiOtaError, match="not a readable tar archive"):
        extract_release(str(path), str(dest), binary_name="allfi", max_size=1 << 30)


def test_header_check_is_skipped_without_a_platform(tmp_path):
    result, _dest = extract(
        tmp_path, good_entries(binary=elf_header(183)), platform_name=None
    )
    assert result.binary_size == 64


def test_a_real_release_archive(tmp_path, releases):
    release = releases["1.2.0"]
    dest = tmp_path / "stage"
    dest.mkdir()
    result = extract_release(
        str(release.archive),
        str(dest),
        binary_name="allfi",
        max_size=1 << 30,
        platform_name="linux-amd64",
        expected_version="v1.2.0",
    )
    assert result.binary_sha256 == release.binary_sha256
    assert result.top == "allfi-1.2.0-linux-amd64"
    with tarfile.open(release.archive) as tar:
        assert len(tar.getnames()) > len(result.files)


# columns: member name, expected parts
@pytest.mark.parametrize(
    "name, parts",
    [
        ("a/b", ["a", "b"]),
        ("./a//b/", ["a", "b"]),
        (".", []),
        ("a/./b", ["a", "b"]),
    ],
)
def test_member_parts(name, parts):
    assert member_parts(name) == parts
