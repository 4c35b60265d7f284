"""Tests of the allfi.ota.install module file: arguments, results, failures."""

from __future__ import annotations

import os

from tests.unit.plugins.module_utils.install_support import (
    run_module,
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
    "invocation",
}


def args(release, root, **extra):
    return {
        "src": str(release.archive),
        "checksum": release.checksum,
        "version": release.version,
        "install_dir": str(root),
        **extra,
    }


def test_returns_exactly_the_documented_keys(tmp_path, releases):
    result = run_module("install", args(releases["1.2.0"], tmp_path / "opt"), tmp_path)
    assert set(result) == RESULT_KEYS
    assert result["changed"] is True
    assert result["sha256"] == releases["1.2.0"].binary_sha256


def test_headers_are_never_echoed(tmp_path, releases):
    result = run_module(
        "install",
        args(
            releases["1.2.0"],
            tmp_path / "opt",
            headers={"Authorization": "token s3cr3t"},
        ),
        tmp_path,
    )
    assert "s3cr3t" not in repr(result)
    shown = result["invocation"]["module_args"]["headers"]
    assert shown == {"Authorization": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}


def test_failure_is_one_message_without_traceback(tmp_path, releases):
    bad = args(releases["1.2.0"], tmp_path / "opt", checksum="sha256:" + "1" * 64)
    result = run_module("install", bad, tmp_path)
    assert result["failed"] is True
    assert result["msg"].startswith("installing AllFi 1.2.0 into ")
    assert "checksum check" in result["msg"]
    assert "exception" not in result


def test_check_and_diff_modes(tmp_path, releases):
    root = tmp_path / "opt"
    result = run_module(
        "install",
        args(releases["1.2.0"], root, _ansible_check_mode=True, _ansible_diff=True),
        tmp_path,
    )
    assert result["changed"] is True
    assert result["diff"]["after"]["version"] == "1.2.0"
    assert not os.path.exists(root)


def test_bad_options_are_refused(tmp_path, releases):
    for extra, words in [
        ({"checksum": "md5:abc"}, "checksum must read sha256:"),
        ({"version": "latest"}, "'latest' is not a semantic version"),
        ({"keep_releases": 0}, "keep_releases must be 1 or more"),
        ({"binary_name": "../x"}, "must be a plain file name"),
        ({"src": "relative.tar.gz"}, "neither an http(s) URL nor an absolute path"),
    ]:
        result = run_module(
            "install", args(releases["1.2.0"], tmp_path / "o", **extra), tmp_path
        )
        assert result.get("failed") is True, extra
        assert words in result["msg"], result["msg"]
