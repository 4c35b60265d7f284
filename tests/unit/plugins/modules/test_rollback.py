"""Tests of the allfi.ota.rollback module file."""

from __future__ import annotations

from tests.unit.plugins.module_utils.install_support import run_module


def install(release, root, tmp_path):
    arguments = {
        "src": str(release.archive),
        "checksum": release.checksum,
        "version": release.version,
        "install_dir": str(root),
    }
    assert run_module("install", arguments, tmp_path)["changed"] is True


def test_rollback_and_its_result(tmp_path, releases):
    root = tmp_path / "opt"
    install(releases["1.1.0"], root, tmp_path)
    install(releases["1.2.0"], root, tmp_path)
    result = run_module(
        "rollback", {"install_dir": str(root), "_ansible_diff": True}, tmp_path
    )
    assert {k: result[k] for k in ("changed", "version", "rolled_back_from")} == {
        "changed": True,
        "version": "1.1.0",
        "rolled_back_from": "1.2.0",
    }
    assert result["diff"]["before"]["version"] == "1.2.0"
    assert result["diff"]["after"]["sha256"] == releases["1.1.0"].binary_sha256


def test_nothing_to_roll_back_to_fails_clearly(tmp_path, releases):
    root = tmp_path / "opt"
    result = run_module("rollback", {"install_dir": str(root)}, tmp_path)
    assert result["failed"] is True
    assert result["msg"] == (
        f"Could not roll back AllFi in {root}: nothing to roll back to: {root} holds"
        " no release installed by allfi.ota.install"
    )
    install(releases["1.1.0"], root, tmp_path)
    result = run_module("rollback", {"install_dir": str(root)}, tmp_path)
    assert (
        "nothing to roll back to: no release was active before 1.1.0" in result["msg"]
    )
