# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An exclusive lock on an install_dir, held for a whole module run.

fcntl.flock on <install_dir>/.allfi-ota/lock: the kernel releases it when the
process ends, however it ends, so a killed run never leaves a stale lock.

Uses nothing of the module object.
"""

from __future__ import annotations

import fcntl
import os
import time
from types import TracebackType
from typing import Callable

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError

POLL_SECONDS = 0.1


class InstallLock:
    """Context manager: wait up to timeout seconds for the lock, then fail."""

    def __init__(
        self,
        path: str,
        timeout: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting for another run to finish for at most timeout."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = self.clock() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self.clock() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise AllfiOtaError(
                        f"another run (process {holder}) still holds the lock"
                        f" {self.path} after waiting {self.timeout:g} s;"
                        " let it finish or raise lock_timeout"
                    ) from None
                self.sleep(POLL_SECONDS)

        # Say who holds it, for the message of a run that waits
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        """Let the lock go; the holder's pid is cleared first."""
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> InstallLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """The pid the holder wrote into the lock file, or 'unknown'."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"
