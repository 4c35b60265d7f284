"""SIGKILL allfi.ota.install at random moments; current/allfi must stay whole."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from tests.unit.plugins.module_utils.install_support import (
    build,
    module_command,
    module_env,
    sha256_of,
    write_args,
)

RUNS = int(os.environ.get("ALLFI_KILL_RUNS", "50"))
# Padding makes extraction and hashing take a while, so kills land inside them.
PAD = 24 * 1024 * 1024


@pytest.fixture(scope="module")
def padded(tmp_path_factory):
    out = tmp_path_factory.mktemp("kill-releases")
    return build(out, "1.1.0", pad_to=PAD), build(out, "1.2.0", pad_to=PAD)


def args_for(release, root):
    return {
        "src": str(release.archive),
        "checksum": release.checksum,
        "version": release.version,
        "install_dir": str(root),
        "allow_downgrade": True,
        "keep_releases": 2,
    }


def start(args, path):
    write_args(path, args)
    return subprocess.Popen(
        module_command("install", path),
        env=module_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run_to_end(args, path):
    process = start(args, path)
    out, _err = process.communicate(timeout=120)
    result = json.loads(out)
    assert not result.get("failed"), result["msg"]
    return result


def whole_executable(path, allowed):
    """The sha256 of path, which must be a complete executable of one release."""
    digest = sha256_of(path)
    assert digest in allowed, f"{path} is neither release: {digest}"
    assert os.access(path, os.X_OK)
    return digest


@pytest.mark.slow
def test_sigkill_at_random_moments_never_breaks_current(tmp_path, padded):
    old, new = padded
    shas = {old.binary_sha256: old.version, new.binary_sha256: new.version}
    rng = random.Random(int(os.environ.get("ALLFI_KILL_SEED", "20240607")))
    args_path = tmp_path / "args.json"

    # How long a whole run takes, to spread the kills over it
    root = tmp_path / "opt"
    began = time.monotonic()
    run_to_end(args_for(old, root), args_path)
    duration = time.monotonic() - began

    killed_while_running = 0
    for index in range(RUNS):
        adoption = index % 10 == 9
        if adoption:
            # A hand-installed host: the kill may land in the adoption as well
            shutil.rmtree(root)
            root.mkdir()
            shutil.copy(tmp_path / "old-allfi", root / "allfi")
            (root / "VERSION").write_text(old.version)
        wanted = new if index % 2 == 0 else old
        args = args_for(wanted, root)
        # Both releases stay kept, and switching to a kept one takes no time:
        # remove the wanted one so that every run downloads and extracts again.
        current = root / "current"
        active = (
            os.path.basename(os.readlink(current)) if current.is_symlink() else None
        )
        if active != wanted.version:
            shutil.rmtree(root / "releases" / wanted.version, ignore_errors=True)

        process = start(args, args_path)
        time.sleep(rng.uniform(0.0, duration))
        if process.poll() is None:
            killed_while_running += 1
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)

        # Whatever the moment, what services run is whole
        whole_executable(
            root / "current" / "allfi" if not adoption else root / "allfi", shas
        )
        if os.path.lexists(root / "current"):
            whole_executable(root / "current" / "allfi", shas)

        # The next run converges, and the one after changes nothing
        result = run_to_end(args, args_path)
        assert sha256_of(root / "current" / "allfi") == wanted.binary_sha256
        assert result["version"] == wanted.version
        assert not (root / ".allfi-ota" / "journal.json").exists()
        assert os.listdir(root / ".allfi-ota" / "tmp") == []
        assert run_to_end(args, args_path)["changed"] is False
        if index == 0:
            shutil.copy(
                root / "releases" / old.version / "allfi", tmp_path / "old-allfi"
            )

    # Most kills must land inside a run, or the test proves nothing; the margin
    # leaves room for a machine whose speed changes while the test runs.
    assert killed_while_running >= RUNS // 3, killed_while_running
