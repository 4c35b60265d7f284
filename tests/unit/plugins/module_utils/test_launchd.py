"""launchd support, tested on the plist and the launchctl commands it produces."""

from __future__ import annotations

import plistlib
import subprocess

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._launchd import (
    DaemonSpec,
    ServiceStatus,
    parse_print,
    plan,
    plist_path,
    program_arguments,
    render_plist,
)

LABEL = "com.github.your-finance.allfi"
PLIST = f"/Library/LaunchDaemons/{LABEL}.plist"
LAUNCHCTL = "/bin/launchctl"

SPEC = DaemonSpec(
    label=LABEL,
    program="/opt/allfi/current/allfi",
    env_file="/opt/allfi/allfi.env",
    working_directory="/opt/allfi/state",
    stdout_path="/opt/allfi/log/allfi.log",
    stderr_path="/opt/allfi/log/allfi.log",
    user="_allfi",
    group="_allfi",
    environment={"ALLFI_SERVER_ADDRESS": ":8080"},
)


def test_plist_has_the_daemon_keys():
    data = plistlib.loads(render_plist(SPEC))
    assert data["Label"] == LABEL
    assert data["RunAtLoad"] is True
    assert data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["WorkingDirectory"] == "/opt/allfi/state"
    assert (
        data["StandardOutPath"]
        == data["StandardErrorPath"]
        == "/opt/allfi/log/allfi.log"
    )
    assert (data["UserName"], data["GroupName"]) == ("_allfi", "_allfi")
    assert data["EnvironmentVariables"] == {"ALLFI_SERVER_ADDRESS": ":8080"}
    assert data["ProgramArguments"][0] == "/bin/sh"
    assert data["ProgramArguments"][-2:] == [
        "/opt/allfi/allfi.env",
        "/opt/allfi/current/allfi",
    ]


def test_plist_is_stable_xml_and_leaves_out_unset_keys():
    first = render_plist(SPEC)
    assert first == render_plist(SPEC)
    assert first.startswith(b"<?xml") and b"<!DOCTYPE plist" in first
    bare = plistlib.loads(
        render_plist(DaemonSpec(label=LABEL, program="/usr/local/bin/allfi"))
    )
    assert bare["ProgramArguments"] == ["/usr/local/bin/allfi"]
    assert not {"UserName", "GroupName", "WorkingDirectory", "StandardOutPath"} & set(
        bare
    )


def test_env_wrapper_exports_the_file_and_passes_arguments(tmp_path):
    # The wrapper is plain POSIX sh, so it runs here just as launchd would run it.
    env_file = tmp_path / "allfi.env"
    env_file.write_text("ALLFI_MASTER_KEY='a b=c'\nALLFI_SERVER_ADDRESS=':8080'\n")
    spec = DaemonSpec(
        label=LABEL, program="/usr/bin/env", args=("-0",), env_file=str(env_file)
    )
    output = subprocess.run(
        program_arguments(spec), capture_output=True, check=True, env={}
    ).stdout
    variables = dict(item.split("=", 1) for item in output.decode().split("\0") if item)
    assert variables["ALLFI_MASTER_KEY"] == "a b=c"
    assert variables["ALLFI_SERVER_ADDRESS"] == ":8080"


def test_plist_path():
    assert plist_path(LABEL) == PLIST
    assert plist_path(LABEL, "/tmp/daemons/") == f"/tmp/daemons/{LABEL}.plist"


PRINT_RUNNING = f"""system/{LABEL} = {{
\tactive count = 1
\tpath = {PLIST}
\tstate = running

\tprogram = /bin/sh
\targuments = {{
\t\t/bin/sh
\t}}

\tpid = 812
\timmediate reason = speculative
\tlast exit code = (never exited)
\tendpoints = {{
\t\tstate = waiting
\t\tpid = 1
\t}}
}}
"""

PRINT_EXITED = (
    PRINT_RUNNING.replace("\tstate = running", "\tstate = not running")
    .replace("\tpid = 812\n", "")
    .replace("(never exited)", "1")
)

# Columns: launchctl exit code, its output, the status read
PRINTS = [
    (0, PRINT_RUNNING, ServiceStatus(True, "running", 812, "(never exited)")),
    (0, PRINT_EXITED, ServiceStatus(True, "not running", None, "1")),
    (113, "Could not find service in domain for port", ServiceStatus(False)),
]


@pytest.mark.parametrize(("code", "output", "status"), PRINTS)
def test_parse_print(code, output, status):
    assert parse_print(code, output) == status


BOOTOUT = [LAUNCHCTL, "bootout", f"system/{LABEL}"]
ENABLE = [LAUNCHCTL, "enable", f"system/{LABEL}"]
BOOTSTRAP = [LAUNCHCTL, "bootstrap", "system", PLIST]
KICKSTART = [LAUNCHCTL, "kickstart", f"system/{LABEL}"]
RESTART = [LAUNCHCTL, "kickstart", "-k", f"system/{LABEL}"]

RUNNING = ServiceStatus(True, "running", 812)
LOADED_DEAD = ServiceStatus(True, "not running", None)
UNLOADED = ServiceStatus(False)

# Columns: wanted state, status, plist changed, commands
PLANS = [
    ("started", RUNNING, False, []),
    ("started", LOADED_DEAD, False, [KICKSTART]),
    ("started", UNLOADED, False, [ENABLE, BOOTSTRAP]),
    ("started", UNLOADED, True, [ENABLE, BOOTSTRAP]),
    ("started", RUNNING, True, [BOOTOUT, ENABLE, BOOTSTRAP]),
    ("restarted", RUNNING, False, [RESTART]),
    ("restarted", LOADED_DEAD, False, [RESTART]),
    ("restarted", RUNNING, True, [BOOTOUT, ENABLE, BOOTSTRAP]),
    ("restarted", UNLOADED, False, [ENABLE, BOOTSTRAP]),
    ("stopped", RUNNING, False, [BOOTOUT]),
    ("stopped", RUNNING, True, [BOOTOUT]),
    ("stopped", UNLOADED, True, []),
]


@pytest.mark.parametrize(("state", "status", "changed", "commands"), PLANS)
def test_plan(state, status, changed, commands):
    assert plan(state, status, changed, LABEL, PLIST) == commands
