# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A service manager for hosts that have none: start detached, stop by pidfile.

Uses nothing of the module object: the process module reads its params, calls
plan() and apply(), and turns AllfiOtaError into fail_json. Linux only (/proc).

A process counts as ours when the pid in the pidfile is alive (not a zombie)
and either /proc/<pid>/exe is the executable (links resolved) or its argv[0]
is the executable path exactly as it was started (argv[1] for a script run by
the interpreter its #! line names). The second rule keeps a service started as
<install_dir>/current/allfi recognised after `current` was switched to another
release; a pid reused by an unrelated process matches neither and is never
signalled. Signals go to the whole process group the service leads.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_TAIL_LINES = 5


@dataclass
class ProcessSpec:
    """What to run and where its pidfile and log file live."""

    executable: str
    pidfile: str
    log_file: str
    args: list[str] = field(default_factory=list)
    chdir: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    env_file: str | None = None
    user: str | None = None
    group: str | None = None
    stop_timeout: float = 10.0
    startup_wait: float = 1.0


@dataclass
class Observed:
    """The process the pidfile names, as found on the host."""

    pidfile_exists: bool
    pid: int | None
    running: bool
    exe: str | None = None

    @property
    def stale_pidfile(self) -> bool:
        """True when a pidfile exists but names no process of ours."""
        return self.pidfile_exists and not self.running


@dataclass
class Outcome:
    """What apply() did: pid stopped, pid started, whether SIGKILL was needed."""

    stopped_pid: int | None = None
    killed: bool = False
    started_pid: int | None = None
    removed_stale_pidfile: bool = False


def parse_env_lines(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines (comments, blank lines, `export` and quotes allowed)."""
    result: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise AllfiOtaError(
                f"line {number} is not KEY=VALUE with a shell-style variable name"
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        result[key] = value
    return result


def read_env_file(path: str) -> dict[str, str]:
    """Read an environment file of KEY=VALUE lines; values are never echoed."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise AllfiOtaError(
            f"cannot read the environment file {path}: {error.strerror}"
        ) from None
    try:
        return parse_env_lines(text)
    except AllfiOtaError as error:
        raise AllfiOtaError(f"environment file {path}: {error}") from None


def build_environment(
    spec: ProcessSpec, home: str | None, file_values: dict[str, str]
) -> dict[str, str]:
    """A clean environment: PATH, HOME, the dict, then the file (wins, as systemd)."""
    env = {"PATH": DEFAULT_PATH}
    if home:
        env["HOME"] = home
    env.update({key: str(value) for key, value in spec.environment.items()})
    env.update(file_values)
    return env


def read_pid(pidfile: str) -> tuple[bool, int | None]:
    """Whether the pidfile exists and the pid it holds (None when unreadable)."""
    try:
        with open(pidfile, encoding="ascii", errors="replace") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return False, None
    except OSError as error:
        raise AllfiOtaError(
            f"cannot read the pidfile {pidfile}: {error.strerror}"
        ) from None
    return True, int(text) if text.isdigit() and int(text) > 0 else None


def _proc_state(pid: int) -> str | None:
    """The one-letter state of /proc/<pid>/stat, None when the pid is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces or parentheses.
    rest = stat[stat.rfind(")") + 2 :]
    return rest[:1] or None


def is_alive(pid: int) -> bool:
    """True when the pid exists and is not a zombie or dead task."""
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X", "x")


def proc_exe(pid: int) -> str | None:
    """The path /proc/<pid>/exe points to, without a ' (deleted)' suffix."""
    try:
        target = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    suffix = " (deleted)"
    return target[: -len(suffix)] if target.endswith(suffix) else target


def proc_argv(pid: int) -> list[str]:
    """The words of /proc/<pid>/cmdline (empty when unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except OSError:
        return []
    return [
        word.decode("utf-8", "surrogateescape") for word in raw.split(b"\0") if word
    ]


def script_interpreter(path: str) -> str | None:
    """Resolved #! interpreter of a script ("" when through env), None if no script."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    if not words or os.path.basename(words[0]) == "env":
        return ""
    return os.path.realpath(words[0])


def is_our_process(
    executable: str, exe: str | None, argv: list[str], interpreter: str | None = None
) -> bool:
    """Decide whether a process with this exe and argv runs the executable."""
    if exe is not None and exe == os.path.realpath(executable):
        return True
    if interpreter is None:
        return argv[:1] == [executable]
    interpreter_matches = interpreter == "" or exe in (None, interpreter)
    return interpreter_matches and argv[1:2] == [executable]


def observe(spec: ProcessSpec) -> Observed:
    """Find the process the pidfile names and tell whether it is ours and alive."""
    exists, pid = read_pid(spec.pidfile)
    if pid is None or not is_alive(pid):
        return Observed(pidfile_exists=exists, pid=pid, running=False)
    exe = proc_exe(pid)
    ours = is_our_process(
        spec.executable, exe, proc_argv(pid), script_interpreter(spec.executable)
    )
    return Observed(pidfile_exists=exists, pid=pid, running=ours, exe=exe)


def plan(state: str, observed: Observed) -> list[str]:
    """The steps that bring the observed process to the wanted state."""
    steps: list[str] = []
    if state == "status":
        return steps
    if observed.running and state in ("stopped", "restarted"):
        steps.append("stop")
    if observed.stale_pidfile:
        steps.append("remove stale pidfile")
    if state == "restarted" or (state == "started" and not observed.running):
        steps.append("start")
    return steps


def _reap(pid: int) -> None:
    """Collect the exit status of a child of ours, so it does not stay a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _wait_gone(pid: int, seconds: float, clock: Callable[[], float]) -> bool:
    """Wait until the pid is gone or a zombie; True when it went in time."""
    deadline = clock() + seconds
    while True:
        _reap(pid)
        if not is_alive(pid):
            return True
        if clock() >= deadline:
            return False
        time.sleep(0.05)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _signal(pid: int, signum: int) -> None:
    """Signal the process group the pid leads, or the pid alone."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        pass


def stop(
    spec: ProcessSpec, pid: int, clock: Callable[[], float] = time.monotonic
) -> bool:
    """SIGTERM, wait up to stop_timeout, then SIGKILL; True when SIGKILL was needed."""
    killed = False
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, spec.stop_timeout, clock):
        killed = True
        _signal(pid, signal.SIGKILL)
        if not _wait_gone(pid, 5.0, clock):
            raise AllfiOtaError(
                f"process {pid} ({spec.executable}) is still there 5 s after SIGKILL"
            )
    _remove(spec.pidfile)
    return killed


def _account(
    user: str | None, group: str | None
) -> tuple[int | None, int | None, str | None]:
    """The uid, gid and home directory to run as (None: keep the module's own)."""
    uid = gid = None
    home = None
    if user:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise AllfiOtaError(f"user {user} does not exist") from None
        uid, gid, home = entry.pw_uid, entry.pw_gid, entry.pw_dir
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise AllfiOtaError(f"group {group} does not exist") from None
    return uid, gid, home


def _drop_privileges(
    uid: int | None, gid: int | None, user: str | None
) -> Callable[[], None]:
    """A preexec function that switches groups and user in the child."""

    def switch() -> None:
        if gid is not None:
            if user:
                os.initgroups(user, gid)
            else:
                os.setgroups([gid])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)

    return switch


def _log_tail(path: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of the log file, for a failure message."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return " | ".join(line for line in text.splitlines()[-lines:] if line.strip())


def _make_parent(path: str) -> None:
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o755, exist_ok=True)


def _write_pidfile(path: str, pid: int) -> None:
    """Write the pid atomically (temporary file renamed over the pidfile)."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(f"{pid}\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def start(spec: ProcessSpec, clock: Callable[[], float] = time.monotonic) -> int:
    """Start the executable in a new session, write the pidfile, verify it runs."""
    if not os.path.isfile(spec.executable) or not os.access(spec.executable, os.X_OK):
        raise AllfiOtaError(f"{spec.executable} is not an executable file")
    uid, gid, home = _account(spec.user, spec.group)
    file_values = read_env_file(spec.env_file) if spec.env_file else {}
    env = build_environment(spec, home, file_values)

    # Open the log file for the child
    _make_parent(spec.log_file)
    _make_parent(spec.pidfile)
    log_fd = os.open(spec.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        if uid is not None or gid is not None:
            os.fchown(log_fd, -1 if uid is None else uid, -1 if gid is None else gid)
        try:
            child = subprocess.Popen(
                [spec.executable, *spec.args],
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                cwd=spec.chdir or None,
                env=env,
                close_fds=True,
                start_new_session=True,
                preexec_fn=(
                    _drop_privileges(uid, gid, spec.user)
                    if uid is not None or gid is not None
                    else None
                ),
            )
        except OSError as error:
            reason = os.strerror(error.errno or errno.EIO)
            raise AllfiOtaError(f"cannot start {spec.executable}: {reason}") from None
    finally:
        os.close(log_fd)
    _write_pidfile(spec.pidfile, child.pid)

    # Verify it is still running
    deadline = clock() + spec.startup_wait
    while clock() < deadline:
        if child.poll() is not None:
            break
        time.sleep(0.05)
    code = child.poll()
    if code is not None or not is_alive(child.pid):
        _remove(spec.pidfile)
        tail = _log_tail(spec.log_file)
        message = f"{spec.executable} exited with status {code} right after its start"
        if tail:
            message += f"; last lines of {spec.log_file}: {tail}"
        raise AllfiOtaError(message)
    exe = proc_exe(child.pid)
    if not is_our_process(
        spec.executable, exe, proc_argv(child.pid), script_interpreter(spec.executable)
    ):
        raise AllfiOtaError(f"process {child.pid} runs {exe}, not {spec.executable}")
    # The service is meant to outlive this process: tell Popen not to track it.
    child.returncode = 0
    return child.pid


def apply(spec: ProcessSpec, observed: Observed, steps: list[str]) -> Outcome:
    """Carry out the planned steps."""
    outcome = Outcome()
    if "stop" in steps and observed.pid is not None:
        outcome.killed = stop(spec, observed.pid)
        outcome.stopped_pid = observed.pid
    if "remove stale pidfile" in steps:
        _remove(spec.pidfile)
        outcome.removed_stale_pidfile = True
    if "start" in steps:
        outcome.started_pid = start(spec)
    return outcome
