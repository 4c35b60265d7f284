"""Helpers for the tests of install, rollback and host_info: archives, module runs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.releases import ReleaseSpec, build_release

REPO = Path(__file__).resolve().parents[4]
COLLECTIONS = REPO / ".build" / "collections"


@dataclass
class Release:
    """A built platform archive and the facts a test compares with."""

    version: str
    archive: Path
    checksum: str
    binary_sha256: str
    size: int


def _binary_sha256(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.name.endswith("/allfi"):
                data = tar.extractfile(member).read()
                return hashlib.sha256(data).hexdigest()
    raise AssertionError(f"{archive} holds no allfi")


def build(
    out: Path,
    version: str,
    mode: str = "ok",
    platform: str = "linux-amd64",
    pad_to: int = 0,
) -> Release:
    """Build one platform archive of a release with the fixture builder."""
    spec = ReleaseSpec(
        version, mode=mode, platforms=(platform,), webapp=False, pad_to=pad_to
    )
    built = build_release(spec, out / f"{version}-{mode}-{platform}-{pad_to}")
    asset = next(a for a in built.assets if a.platform == platform)
    return Release(
        version=version,
        archive=asset.path,
        checksum="sha256:" + asset.sha256,
        binary_sha256=_binary_sha256(asset.path),
        size=asset.size,
    )


def elf_header(
    machine: int = 62, osabi: int = 0, bits: int = 2, endian: int = 1, etype: int = 2
) -> bytes:
    """The first 64 bytes of an ELF file with the given fields."""
    ident = b"\x7fELF" + bytes([bits, endian, 1, osabi]) + bytes(8)
    rest = struct.pack("<HHI", etype, machine, 1)
    return (ident + rest).ljust(64, b"\0")


def macho_header(cputype: int = 0x01000007, filetype: int = 2) -> bytes:
    """The first bytes of a 64-bit little-endian Mach-O file."""
    return (b"\xcf\xfa\xed\xfe" + struct.pack("<III", cputype, 3, filetype)).ljust(
        32, b"\0"
    )


def fat_header(*cputypes: int) -> bytes:
    """The first bytes of a Mach-O universal file with one slice per cputype."""
    data = b"\xca\xfe\xba\xbe" + struct.pack(">I", len(cputypes))
    for index, cputype in enumerate(cputypes):
        data += struct.pack(">IIIII", cputype, 3, 4096 * (index + 1), 4096, 12)
    return data


EXECUTABLE = elf_header() + b"\x90" * 4000


def tar_entry(name: str, kind: str = "file", data: bytes = b"", **fields):
    """One crafted member: (TarInfo, data or None)."""
    info = tarfile.TarInfo(name)
    info.mode = fields.pop("mode", 0o755 if kind in ("dir", "exe") else 0o644)
    types = {
        "file": tarfile.REGTYPE,
        "exe": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "chardev": tarfile.CHRTYPE,
        "blockdev": tarfile.BLKTYPE,
        "fifo": tarfile.FIFOTYPE,
    }
    info.type = types[kind]
    for key, value in fields.items():
        setattr(info, key, value)
    if info.type == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None


def write_tar(path: Path, entries: list, compression: str = "gz") -> Path:
    """Write crafted members to a tar archive, exactly as given."""
    with tarfile.open(path, f"w:{compression}", format=tarfile.GNU_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def good_entries(top: str = "allfi-1.2.0-linux-amd64", binary: bytes = EXECUTABLE):
    """The members of a well-formed release archive."""
    return [
        tar_entry(f"{top}/", "dir"),
        tar_entry(f"{top}/allfi", "exe", binary),
        tar_entry(f"{top}/config.yaml", "file", b'server:\n  address: ":8080"\n'),
        tar_entry(f"{top}/webapp-dist/", "dir"),
        tar_entry(f"{top}/webapp-dist/index.html", "file", b"<html></html>\n"),
    ]


def sha256_of(path: Path) -> str:
    """sha256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def module_command(module: str, args_path: Path) -> list[str]:
    """The command that runs a module of the collection the way Ansible does."""
    return [
        sys.executable,
        "-m",
        f"ansible_collections.allfi.ota.plugins.modules.{module}",
        str(args_path),
    ]


def module_env() -> dict:
    """The environment a directly run module needs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(COLLECTIONS)
    return env


def write_args(path: Path, args: dict) -> Path:
    """Write a module's arguments file."""
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    return path


def run_module(module: str, args: dict, tmp_path: Path) -> dict:
    """Run a module as a subprocess and return its JSON result."""
    args_path = write_args(tmp_path / f"{module}-args.json", args)
    done = subprocess.run(
        module_command(module, args_path),
        env=module_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(
            f"{module} printed no JSON: {done.stdout}\n{done.stderr}"
        ) from None
