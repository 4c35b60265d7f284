"""Tests of _platform: uname mapping and executable header checks."""

from __future__ import annotations

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._platform import (
    check_executable,
    check_executable_header,
    host_platform,
    identify_executable,
    platform_from_uname,
)
from tests.unit.plugins.module_utils.install_support import (
    elf_header,
    fat_header,
    macho_header,
)

X86_64 = 0x01000007
ARM64 = 0x0100000C


# columns: system, machine, AllFi platform name (None: unsupported)
@pytest.mark.parametrize(
    "system, machine, expected",
    [
        ("Linux", "x86_64", "linux-amd64"),
        ("Linux", "amd64", "linux-amd64"),
        ("Linux", "aarch64", "linux-arm64"),
        ("Linux", "arm64", "linux-arm64"),
        ("Darwin", "x86_64", "darwin-amd64"),
        ("Darwin", "arm64", "darwin-arm64"),
        ("Linux", "armv7l", None),
        ("Linux", "i686", None),
        ("Linux", "riscv64", None),
        ("Linux", "ppc64le", None),
        ("Linux", "aarch64_be", None),
        ("FreeBSD", "amd64", None),
        ("Windows", "AMD64", None),
    ],
)
def test_platform_from_uname(system, machine, expected):
    found = platform_from_uname(system, machine)
    assert found.name == expected
    assert found.supported is (expected is not None)
    assert found.machine == machine


def test_host_platform_is_this_machine():
    assert host_platform().name == "linux-amd64"


# columns: header bytes, expected description
@pytest.mark.parametrize(
    "header, expected",
    [
        (elf_header(62), "ELF linux-amd64"),
        (elf_header(183), "ELF linux-arm64"),
        (elf_header(62, osabi=3, etype=3), "ELF linux-amd64"),
        (macho_header(X86_64), "Mach-O darwin-amd64"),
        (macho_header(ARM64), "Mach-O darwin-arm64"),
        (fat_header(X86_64, ARM64), "Mach-O universal darwin-amd64/arm64"),
    ],
)
def test_identify_executable(header, expected):
    assert identify_executable(header).describe() == expected


# columns: header bytes, words the refusal must contain
@pytest.mark.parametrize(
    "header, words",
    [
        (b"", "empty"),
        (b"#!/bin/sh\necho hi\n", "neither an ELF nor a Mach-O"),
        (elf_header(bits=1), "32-bit ELF"),
        (elf_header(endian=2), "big-endian ELF"),
        (elf_header(osabi=9), "another operating system"),
        (elf_header(etype=1), "not an executable"),
        (elf_header()[:12], "truncated"),
        (macho_header(filetype=1), "not an executable"),
        (b"\xce\xfa\xed\xfe" + bytes(28), "32-bit or big-endian Mach-O"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34", "not a Mach-O universal"),
    ],
)
def test_identify_executable_refuses(header, words):
    with pytest.raises(AllfiOtaError, match=words):
        identify_executable(header)


# columns: header bytes, host platform, words the refusal must contain
@pytest.mark.parametrize(
    "header, platform, words",
    [
        (
            elf_header(183),
            "linux-amd64",
            "says ELF linux-arm64, but this host's CPU is amd64",
        ),
        (
            elf_header(62),
            "linux-arm64",
            "says ELF linux-amd64, but this host's CPU is arm64",
        ),
        (elf_header(40), "linux-arm64", "machine-40"),
        (
            macho_header(X86_64),
            "linux-amd64",
            "says Mach-O darwin-amd64, but this host runs linux-amd64",
        ),
        (
            elf_header(62),
            "darwin-amd64",
            "says ELF linux-amd64, but this host runs darwin-amd64",
        ),
        (macho_header(ARM64), "darwin-amd64", "CPU is amd64 \\(darwin-amd64\\)"),
        (fat_header(X86_64), "darwin-arm64", "CPU is arm64 \\(darwin-arm64\\)"),
    ],
)
def test_check_executable_header_refuses(header, platform, words):
    with pytest.raises(AllfiOtaError, match=words):
        check_executable_header(header, platform)


# columns: header bytes, host platform
@pytest.mark.parametrize(
    "header, platform",
    [
        (elf_header(62), "linux-amd64"),
        (elf_header(183), "linux-arm64"),
        (macho_header(ARM64), "darwin-arm64"),
        (fat_header(X86_64, ARM64), "darwin-arm64"),
        (fat_header(X86_64, ARM64), "darwin-amd64"),
    ],
)
def test_check_executable_header_accepts(header, platform):
    check_executable_header(header, platform)


def test_check_executable_reads_a_real_file(standin_factory):
    standin = standin_factory("1.2.0")
    assert check_executable(str(standin), "linux-amd64").describe() == "ELF linux-amd64"
    with pytest.raises(AllfiOtaError, match="CPU is arm64"):
        check_executable(str(standin), "linux-arm64")
