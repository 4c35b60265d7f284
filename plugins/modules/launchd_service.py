#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: launchd_service
short_description: Run AllFi as a launchd LaunchDaemon on macOS
version_added: "0.1.0"
author: allfi.ota developers (@allfi-ota)
description:
  - Writes the LaunchDaemon plist of a service (run at load, restarted by launchd
    after a failure exit) and brings it to the wanted state with C(launchctl
    bootstrap), C(bootout) and C(kickstart) in the C(system) domain.
  - Secrets stay out of the plist. With O(env_file), the daemon runs C(/bin/sh),
    which exports the variables of that file and then runs the program.
options:
  label:
    description: The launchd label, for example C(com.github.your-finance.allfi).
    type: str
    required: true
  program:
    description: Absolute path of the executable, such as C(/opt/allfi/current/allfi).
    type: path
    required: true
  args:
    description: Arguments of the program.
    type: list
    elements: str
    default: []
  env_file:
    description:
      - File of C(KEY='value') lines that C(/bin/sh) exports before running the
        program; its values take precedence over O(environment). Keep it readable
        by O(user) only.
    type: path
  environment:
    description:
      - Variables written into the plist (C(EnvironmentVariables)), which any local
        user can read. Not for secrets, which belong in O(env_file).
    type: dict
    default: {}
  working_directory:
    description: Working directory of the program.
    type: path
  stdout_path:
    description: File that receives the standard output.
    type: path
  stderr_path:
    description: File that receives the standard error.
    type: path
  user:
    description: User the program runs as.
    type: str
  group:
    description: Group the program runs as.
    type: str
  state:
    description:
      - V(started) loads the daemon and makes sure it runs; V(restarted) also
        restarts it when it was running; V(stopped) unloads it (the plist stays, so
        it starts again at boot).
    type: str
    choices: [started, stopped, restarted]
    default: started
  plist_dir:
    description: Directory of the plist.
    type: path
    default: /Library/LaunchDaemons
attributes:
  check_mode:
    support: full
    description: Says which plist and launchctl commands a run would write and run.
  diff_mode:
    support: full
    description: Shows the plist before and after.
  platform:
    support: full
    platforms: darwin
    description: macOS only (launchd).
notes:
  - Tested on the plist and the commands it produces; no Mac runs in this
    collection's continuous integration.
seealso:
  - module: allfi.ota.process
"""

EXAMPLES = r"""
- name: Run AllFi under launchd
  allfi.ota.launchd_service:
    label: com.github.your-finance.allfi
    program: /opt/allfi/current/allfi
    env_file: /opt/allfi/allfi.env
    working_directory: /opt/allfi/state
    stdout_path: /opt/allfi/log/allfi.log
    stderr_path: /opt/allfi/log/allfi.log
    user: _allfi
    state: restarted
"""

RETURN = r"""
plist_path:
  description: Path of the plist.
  returned: always
  type: str
  sample: /Library/LaunchDaemons/com.github.your-finance.allfi.plist
plist_changed:
  description: Whether the plist was written (or would be, in check mode).
  returned: always
  type: bool
  sample: false
commands:
  description: The launchctl commands run (or that would run, in check mode).
  returned: always
  type: list
  elements: list
  sample:
    - ["/bin/launchctl", "kickstart", "-k", "system/com.github.your-finance.allfi"]
loaded:
  description: Whether the label was loaded before the module ran.
  returned: always
  type: bool
  sample: true
pid:
  description: Pid of the service after the module ran, or null.
  returned: always
  type: int
  sample: 812
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._launchd import (
    DaemonSpec,
    ServiceStatus,
    parse_print,
    plan,
    plist_path,
    print_command,
    render_plist,
)


def _read(path: str) -> bytes | None:
    """The current plist, None when there is none."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write(path: str, content: bytes) -> None:
    """Write the plist atomically, root-owned, mode 0644 as launchd requires."""
    directory = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".allfi-plist-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise AllfiOtaError(f"cannot write {path}: {error.strerror}") from None


def _status(module: AnsibleModule, label: str) -> ServiceStatus:
    code, out, _err = module.run_command(print_command(label))
    return parse_print(code, out)


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "label": {"type": "str", "required": True},
            "program": {"type": "path", "required": True},
            "args": {"type": "list", "elements": "str", "default": []},
            "env_file": {"type": "path"},
            "environment": {"type": "dict", "default": {}},
            "working_directory": {"type": "path"},
            "stdout_path": {"type": "path"},
            "stderr_path": {"type": "path"},
            "user": {"type": "str"},
            "group": {"type": "str"},
            "state": {
                "type": "str",
                "choices": ["started", "stopped", "restarted"],
                "default": "started",
            },
            "plist_dir": {"type": "path", "default": "/Library/LaunchDaemons"},
        },
        supports_check_mode=True,
    )
    params = module.params
    label = params["label"]
    spec = DaemonSpec(
        label=label,
        program=params["program"],
        args=tuple(params["args"]),
        env_file=params["env_file"],
        working_directory=params["working_directory"],
        stdout_path=params["stdout_path"],
        stderr_path=params["stderr_path"],
        user=params["user"],
        group=params["group"],
        environment=dict(params["environment"]),
    )

    # Decide
    path = plist_path(label, params["plist_dir"])
    wanted = render_plist(spec)
    current = _read(path)
    plist_changed = current != wanted
    status = _status(module, label)
    commands = plan(params["state"], status, plist_changed, label, path)
    result = {
        "changed": plist_changed or bool(commands),
        "plist_path": path,
        "plist_changed": plist_changed,
        "commands": commands,
        "loaded": status.loaded,
        "pid": status.pid,
        "diff": {
            "before": (current or b"").decode("utf-8", "replace"),
            "after": wanted.decode("utf-8"),
            "before_header": path,
            "after_header": path,
        },
    }
    if module.check_mode:
        module.exit_json(**result)

    # Act
    try:
        if plist_changed:
            _write(path, wanted)
    except AllfiOtaError as error:
        module.fail_json(
            msg=f"Cannot install the LaunchDaemon {label}: {error}", **result
        )
    for command in commands:
        code, out, err = module.run_command(command)
        if code != 0:
            module.fail_json(
                msg=f"Cannot bring {label} to {params['state']}: {' '.join(command)}"
                f" exited with {code}: {(err or out).strip()}",
                **result,
            )
    result["pid"] = _status(module, label).pid
    module.exit_json(**result)


if __name__ == "__main__":
    main()
