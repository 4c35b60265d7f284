"""Tests of _lock: a second holder waits, then fails naming the first."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._lock import InstallLock


def test_second_holder_times_out_with_the_holders_pid(tmp_path):
    path = str(tmp_path / "lock")
    with InstallLock(path, 1):
        began = time.monotonic()
        with pytest.raises(AllfiOtaError) as caught:
            InstallLock(path, 0.3).acquire()
        assert time.monotonic() - began >= 0.3
    assert f"process {os.getpid()}" in str(caught.value)
    assert "raise lock_timeout" in str(caught.value)
    with InstallLock(path, 0):
        pass


def test_lock_of_a_killed_process_is_free(tmp_path):
    path = str(tmp_path / "lock")
    code = (
        "import sys, os, signal\n"
        "from ansible_collections.allfi.ota.plugins.module_utils import _lock\n"
        f"_lock.InstallLock({path!r}, 1).acquire()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code], env=env, check=False)
    with InstallLock(path, 0.5):
        pass


def test_waiting_run_gets_the_lock_when_it_is_released(tmp_path):
    path = str(tmp_path / "lock")
    first = InstallLock(path, 1)
    first.acquire()
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        first.release()

    with InstallLock(path, 5, sleep=sleep):
        pass
    assert waits == [0.1]
