"""Tests of _install: decisions, steps, refusals, recovery, with real archives."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.allfi.ota.plugins.module_utils import _install
from ansible_collections.allfi.ota.plugins.module_utils import _journal as journal
from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._install import (
    parse_checksum,
    recover,
    run_install,
)
from ansible_collections.allfi.ota.plugins.module_utils._layout import (
    Layout,
    load_state,
    switch_symlink,
)
from ansible_collections.allfi.ota.plugins.module_utils._lock import InstallLock
from tests.unit.plugins.module_utils.install_support import (
    EXECUTABLE,
    good_entries,
    sha256_of,
    write_tar,
)

RESULT_KEYS = {
    "changed",
    "version",
    "previous_version",
    "release_path",
    "binary",
    "sha256",
    "pruned",
    "adopted",
    "drift",
}


def install(
    root, release, check_mode=False, diff=False, platform="linux-amd64", **extra
):
    params = {
        "src": str(release.archive),
        "checksum": release.checksum,
        "version": release.version,
        "install_dir": str(root),
        "lock_timeout": 5,
        **extra,
    }
    return run_install(params, check_mode=check_mode, diff=diff, platform_name=platform)


def snapshot(root):
    """Every path under root with its content hash or link target."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                found[path] = "->" + os.readlink(path)
            elif os.path.isfile(path):
                found[path] = sha256_of(path)
            else:
                found[path] = "dir"
    return found


def active(root):
    return os.readlink(os.path.join(root, "current"))


def tmp_is_empty(root):
    return os.listdir(os.path.join(root, ".allfi-ota", "tmp")) == []


def test_fresh_install(tmp_path, releases):
    root = tmp_path / "opt"
    outcome = install(root, releases["1.2.0"])
    result = outcome.result
    assert set(result) == RESULT_KEYS
    assert result["changed"] is True
    assert result["version"] == "1.2.0"
    assert result["previous_version"] is None
    assert result["release_path"] == str(root / "releases" / "1.2.0")
    assert result["binary"] == str(root / "releases" / "1.2.0" / "allfi")
    assert result["sha256"] == releases["1.2.0"].binary_sha256
    assert sha256_of(root / "current" / "allfi") == releases["1.2.0"].binary_sha256
    assert active(root) == "releases/1.2.0"
    assert os.access(root / "current" / "allfi", os.X_OK)
    assert (root / "current" / "config.yaml").is_file()
    assert tmp_is_empty(root)
    assert not (root / ".allfi-ota" / "journal.json").exists()
    assert oct((root / ".allfi-ota" / "tmp").stat().st_mode & 0o777) == "0o700"
    state = json.loads((root / ".allfi-ota" / "state.json").read_text())
    assert state["active"] == "1.2.0"
    assert state["releases"]["1.2.0"]["files"]["allfi"] == result["sha256"]


