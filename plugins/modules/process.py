#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: process
short_description: Run AllFi as a detached process on hosts without a service manager
version_added: "0.1.0"
author: allfi.ota developers (@allfi-ota)
description:
  - Starts an executable detached from Ansible (a new session, standard input from
    C(/dev/null), standard output and error appended to a log file), writes its pid
    to a pidfile and checks that it is still running right after the start.
  - Stops it by pidfile with C(SIGTERM) to its process group, then C(SIGKILL) when
    it has not exited after O(stop_timeout) seconds.
  - A pidfile counts only when its pid is alive and runs O(executable)
    (C(/proc/<pid>/exe), or the path it was started as), so a stale pidfile whose
    pid now belongs to another process is never mistaken for the service, and that
    process is never signalled.
  - For hosts with no systemd, OpenRC, sysvinit or launchd, and for tests and demos.
options:
  name:
    description:
      - Name of the service, used in messages and in the default paths of O(pidfile)
        and O(log_file).
    type: str
    required: true
  state:
    description:
      - V(started) starts the process when it is not running; V(stopped) stops it;
        V(restarted) stops it when running and starts it again; V(status) only
        reports.
    type: str
    choices: [started, stopped, restarted, status]
    default: started
  executable:
    description:
      - Absolute path of the executable to run, for example C(/opt/allfi/current/allfi).
      - Also needed with V(stopped) and V(status), to recognise the process.
    type: path
    required: true
  args:
    description: Arguments passed to the executable.
    type: list
    elements: str
    default: []
  chdir:
    description: Working directory of the process.
    type: path
  environment:
    description:
      - Variables for the process. Those of O(env_file) take precedence, as with
        systemd's C(Environment=) and C(EnvironmentFile=). Values are never returned
        or logged.
      - The process does not inherit the environment of the module; it gets
        C(PATH), C(HOME) (of O(user)) and what O(environment) and O(env_file) set.
    type: dict
    default: {}
  env_file:
    description:
      - Path on the host of a file of C(KEY=VALUE) lines (C(#) comments, an optional
        C(export) prefix and quotes around a value are allowed), read at each start.
        Values are never returned.
    type: path
  pidfile:
    description: Path of the pidfile. Defaults to C(/run/<name>.pid).
    type: path
  log_file:
    description:
      - File that receives the standard output and error of the process, appended
        to. Defaults to C(/var/log/<name>.log).
    type: path
  user:
    description: User to run the process as. Default is the user running the module.
    type: str
  group:
    description: Group to run the process as. Default is the primary group of O(user).
    type: str
  stop_timeout:
    description: Seconds to wait after C(SIGTERM) before sending C(SIGKILL).
    type: float
    default: 10
  startup_wait:
    description:
      - Seconds the process must stay alive after its start for the start to count.
        The module fails, quoting the last lines of the log file, when it exits sooner.
    type: float
    default: 1
attributes:
  check_mode:
    support: full
    description: Reports the steps a run would take (RV(steps)) and takes none.
  diff_mode:
    support: full
    description: Shows the state before and after (running or stopped).
  platform:
    support: full
    platforms: posix
    description: Linux (it reads C(/proc)), on managed hosts or on the controller.
notes:
  - Needs C(/proc) (Linux). The process is not restarted when it dies; pair it with
    a health check, or use a real service manager where there is one.
seealso:
  - module: allfi.ota.health_check
"""

EXAMPLES = r"""
- name: Start AllFi detached
  allfi.ota.process:
    name: allfi
    executable: /opt/allfi/current/allfi
    chdir: /opt/allfi/state
    env_file: /opt/allfi/allfi.env
    pidfile: /opt/allfi/run/allfi.pid
    log_file: /opt/allfi/log/allfi.log
    user: allfi

- name: Restart AllFi after an upgrade
  allfi.ota.process:
    name: allfi
    state: restarted
    executable: /opt/allfi/current/allfi
    pidfile: /opt/allfi/run/allfi.pid
    log_file: /opt/allfi/log/allfi.log

- name: Stop AllFi, killing it if it ignores SIGTERM for 5 seconds
  allfi.ota.process:
    name: allfi
    state: stopped
    executable: /opt/allfi/current/allfi
    pidfile: /opt/allfi/run/allfi.pid
    stop_timeout: 5
"""

RETURN = r"""
running:
  description: Whether the process runs when the module ends (would run, in check mode).
  returned: always
  type: bool
  sample: true
pid:
  description: Pid of the running process, or null.
  returned: always
  type: int
  sample: 4242
state:
  description: V(running) or V(stopped).
  returned: always
  type: str
  sample: running
steps:
  description: What was done, or would be done in check mode.
  returned: always
  type: list
  elements: str
  sample: [stop, start]
stopped_pid:
  description: Pid of the process that was stopped, or null.
  returned: always
  type: int
  sample: 4100
killed:
  description: Whether the stopped process needed C(SIGKILL) after the grace period.
  returned: always
  type: bool
  sample: false
stale_pidfile:
  description: Whether a pidfile named no running process of this service.
  returned: always
  type: bool
  sample: false
exe:
  description: What C(/proc/<pid>/exe) of the running process points to, or null.
  returned: always
  type: str
  sample: /opt/allfi/releases/1.2.0/allfi
pidfile:
  description: Path of the pidfile.
  returned: always
  type: str
  sample: /run/allfi.pid
log_file:
  description: Path of the log file.
  returned: always
  type: str
  sample: /var/log/allfi.log
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._process import (
    ProcessSpec,
    apply,
    observe,
    plan,
    proc_exe,
)


def _spec(params: dict) -> ProcessSpec:
    """The process description from the module's parameters."""
    name = params["name"]
    return ProcessSpec(
        executable=params["executable"],
        pidfile=params["pidfile"] or f"/run/{name}.pid",
        log_file=params["log_file"] or f"/var/log/{name}.log",
        args=list(params["args"]),
        chdir=params["chdir"],
        environment=dict(params["environment"]),
        env_file=params["env_file"],
        user=params["user"],
        group=params["group"],
        stop_timeout=params["stop_timeout"],
        startup_wait=params["startup_wait"],
    )


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {
                "type": "str",
                "choices": ["started", "stopped", "restarted", "status"],
                "default": "started",
            },
            "executable": {"type": "path", "required": True},
            "args": {"type": "list", "elements": "str", "default": []},
            "chdir": {"type": "path"},
            "environment": {"type": "dict", "default": {}, "no_log": True},
            "env_file": {"type": "path"},
            "pidfile": {"type": "path"},
            "log_file": {"type": "path"},
            "user": {"type": "str"},
            "group": {"type": "str"},
            "stop_timeout": {"type": "float", "default": 10},
            "startup_wait": {"type": "float", "default": 1},
        },
        supports_check_mode=True,
    )
    spec = _spec(module.params)
    state = module.params["state"]

    # Decide
    try:
        observed = observe(spec)
    except AllfiOtaError as error:
        name = module.params["name"]
        module.fail_json(msg=f"Cannot tell whether {name} runs: {error}")
    steps = plan(state, observed)
    running_after = observed.running if state == "status" else state != "stopped"
    before = "running" if observed.running else "stopped"
    after = "running" if running_after else "stopped"
    result = {
        "changed": bool(steps),
        "steps": steps,
        "running": running_after,
        "pid": observed.pid if observed.running else None,
        "state": after,
        "stopped_pid": None,
        "killed": False,
        "stale_pidfile": observed.stale_pidfile,
        "exe": observed.exe if observed.running else None,
        "pidfile": spec.pidfile,
        "log_file": spec.log_file,
        "diff": {"before": f"{before}\n", "after": f"{after}\n"},
    }
    if module.check_mode or not steps:
        if "start" in steps:
            result["pid"] = result["exe"] = None
        module.exit_json(**result)

    # Act
    try:
        outcome = apply(spec, observed, steps)
    except AllfiOtaError as error:
        result.update(running=False, pid=None, exe=None, state="stopped")
        module.fail_json(
            msg=f"Cannot bring {module.params['name']} to {state}: {error}", **result
        )
    result["stopped_pid"] = outcome.stopped_pid
    result["killed"] = outcome.killed
    if outcome.started_pid is not None:
        result["pid"] = outcome.started_pid
        result["exe"] = proc_exe(outcome.started_pid)
    elif state == "stopped":
        result["pid"] = result["exe"] = None
    module.exit_json(**result)


if __name__ == "__main__":
    main()
