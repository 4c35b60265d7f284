# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""launchd on macOS: the LaunchDaemon plist for AllFi and the launchctl commands.

Pure functions only, so that they are tested here where no Mac runs. Uses
nothing of the module object: the launchd_service module runs the commands
with module.run_command and writes the plist.

Secrets stay out of the plist: the daemon runs /bin/sh, which exports the
variables of a private environment file and then execs AllFi, so that
`launchctl print` and the world-readable plist show no secret value. Only
settings that are not secret (the listen address) go into EnvironmentVariables;
the file's values take precedence over them, as with systemd.
"""

from __future__ import annotations

import plistlib
import re
from dataclasses import dataclass, field

LAUNCHCTL = "/bin/launchctl"
DOMAIN = "system"

# sh -c SCRIPT ENV_FILE PROGRAM ARGS...: $0 is the env file, "$@" the command.
_ENV_WRAPPER = 'set -a && . "$0" && set +a && exec "$@"'


@dataclass(frozen=True)
class DaemonSpec:
    """What the LaunchDaemon runs, as whom, where, and where its output goes."""

    label: str
    program: str
    args: tuple[str, ...] = ()
    env_file: str | None = None
    working_directory: str | None = None
    stdout_path: str | None = None
    stderr_path: str | None = None
    user: str | None = None
    group: str | None = None
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceStatus:
    """What `launchctl print` says: whether the label is loaded, its state and pid."""

    loaded: bool
    state: str | None = None
    pid: int | None = None
    last_exit_code: str | None = None

    @property
    def running(self) -> bool:
        """True when launchd reports a running process."""
        return self.state == "running" and self.pid is not None


def program_arguments(spec: DaemonSpec) -> list[str]:
    """ProgramArguments: the program, behind the env-file wrapper when there is one."""
    command = [spec.program, *spec.args]
    if spec.env_file:
        return ["/bin/sh", "-c", _ENV_WRAPPER, spec.env_file, *command]
    return command


def plist_data(spec: DaemonSpec) -> dict[str, object]:
    """The LaunchDaemon's keys: run at load, restart after a failure exit only."""
    data: dict[str, object] = {
        "Label": spec.label,
        "ProgramArguments": program_arguments(spec),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "ProcessType": "Standard",
    }
    optional = {
        "WorkingDirectory": spec.working_directory,
        "StandardOutPath": spec.stdout_path,
        "StandardErrorPath": spec.stderr_path,
        "UserName": spec.user,
        "GroupName": spec.group,
    }
    data.update({key: value for key, value in optional.items() if value})
    if spec.environment:
        data["EnvironmentVariables"] = {
            key: str(value) for key, value in spec.environment.items()
        }
    return data


def render_plist(spec: DaemonSpec) -> bytes:
    """The plist as XML bytes, keys sorted so equal specs give equal files."""
    return plistlib.dumps(plist_data(spec), fmt=plistlib.FMT_XML, sort_keys=True)


def plist_path(label: str, directory: str = "/Library/LaunchDaemons") -> str:
    """Where the LaunchDaemon's plist lives."""
    return f"{directory.rstrip('/')}/{label}.plist"


def service_target(label: str) -> str:
    """launchctl's name of the service in the system domain."""
    return f"{DOMAIN}/{label}"


def bootstrap_command(path: str) -> list[str]:
    """Load the plist into the system domain (starts it, since RunAtLoad is set)."""
    return [LAUNCHCTL, "bootstrap", DOMAIN, path]


def bootout_command(label: str) -> list[str]:
    """Unload the service (stops its process)."""
    return [LAUNCHCTL, "bootout", service_target(label)]


def enable_command(label: str) -> list[str]:
    """Clear a disabled override, so that bootstrap is not refused."""
    return [LAUNCHCTL, "enable", service_target(label)]


def kickstart_command(label: str, restart: bool) -> list[str]:
    """Start the loaded service; with restart, kill the running process first (-k)."""
    return [LAUNCHCTL, "kickstart", *(["-k"] if restart else []), service_target(label)]


def print_command(label: str) -> list[str]:
    """Ask launchd about the service."""
    return [LAUNCHCTL, "print", service_target(label)]


_FIELD = re.compile(r"^\s*(state|pid|last exit code)\s*=\s*(.+?)\s*$")


def parse_print(returncode: int, output: str) -> ServiceStatus:
    """Read `launchctl print` output; a non-zero exit means the label is not loaded."""
    if returncode != 0:
        return ServiceStatus(loaded=False)
    fields: dict[str, str] = {}
    for line in output.splitlines():
        match = _FIELD.match(line)
        # Only the service's own top-level fields, not nested endpoints.
        if (
            match
            and match.group(1) not in fields
            and line.startswith("\t")
            and not line.startswith("\t\t")
        ):
            fields[match.group(1)] = match.group(2)
    pid = fields.get("pid", "")
    return ServiceStatus(
        loaded=True,
        state=fields.get("state"),
        pid=int(pid) if pid.isdigit() else None,
        last_exit_code=fields.get("last exit code"),
    )


def plan(
    state: str, status: ServiceStatus, plist_changed: bool, label: str, path: str
) -> list[list[str]]:
    """The launchctl commands that bring the service to the wanted state."""
    if state == "stopped":
        return [bootout_command(label)] if status.loaded else []
    if status.loaded and plist_changed:
        # launchd reads the plist only at bootstrap
        return [bootout_command(label), enable_command(label), bootstrap_command(path)]
    if not status.loaded:
        return [enable_command(label), bootstrap_command(path)]
    if state == "restarted":
        return [kickstart_command(label, restart=True)]
    return [] if status.running else [kickstart_command(label, restart=False)]