def test_same_version_again_needs_no_archive(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.2.0"])
    before = snapshot(root)
    release = releases["1.2.0"]
    params = {
        "src": str(tmp_path / "gone.tar.gz"),
        "checksum": release.checksum,
        "version": "v1.2.0",
        "install_dir": str(root),
    }
    outcome = run_install(
        params, check_mode=False, diff=True, platform_name="linux-amd64"
    )
    assert outcome.result["changed"] is False
    assert outcome.result["previous_version"] == "1.2.0"
    assert outcome.result["sha256"] == release.binary_sha256
    assert outcome.result["diff"]["before"] == outcome.result["diff"]["after"]
    assert snapshot(root) == before


def test_upgrade_keeps_previous_and_reports_it(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.1.0"])
    outcome = install(root, releases["1.2.0"], diff=True)
    assert outcome.result["previous_version"] == "1.1.0"
    assert outcome.result["diff"] == {
        "before": {"version": "1.1.0", "sha256": releases["1.1.0"].binary_sha256},
        "after": {"version": "1.2.0", "sha256": releases["1.2.0"].binary_sha256},
    }
    state = load_state(Layout(str(root)))
    assert (state.active, state.previous) == ("1.2.0", "1.1.0")


# columns: file changed behind the module's back, how
@pytest.mark.parametrize(
    "name, change",
    [
        ("allfi", "overwrite"),
        ("config.yaml", "overwrite"),
        ("webapp-dist/index.html", "remove"),
        ("webapp-dist/extra.js", "add"),
    ],
)
def test_drift_is_reported_and_repaired(tmp_path, releases, name, change):
    root = tmp_path / "opt"
    install(root, releases["1.2.0"])
    path = root / "releases" / "1.2.0" / name
    if change == "remove":
        path.unlink()
    else:
        path.write_bytes(b"changed by someone")
    outcome = install(root, releases["1.2.0"])
    assert outcome.result["changed"] is True
    assert outcome.result["drift"] == [name]
    assert not (root / "releases" / "1.2.0" / "webapp-dist" / "extra.js").exists()
    assert sha256_of(root / "current" / "allfi") == releases["1.2.0"].binary_sha256
    assert install(root, releases["1.2.0"]).result["changed"] is False


def test_in_app_updater_overwrite_is_repaired(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.2.0"])
    (root / "current" / "allfi").write_bytes(
        (root / "releases" / "1.2.0" / "allfi").read_bytes()[:-1] + b"\1"
    )
    result = install(root, releases["1.2.0"]).result
    assert result["drift"] == ["allfi"]
    assert result["previous_version"] == "1.2.0"
    assert sha256_of(root / "current" / "allfi") == releases["1.2.0"].binary_sha256


def test_checksum_mismatch_changes_nothing(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.1.0"])
    before = snapshot(root)
    with pytest.raises(AllfiOtaError) as caught:
        install(root, releases["1.2.0"], checksum="sha256:" + "0" * 64)
    message = str(caught.value)
    assert "installing AllFi 1.2.0 into" in message
    assert "active release as it was (1.1.0)" in message
    assert "checksum check: " + str(releases["1.2.0"].archive) in message
    assert "sha256:" + "0" * 64 in message
    assert snapshot(root) == before
    assert tmp_is_empty(root)


def test_archive_over_max_size_is_refused(tmp_path, releases):
    root = tmp_path / "opt"
    release = releases["1.2.0"]
    with pytest.raises(AllfiOtaError, match=r"size check: .* larger than max_size"):
        install(root, release, max_size=release.size - 1)
    assert not (root / "releases" / "1.2.0").exists()
    assert tmp_is_empty(root)


def test_wrong_cpu_leaves_active_release(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.1.0"])
    before = snapshot(root)
    with pytest.raises(AllfiOtaError) as caught:
        install(root, releases["1.2.0"], platform="linux-arm64")
    assert "cannot run here: its header says ELF linux-amd64" in str(caught.value)
    assert "(1.1.0)" in str(caught.value)
    assert snapshot(root) == before


def test_crafted_archive_with_a_link_is_refused(tmp_path):
    from tests.unit.plugins.module_utils.install_support import tar_entry

    archive = write_tar(
        tmp_path / "evil.tar.gz",
        [
            *good_entries(),
            tar_entry("allfi-1.2.0-linux-amd64/x", "symlink", linkname="/"),
        ],
    )
    root = tmp_path / "opt"
    params = {
        "src": str(archive),
        "checksum": "sha256:" + sha256_of(archive),
        "version": "1.2.0",
        "install_dir": str(root),
    }
    with pytest.raises(AllfiOtaError, match="is a symbolic link to '/'"):
        run_install(params, check_mode=False, diff=False, platform_name="linux-amd64")
    assert os.listdir(root / "releases") == []
    assert tmp_is_empty(root)


def test_downgrade_is_refused_naming_both_versions(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.2.0"])
    with pytest.raises(
        AllfiOtaError, match=r"active version is 1\.2\.0 and 1\.1\.0 is lower"
    ):
        install(root, releases["1.1.0"])
    with pytest.raises(
        AllfiOtaError, match=r"active version is 1\.2\.0 and 1\.1\.0 is lower"
    ):
        install(root, releases["1.1.0"], check_mode=True)
    result = install(root, releases["1.1.0"], allow_downgrade=True).result
    assert (result["version"], result["previous_version"]) == ("1.1.0", "1.2.0")


def test_kept_release_is_activated_without_download(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.1.0"])
    install(root, releases["1.2.0"])
    release = releases["1.1.0"]
    params = {
        "src": str(tmp_path / "gone.tar.gz"),
        "checksum": release.checksum,
        "version": "1.1.0",
        "install_dir": str(root),
        "allow_downgrade": True,
    }
    result = run_install(
        params, check_mode=False, diff=False, platform_name="linux-amd64"
    ).result
    assert result["changed"] is True
    assert active(root) == "releases/1.1.0"
    assert result["sha256"] == release.binary_sha256


# columns: keep_releases, releases kept at the end, pruned by the last install
@pytest.mark.parametrize(
    "keep, kept, pruned",
    [
        (3, ["1.1.0", "1.2.0", "1.3.0"], ["1.0.0"]),
        (2, ["1.2.0", "1.3.0"], ["1.0.0", "1.1.0"]),
        (1, ["1.2.0", "1.3.0"], ["1.0.0", "1.1.0"]),
        (5, ["1.0.0", "1.1.0", "1.2.0", "1.3.0"], []),
    ],
)
def test_prune(tmp_path, releases, keep, kept, pruned):
    root = tmp_path / "opt"
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        install(root, releases[version], keep_releases=5)
    result = install(root, releases["1.3.0"], keep_releases=keep).result
    assert result["pruned"] == pruned
    assert sorted(os.listdir(root / "releases")) == kept
    assert sorted(load_state(Layout(str(root))).releases) == kept


def test_prune_never_removes_the_release_the_active_one_replaced(tmp_path, releases):
    root = tmp_path / "opt"
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        install(root, releases[version])
    # 1.0.0 is active again, having replaced 1.2.0
    install(root, releases["1.0.0"], allow_downgrade=True)
    result = install(root, releases["1.0.0"], keep_releases=1).result
    assert result["pruned"] == ["1.1.0"]
    assert sorted(os.listdir(root / "releases")) == ["1.0.0", "1.2.0"]


def test_activate_false_places_only(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.1.0"])
    result = install(root, releases["1.2.0"], activate=False).result
    assert result["changed"] is True
    assert active(root) == "releases/1.1.0"
    assert (root / "releases" / "1.2.0" / "allfi").is_file()
    assert install(root, releases["1.2.0"], activate=False).result["changed"] is False
    assert install(root, releases["1.2.0"]).result["changed"] is True
    assert active(root) == "releases/1.2.0"


def test_check_mode_writes_and_reads_nothing(tmp_path, releases):
    root = tmp_path / "opt"
    result = install(root, releases["1.2.0"], check_mode=True, diff=True).result
    assert result["changed"] is True
    assert result["sha256"] is None
    assert result["diff"]["after"] == {"version": "1.2.0", "sha256": None}
    assert not root.exists()

    install(root, releases["1.1.0"])
    before = snapshot(root)
    params = {
        "src": str(tmp_path / "gone.tar.gz"),
        "checksum": releases["1.2.0"].checksum,
        "version": "1.2.0",
        "install_dir": str(root),
    }
    result = run_install(
        params, check_mode=True, diff=True, platform_name="linux-amd64"
    ).result
    assert result["changed"] is True
    assert result["diff"]["before"]["version"] == "1.1.0"
    assert snapshot(root) == before


def test_lock_held_by_another_run_times_out(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.1.0"])
    lock = InstallLock(str(root / ".allfi-ota" / "lock"), 1)
    with lock, pytest.raises(AllfiOtaError) as caught:
        install(root, releases["1.2.0"], lock_timeout=0)
    assert f"another run (process {os.getpid()}) still holds the lock" in str(
        caught.value
    )
    assert active(root) == "releases/1.1.0"


def test_owner_and_group_are_applied(tmp_path, releases):
    root = tmp_path / "opt"
    install(root, releases["1.2.0"], owner="nobody", group="nogroup")
    info = (root / "releases" / "1.2.0" / "allfi").stat()
    import grp
    import pwd

    assert info.st_uid == pwd.getpwnam("nobody").pw_uid
    assert info.st_gid == grp.getgrnam("nogroup").gr_gid
    with pytest.raises(AllfiOtaError, match="owner 'no-such-user' is not a user"):
        install(root, releases["1.2.0"], owner="no-such-user")


def test_unknown_platform_is_refused_before_anything(tmp_path, releases, monkeypatch):
    from ansible_collections.allfi.ota.plugins.module_utils import _platform

    monkeypatch.setattr(
        _platform.os,
        "uname",
        lambda: os.uname_result(("Linux", "h", "6", "#1", "armv7l")),
    )
    params = {
        "src": str(releases["1.2.0"].archive),
        "checksum": releases["1.2.0"].checksum,
        "version": "1.2.0",
        "install_dir": str(tmp_path / "opt"),
    }
    with pytest.raises(AllfiOtaError, match="CPU 'armv7l'"):
        run_install(params, check_mode=False, diff=False)


def test_failure_after_the_switch_puts_current_back(tmp_path, releases, monkeypatch):
    root = tmp_path / "opt"
    install(root, releases["1.1.0"])

    real_save = _install.save_state
    calls = []

    def broken_save(layout, state):
        calls.append(state.active)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        real_save(layout, state)

    monkeypatch.setattr(_install, "save_state", broken_save)
    with pytest.raises(AllfiOtaError, match="No space left on device"):
        install(root, releases["1.2.0"])
    monkeypatch.undo()
    assert active(root) == "releases/1.1.0"
    assert not (root / "releases" / "1.2.0").exists()
    assert not (root / ".allfi-ota" / "journal.json").exists()
    assert tmp_is_empty(root)


# columns: hand-installed VERSION file, adopt_version option, expected release name
@pytest.mark.parametrize(
    "version_file, adopt_version, expected",
    [
        ("1.1.0\n", None, "1.1.0"),
        ("v1.1.0", None, "1.1.0"),
        (None, "v1.0.0", "1.0.0"),
        ("1.1.0", "1.0.0", "1.0.0"),
        (None, None, "adopted-"),
        ("garbage", None, "adopted-"),
    ],
)
def test_adoption(tmp_path, releases, version_file, adopt_version, expected):
    root = tmp_path / "opt"
    root.mkdir()
    legacy = root / "allfi"
    legacy.write_bytes(EXECUTABLE)
    legacy.chmod(0o755)
    if version_file is not None:
        (root / "VERSION").write_text(version_file)
    extra = {"adopt_version": adopt_version} if adopt_version else {}
    outcome = install(root, releases["1.2.0"], **extra)
    adopted = outcome.result["adopted"]
    assert adopted.startswith(expected)
    if expected == "adopted-":
        assert (
            adopted
            == "adopted-" + sha256_of(root / "releases" / adopted / "allfi")[:12]
        )
    assert outcome.result["previous_version"] == adopted
    assert sha256_of(root / "releases" / adopted / "allfi") == sha256_of_bytes(
        EXECUTABLE
    )
    assert os.readlink(legacy) == "current/allfi"
    assert sha256_of(legacy) == releases["1.2.0"].binary_sha256
    assert (version_file == "garbage") == any("garbage" in w for w in outcome.warnings)
    assert install(root, releases["1.2.0"]).result["changed"] is False


def sha256_of_bytes(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_adoption_of_the_wanted_version_reinstalls_it_verified(tmp_path, releases):
    root = tmp_path / "opt"
    root.mkdir()
    (root / "allfi").write_bytes(EXECUTABLE)
    result = install(root, releases["1.2.0"], adopt_version="1.2.0").result
    assert result["adopted"] == "1.2.0"
    assert result["changed"] is True
    assert sha256_of(root / "allfi") == releases["1.2.0"].binary_sha256
    state = load_state(Layout(str(root)))
    assert state.releases["1.2.0"].adopted is False
    assert install(root, releases["1.2.0"]).result["changed"] is False


def test_adoption_in_check_mode_writes_nothing(tmp_path, releases):
    root = tmp_path / "opt"
    root.mkdir()
    (root / "allfi").write_bytes(EXECUTABLE)
    before = snapshot(root)
    result = install(root, releases["1.2.0"], check_mode=True).result
    assert result["adopted"].startswith("adopted-")
    assert snapshot(root) == before


# columns: checksum option, accepted hex (None: refused)
@pytest.mark.parametrize(
    "text, expected",
    [
        ("sha256:" + "ab" * 32, "ab" * 32),
        ("SHA256:" + "AB" * 32, "ab" * 32),
        ("ab" * 32, None),
        ("sha512:" + "ab" * 32, None),
        ("sha256:" + "ab" * 31, None),
        ("sha256:" + "zz" * 32, None),
    ],
)
def test_parse_checksum(text, expected):
    if expected is None:
        with pytest.raises(AllfiOtaError, match="checksum must read sha256:"):
            parse_checksum(text)
    else:
        assert parse_checksum(text) == expected


def place_half_done(tmp_path, releases, step):
    """1.1.0 active; an install of 1.2.0 left at step; returns root and layout."""
    root = tmp_path / "opt"
    install(root, releases["1.1.0"])
    install(root, releases["1.2.0"], activate=False)
    layout = Layout(str(root))
    state = load_state(layout)
    record = state.releases.pop("1.2.0")
    from ansible_collections.allfi.ota.plugins.module_utils._layout import save_state

    save_state(layout, state)
    journal.begin(
        layout,
        journal.JournalEntry(
            operation="install",
            target="1.2.0",
            previous="1.1.0",
            created_release=True,
            step=step,
            record=record.to_json(),
        ),
    )
    (root / ".allfi-ota" / "tmp" / "download-leftover").write_bytes(b"x")
    return root, layout


def test_recover_undoes_an_install_killed_before_the_switch(tmp_path, releases):
    root, layout = place_half_done(tmp_path, releases, "place")
    message = recover(layout, load_state(layout))
    assert message.startswith("undid the install of 1.2.0")
    assert not (root / "releases" / "1.2.0").exists()
    assert active(root) == "releases/1.1.0"
    assert not (root / ".allfi-ota" / "journal.json").exists()
    assert tmp_is_empty(root)


def test_recover_finishes_an_install_killed_after_the_switch(tmp_path, releases):
    root, layout = place_half_done(tmp_path, releases, "switch")
    switch_symlink(layout.current, "releases/1.2.0")
    message = recover(layout, load_state(layout))
    assert message.startswith("finished the install of 1.2.0")
    state = load_state(layout)
    assert (state.active, state.previous) == ("1.2.0", "1.1.0")
    assert state.releases["1.2.0"].binary_sha256 == releases["1.2.0"].binary_sha256
    assert install(root, releases["1.2.0"]).result["changed"] is False


def test_recover_undoes_when_placed_files_are_incomplete(tmp_path, releases):
    root, layout = place_half_done(tmp_path, releases, "place")
    (root / "releases" / "1.2.0" / "config.yaml").unlink()
    switch_symlink(layout.current, "releases/1.2.0")
    message = recover(layout, load_state(layout))
    assert message.startswith("undid")
    # current stays on the unrecorded folder; the next install installs it again
    result = install(root, releases["1.2.0"]).result
    assert result["changed"] is True
    assert (root / "current" / "config.yaml").is_file()
    assert install(root, releases["1.2.0"]).result["changed"] is False


def test_next_install_recovers_and_warns(tmp_path, releases):
    root, _layout = place_half_done(tmp_path, releases, "place")
    outcome = install(root, releases["1.2.0"])
    assert any("undid the install of 1.2.0" in w for w in outcome.warnings)
    assert outcome.result["changed"] is True
    assert active(root) == "releases/1.2.0"
