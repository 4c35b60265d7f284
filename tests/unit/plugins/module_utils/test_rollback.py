"""Tests of _rollback: target choice, refusals, no flip-flop, check mode."""

from __future__ import annotations

import os

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._install import run_install
from ansible_collections.allfi.ota.plugins.module_utils._rollback import run_rollback


def install(root, release, **extra):
    params = {
        "src": str(release.archive),
        "checksum": release.checksum,
        "version": release.version,
        "install_dir": str(root),
        **extra,
    }
    return run_install(
        params, check_mode=False, diff=False, platform_name="linux-amd64"
    )


def rollback(root, check_mode=False, **extra):
    params = {"install_dir": str(root), "lock_timeout": 5, **extra}
    return run_rollback(params, check_mode=check_mode, diff=True).result


@pytest.fixture
def three(tmp_path, releases):
    root = tmp_path / "opt"
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        install(root, releases[version])
    return root


def test_default_is_the_previous_release_and_does_not_flip_back(three):
    assert rollback(three, check_mode=True)["changed"] is True
    assert os.readlink(three / "current") == "releases/1.2.0"
    first = rollback(three)
    assert (first["changed"], first["version"], first["rolled_back_from"]) == (
        True,
        "1.1.0",
        "1.2.0",
    )
    again = rollback(three)
    assert (again["changed"], again["version"], again["rolled_back_from"]) == (
        False,
        "1.1.0",
        "1.2.0",
    )
    assert os.readlink(three / "current") == "releases/1.1.0"


def test_explicit_version_with_or_without_v(three):
    assert rollback(three, version="v1.0.0")["version"] == "1.0.0"
    assert rollback(three, version="1.0.0")["changed"] is False


def test_release_not_kept_is_refused(three):
    with pytest.raises(
        AllfiOtaError, match=r"release 0\.9\.0 is not kept .*kept: 1\.0\.0"
    ):
        rollback(three, version="0.9.0")


def test_drifted_target_is_refused(three):
    (three / "releases" / "1.1.0" / "allfi").write_bytes(b"tampered")
    with pytest.raises(AllfiOtaError, match=r"drift check: files of release 1\.1\.0"):
        rollback(three)
    assert os.readlink(three / "current") == "releases/1.2.0"


def test_nothing_to_roll_back_to(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.0.0"])
    with pytest.raises(AllfiOtaError, match=r"no release was active before 1\.0\.0"):
        rollback(root)


def test_next_install_after_rollback_moves_forward_again(three, releases):
    rollback(three)
    result = install(three, releases["1.2.0"]).result
    assert (result["changed"], result["previous_version"]) == (True, "1.1.0")
    assert rollback(three)["version"] == "1.1.0"
