"""Tests of _layout: current link, state reconciliation, drift, pruning order."""

from __future__ import annotations

import os

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._layout import (
    Layout,
    ReleaseRecord,
    State,
    discard_release,
    drifted_files,
    load_state,
    prune_candidates,
    save_state,
    sort_names,
    switch_symlink,
    tree_files,
)


def layout_with(tmp_path, *names, active=None):
    layout = Layout(str(tmp_path))
    layout.prepare()
    for name in names:
        os.makedirs(layout.release_dir(name))
    if active:
        switch_symlink(layout.current, f"releases/{active}")
    return layout


def test_relative_install_dir_is_refused():
    with pytest.raises(AllfiOtaError, match="not an absolute path"):
        Layout("opt/allfi")


def test_active_name_follows_current(tmp_path):
    layout = layout_with(tmp_path, "1.1.0", "1.2.0", active="1.1.0")
    assert layout.active_name() == "1.1.0"
    switch_symlink(layout.current, "releases/1.2.0")
    assert layout.active_name() == "1.2.0"
    assert os.readlink(layout.current) == "releases/1.2.0"
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


# columns: what `current` is, words of the refusal
@pytest.mark.parametrize(
    "kind, words",
    [("folder", "is not a symlink"), ("outside", "outside")],
)
def test_active_name_refuses_a_foreign_current(tmp_path, kind, words):
    layout = layout_with(tmp_path)
    if kind == "folder":
        os.mkdir(layout.current)
    else:
        os.symlink("/usr/bin", layout.current)
    with pytest.raises(AllfiOtaError, match=words):
        layout.active_name()


def test_switch_symlink_refuses_to_replace_a_folder(tmp_path):
    layout = layout_with(tmp_path)
    os.mkdir(layout.current)
    with pytest.raises(AllfiOtaError, match="is a folder, not a symlink"):
        switch_symlink(layout.current, "releases/1.0.0")


def test_state_round_trip_and_reconciliation(tmp_path):
    layout = layout_with(tmp_path, "1.1.0", "1.2.0", active="1.2.0")
    record = ReleaseRecord("1.2.0", "allfi", {"allfi": "ab"}, 10.0, "cd")
    gone = ReleaseRecord("1.0.0", "allfi", {"allfi": "ef"}, 5.0)
    save_state(
        layout, State("1.1.0", "1.0.0", "install", {"1.2.0": record, "1.0.0": gone})
    )
    state = load_state(layout)
    # current says 1.2.0: the recorded active one becomes the previous one
    assert (state.active, state.previous) == ("1.2.0", "1.1.0")
    assert list(state.releases) == ["1.2.0"]
    assert state.releases["1.2.0"].binary_sha256 == "ab"


def test_corrupt_state_is_reported(tmp_path):
    layout = layout_with(tmp_path)
    with open(layout.state_file, "w") as stream:
        stream.write("{not json")
    with pytest.raises(AllfiOtaError, match="is not a state file"):
        load_state(layout)


# columns: recorded files, files on disk, drifted names
@pytest.mark.parametrize(
    "recorded, actual, drifted",
    [
        ({"a": "1"}, {"a": "1"}, []),
        ({"a": "1"}, {"a": "2"}, ["a"]),
        ({"a": "1", "b": "1"}, {"a": "1"}, ["b"]),
        ({"a": "1"}, {"a": "1", "c": "1"}, ["c"]),
        ({}, {"a": "1"}, ["a"]),
    ],
)
def test_drifted_files(recorded, actual, drifted):
    assert drifted_files(recorded, actual) == drifted


def test_tree_files_sees_links_and_nested_files(tmp_path):
    (tmp_path / "w" / "x").mkdir(parents=True)
    (tmp_path / "w" / "x" / "f").write_text("f")
    os.symlink("/etc", tmp_path / "w" / "link")
    found = tree_files(str(tmp_path))
    assert found["w/link"] == "symlink:/etc"
    assert len(found["w/x/f"]) == 64


def test_sort_names():
    assert sort_names(["1.10.0", "1.2.0", "adopted-abc", "1.2.0-rc.1"]) == [
        "adopted-abc",
        "1.2.0-rc.1",
        "1.2.0",
        "1.10.0",
    ]


def test_prune_candidates_keep_the_newest_installed(tmp_path):
    layout = layout_with(tmp_path, "1.0.0", "1.1.0", "1.2.0", "1.3.0")
    times = {"1.0.0": 4.0, "1.1.0": 1.0, "1.2.0": 2.0, "1.3.0": 3.0}
    state = State(
        releases={n: ReleaseRecord(n, "allfi", {}, t) for n, t in times.items()}
    )
    names = layout.release_names()
    assert prune_candidates(names, state, {"1.3.0"}, 2, layout) == ["1.1.0", "1.2.0"]
    assert prune_candidates(names, state, {"1.3.0", "1.1.0"}, 1, layout) == [
        "1.0.0",
        "1.2.0",
    ]


def test_discard_release_removes_it_at_once(tmp_path):
    layout = layout_with(tmp_path, "1.0.0")
    (tmp_path / "releases" / "1.0.0" / "allfi").write_text("x")
    discard_release(layout, "1.0.0")
    assert layout.release_names() == []
    assert os.listdir(layout.tmp_dir) == []
