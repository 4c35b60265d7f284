# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's platform in AllFi's <os>-<arch> naming, and executable header checks.

Uses nothing of the module object.
"""

from __future__ import annotations

import os
import platform
import struct
from dataclasses import dataclass

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError

# The platforms AllFi's release pipeline publishes an asset for.
SUPPORTED_PLATFORMS = ("linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64")

# Kernel names (platform.system()) to AllFi's os names.
_OS_NAMES = {"linux": "linux", "darwin": "darwin"}

# CPU names reported by uname -m to AllFi's arch names. Only these are known;
# anything else is unsupported and never guessed.
_ARCH_NAMES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
}

# ELF: e_machine values and the OS/ABI bytes that a Linux executable carries.
_ELF_MAGIC = b"\x7fELF"
_ELF_MACHINES = {62: "amd64", 183: "arm64"}
_ELF_LINUX_OSABI = (0, 3)  # System V (what Go and most linkers write), GNU/Linux
_ELF_EXECUTABLE_TYPES = (2, 3)  # ET_EXEC, ET_DYN (position-independent)

# Mach-O: magics and CPU types.
_MACHO_64_LE = b"\xcf\xfa\xed\xfe"
_MACHO_OTHER = (b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xce")
_MACHO_FAT = b"\xca\xfe\xba\xbe"
_MACHO_FAT64 = b"\xca\xfe\xba\xbf"
_MACHO_CPUS = {0x01000007: "amd64", 0x0100000C: "arm64"}
_MACHO_EXECUTE = 2
# More slices than this means the cafebabe magic belongs to a Java class file.
_MACHO_FAT_MAX_ARCHES = 16

HEADER_BYTES = 4096


@dataclass(frozen=True)
class HostPlatform:
    """What the kernel reports, and its AllFi name when AllFi ships for it."""

    system: str
    machine: str
    os: str | None
    arch: str | None

    @property
    def name(self) -> str | None:
        """The AllFi platform name, e.g. linux-amd64, or None when unsupported."""
        if self.os is None or self.arch is None:
            return None
        return f"{self.os}-{self.arch}"

    @property
    def supported(self) -> bool:
        """True when AllFi publishes an asset for this platform."""
        return self.name in SUPPORTED_PLATFORMS


def platform_from_uname(system: str, machine: str) -> HostPlatform:
    """Map a kernel name and CPU name (as uname reports them) to AllFi's naming."""
    os_name = _OS_NAMES.get(system.strip().lower())
    arch = _ARCH_NAMES.get(machine.strip().lower())
    return HostPlatform(system=system, machine=machine, os=os_name, arch=arch)


def host_platform() -> HostPlatform:
    """The platform of the host this code runs on."""
    return platform_from_uname(platform.system(), os.uname().machine)


@dataclass(frozen=True)
class ExecutableFormat:
    """What an executable's header says it runs on."""

    kind: str
    os: str
    arches: tuple[str, ...]

    def describe(self) -> str:
        """A short human description such as 'ELF linux-arm64'."""
        return f"{self.kind} {self.os}-{'/'.join(self.arches)}"


def _identify_elf(header: bytes) -> ExecutableFormat:
    if len(header) < 20:
        raise AllfiOtaError("truncated ELF header")
    ei_class, ei_data, osabi = header[4], header[5], header[7]
    if ei_class != 2:
        raise AllfiOtaError("32-bit ELF, AllFi ships only 64-bit executables")
    if ei_data != 1:
        raise AllfiOtaError("big-endian ELF, AllFi ships only little-endian ones")
    if osabi not in _ELF_LINUX_OSABI:
        raise AllfiOtaError(f"ELF for another operating system (OS/ABI {osabi})")
    e_type, e_machine = struct.unpack_from("<HH", header, 16)
    if e_type not in _ELF_EXECUTABLE_TYPES:
        raise AllfiOtaError(f"ELF file of type {e_type} is not an executable")
    arch = _ELF_MACHINES.get(e_machine, f"machine-{e_machine}")
    return ExecutableFormat(kind="ELF", os="linux", arches=(arch,))


def _identify_macho(header: bytes) -> ExecutableFormat:
    if len(header) < 16:
        raise AllfiOtaError("truncated Mach-O header")
    cputype, _subtype, filetype = struct.unpack_from("<III", header, 4)
    if filetype != _MACHO_EXECUTE:
        raise AllfiOtaError(f"Mach-O file of type {filetype} is not an executable")
    arch = _MACHO_CPUS.get(cputype, f"cputype-{cputype:#x}")
    return ExecutableFormat(kind="Mach-O", os="darwin", arches=(arch,))


def _identify_fat(header: bytes) -> ExecutableFormat:
    entry_size = 32 if header[:4] == _MACHO_FAT64 else 20
    (count,) = struct.unpack_from(">I", header, 4)
    if count == 0 or count > _MACHO_FAT_MAX_ARCHES:
        raise AllfiOtaError("not a Mach-O universal executable")
    if len(header) < 8 + count * entry_size:
        raise AllfiOtaError("truncated Mach-O universal header")
    arches = []
    for index in range(count):
        (cputype,) = struct.unpack_from(">I", header, 8 + index * entry_size)
        arches.append(_MACHO_CPUS.get(cputype, f"cputype-{cputype:#x}"))
    return ExecutableFormat(kind="Mach-O universal", os="darwin", arches=tuple(arches))


def identify_executable(header: bytes) -> ExecutableFormat:
    """Read the OS and CPU from the first bytes of an executable."""
    magic = header[:4]
    if magic == _ELF_MAGIC:
        return _identify_elf(header)
    if magic == _MACHO_64_LE:
        return _identify_macho(header)
    if magic in (_MACHO_FAT, _MACHO_FAT64):
        return _identify_fat(header)
    if magic in _MACHO_OTHER:
        raise AllfiOtaError("32-bit or big-endian Mach-O, which AllFi does not ship")
    if not header:
        raise AllfiOtaError("the file is empty")
    raise AllfiOtaError("neither an ELF nor a Mach-O executable")


def check_executable_header(header: bytes, platform_name: str) -> ExecutableFormat:
    """Raise AllfiOtaError unless the header is an executable for platform_name."""
    found = identify_executable(header)
    wanted_os, _sep, wanted_arch = platform_name.partition("-")
    if found.os != wanted_os:
        raise AllfiOtaError(
            f"its header says {found.describe()}, but this host runs {platform_name}"
        )
    if wanted_arch not in found.arches:
        raise AllfiOtaError(
            f"its header says {found.describe()}, but this host's CPU is"
            f" {wanted_arch} ({platform_name})"
        )
    return found


def check_executable(path: str, platform_name: str) -> ExecutableFormat:
    """Check the executable file at path against platform_name."""
    with open(path, "rb") as stream:
        header = stream.read(HEADER_BYTES)
    return check_executable_header(header, platform_name)
