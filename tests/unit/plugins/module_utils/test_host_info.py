"""Tests of _host_info: service manager detection, free space, drift facts."""

from __future__ import annotations

import os

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._host_info import (
    free_bytes,
    gather,
    is_sysvinit,
    service_manager,
)
from ansible_collections.allfi.ota.plugins.module_utils._install import run_install


def make_root(tmp_path, *folders):
    for folder in folders:
        (tmp_path / folder).mkdir(parents=True)
    return str(tmp_path)


# columns: folders that exist, kernel, init is sysvinit, rc-status status, expected
@pytest.mark.parametrize(
    "folders, system, sysvinit, rc_status, expected",
    [
        (["run/systemd/system", "run/openrc"], "Linux", True, 0, "systemd"),
        ([], "Darwin", False, 1, "launchd"),
        (["run/openrc", "etc/init.d"], "Linux", True, 0, "openrc"),
        (["etc/init.d"], "Linux", True, 1, "sysvinit"),
        (["etc/init.d"], "Linux", False, 1, "none"),
        ([], "Linux", True, 1, "none"),
        ([], "Linux", False, 0, "openrc"),
        ([], "Linux", False, 127, "none"),
    ],
)
def test_service_manager(tmp_path, folders, system, sysvinit, rc_status, expected):
    root = make_root(tmp_path, *folders)
    asked = []

    def run(command):
        asked.append(command)
        return rc_status

    found = service_manager(run, root=root, system=system, sysvinit=lambda: sysvinit)
    assert found == expected


def test_is_sysvinit_reads_the_program(tmp_path):
    init = tmp_path / "init"
    init.write_bytes(b"\x7fELF...INIT_VERSION=sysvinit-3.06...")
    assert is_sysvinit(str(init)) is True
    init.write_bytes(b"\x7fELF...busybox...")
    assert is_sysvinit(str(init)) is False
    systemd = tmp_path / "systemd"
    systemd.write_bytes(b"sysvinit compatibility")
    os.symlink(systemd, tmp_path / "linked-init")
    assert is_sysvinit(str(tmp_path / "linked-init")) is False


def test_free_bytes_of_the_nearest_existing_parent(tmp_path):
    free, path = free_bytes(str(tmp_path / "not" / "yet"))
    assert path == str(tmp_path)
    info = os.statvfs(tmp_path)
    assert free == info.f_bavail * info.f_frsize


def test_gather_reports_active_release_and_drift(tmp_path, releases):
    root = tmp_path / "opt"
    for version in ("1.1.0", "1.2.0"):
        release = releases[version]
        params = {
            "src": str(release.archive),
            "checksum": release.checksum,
            "version": version,
            "install_dir": str(root),
        }
        run_install(params, check_mode=False, diff=False, platform_name="linux-amd64")
    facts = gather(str(root), "allfi", None)
    assert (facts["version"], facts["previous_version"]) == ("1.2.0", "1.1.0")
    assert facts["releases"] == ["1.1.0", "1.2.0"]
    assert facts["sha256"] == releases["1.2.0"].binary_sha256
    assert facts["drift"] is False
    (root / "current" / "config.yaml").write_text("changed")
    facts = gather(str(root), "allfi", None)
    assert (facts["drift"], facts["drifted_files"]) == (True, ["config.yaml"])


def test_gather_reports_a_hand_installed_executable(tmp_path):
    (tmp_path / "allfi").write_bytes(b"\x7fELF binary")
    (tmp_path / "VERSION").write_text("v1.0.0")
    facts = gather(str(tmp_path), "allfi", None)
    assert facts["unmanaged_binary"] == str(tmp_path / "allfi")
    assert facts["unmanaged_version"] == "1.0.0"
    assert facts["version"] is None
    assert len(facts["sha256"]) == 64
