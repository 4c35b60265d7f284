"""Tests of the allfi.ota.host_info module file."""

from __future__ import annotations

from tests.unit.plugins.module_utils.install_support import run_module

KEYS = {
    "changed",
    "platform",
    "platform_supported",
    "machine",
    "system",
    "install_dir",
    "version",
    "sha256",
    "recorded_sha256",
    "previous_version",
    "releases",
    "drift",
    "drifted_files",
    "unmanaged_binary",
    "unmanaged_version",
    "pending_operation",
    "free_bytes",
    "free_bytes_path",
    "service_manager",
    "invocation",
}


def test_empty_host(tmp_path):
    result = run_module(
        "host_info", {"install_dir": str(tmp_path / "a" / "b")}, tmp_path
    )
    assert set(result) == KEYS
    assert result["changed"] is False
    assert result["platform"] == "linux-amd64"
    assert result["version"] is None
    assert result["releases"] == []
    assert result["free_bytes_path"] == str(tmp_path)
    assert result["free_bytes"] > 0
    assert result["service_manager"] in ("systemd", "openrc", "sysvinit", "none")
    assert not (tmp_path / "a").exists()


def test_broken_layout_fails_clearly(tmp_path):
    (tmp_path / "current").mkdir()
    result = run_module("host_info", {"install_dir": str(tmp_path)}, tmp_path)
    assert result["failed"] is True
    assert "is not a symlink" in result["msg"]
