# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""allfi.ota.host_info: platform, active release, drift, free space, service manager.

Uses nothing of the module object directly: gather() takes a callable that
runs a command (the module wraps run_command) to ask rc-status.
"""

from __future__ import annotations

import os
import platform
from typing import Callable

from ansible_collections.allfi.ota.plugins.module_utils import _journal as journal
from ansible_collections.allfi.ota.plugins.module_utils._install import VERSION_FILE
from ansible_collections.allfi.ota.plugins.module_utils._layout import (
    Layout,
    State,
    hash_file,
    load_state,
    release_drift,
)
from ansible_collections.allfi.ota.plugins.module_utils._platform import (
    host_platform,
)
from ansible_collections.allfi.ota.plugins.module_utils._version import (
    try_parse_version,
)

# Runs a command given as a list and returns its exit status.
CommandRunner = Callable[[list], int]

# Names the real /sbin/init has when it belongs to another init system.
_OTHER_INITS = ("systemd", "openrc-init", "busybox", "upstart", "runit", "s6-svscan")
_SYSVINIT_MARKS = (b"sysvinit", b"INIT_VERSION")
_INIT_READ_LIMIT = 4 * 1024 * 1024


def is_sysvinit(init_path: str = "/sbin/init") -> bool:
    """True when /sbin/init is the SysV init program."""
    real = os.path.realpath(init_path)
    if os.path.basename(real) in _OTHER_INITS or not os.path.isfile(real):
        return False
    try:
        with open(real, "rb") as stream:
            data = stream.read(_INIT_READ_LIMIT)
    except OSError:
        return False
    return any(mark in data for mark in _SYSVINIT_MARKS)


def service_manager(
    run: CommandRunner | None,
    *,
    root: str = "/",
    system: str | None = None,
    sysvinit: Callable[[], bool] | None = None,
) -> str:
    """The service manager in use: systemd, openrc, launchd, sysvinit or none."""
    system = system or platform.system()
    if os.path.isdir(os.path.join(root, "run/systemd/system")):
        return "systemd"
    if system == "Darwin":
        return "launchd"
    if os.path.isdir(os.path.join(root, "run/openrc")):
        return "openrc"
    sysvinit = sysvinit or (lambda: is_sysvinit(os.path.join(root, "sbin/init")))
    if sysvinit() and os.path.isdir(os.path.join(root, "etc/init.d")):
        return "sysvinit"
    if run is not None and run(["rc-status", "--runlevel"]) == 0:
        return "openrc"
    return "none"


def free_bytes(path: str) -> tuple[int, str]:
    """Bytes free for an unprivileged user at path or its nearest existing parent."""
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize, path


def _unmanaged_version(layout: Layout) -> str | None:
    """The version a VERSION file beside a hand-installed executable names."""
    try:
        with open(
            os.path.join(layout.install_dir, VERSION_FILE), encoding="utf-8"
        ) as f:
            version = try_parse_version(f.read(200).strip())
    except (OSError, UnicodeDecodeError):
        return None
    return version.text if version is not None else None


def _active_facts(layout: Layout, state: State) -> dict:
    """Version, sha256 and drift of the active release."""
    facts: dict = {"version": None, "sha256": None, "drift": False, "drifted_files": []}
    name = state.active
    if name is None:
        return facts
    record = state.releases.get(name)
    binary = record.binary if record is not None else layout.binary_name
    path = os.path.join(layout.release_dir(name), binary)
    drifted = release_drift(layout, record, name)
    facts.update(
        version=name,
        sha256=hash_file(path) if os.path.isfile(path) else None,
        recorded_sha256=record.binary_sha256 if record is not None else None,
        drift=bool(drifted),
        drifted_files=drifted,
    )
    return facts


def gather(install_dir: str, binary_name: str, run: CommandRunner | None) -> dict:
    """Everything host_info returns."""
    host = host_platform()
    layout = Layout(install_dir, binary_name)
    state = load_state(layout)
    facts = {
        "platform": host.name if host.supported else None,
        "platform_supported": host.supported,
        "machine": host.machine,
        "system": host.system,
        "install_dir": layout.install_dir,
        "version": None,
        "sha256": None,
        "recorded_sha256": None,
        "previous_version": state.previous,
        "releases": layout.release_names(),
        "drift": False,
        "drifted_files": [],
        "unmanaged_binary": None,
        "unmanaged_version": None,
        "pending_operation": None,
        "service_manager": service_manager(run),
    }
    facts.update(_active_facts(layout, state))
    if layout.legacy_file():
        facts.update(
            unmanaged_binary=layout.legacy_binary,
            unmanaged_version=_unmanaged_version(layout),
        )
        if state.active is None:
            facts["sha256"] = hash_file(layout.legacy_binary)
    entry = journal.load(layout) if os.path.exists(layout.journal_file) else None
    if entry is not None:
        facts["pending_operation"] = f"{entry.operation} of {entry.target}"
    facts["free_bytes"], facts["free_bytes_path"] = free_bytes(layout.install_dir)
    return facts
