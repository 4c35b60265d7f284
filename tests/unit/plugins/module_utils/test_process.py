"""Pure decisions of the process service manager: env files, identity, plans."""

from __future__ import annotations

import os

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._process import (
    Observed,
    ProcessSpec,
    build_environment,
    is_our_process,
    parse_env_lines,
    plan,
    script_interpreter,
)

# Columns: file text, parsed result
ENV_FILES = [
    ("A=1\n", {"A": "1"}),
    ("# comment\n\nA=1\n  B = two words \n", {"A": "1", "B": "two words"}),
    ("export KEY='quoted value'\n", {"KEY": "quoted value"}),
    ('KEY="double"\n', {"KEY": "double"}),
    ("KEY='unbalanced\n", {"KEY": "'unbalanced"}),
    ("KEY=a=b=c\n", {"KEY": "a=b=c"}),
    ("EMPTY=\n", {"EMPTY": ""}),
    ("_UNDER_1=x\n", {"_UNDER_1": "x"}),
]


@pytest.mark.parametrize(("text", "expected"), ENV_FILES)
def test_parse_env_lines(text, expected):
    assert parse_env_lines(text) == expected


# Columns: invalid file text
BAD_ENV_FILES = ["JUST_A_NAME\n", "1ABC=x\n", "A-B=x\n", "=value\n"]


@pytest.mark.parametrize("text", BAD_ENV_FILES)
def test_parse_env_lines_refuses_and_keeps_values_out_of_the_message(text):
    with pytest.raises(AllfiOtaError, match="line 1 is not KEY=VALUE") as caught:
        parse_env_lines(text)
    assert "x" not in str(caught.value)


def test_environment_is_clean_and_file_wins_over_dict():
    spec = ProcessSpec(
        executable="/bin/true",
        pidfile="/p",
        log_file="/l",
        environment={"A": "dict", "N": 5},
    )
    env = build_environment(spec, "/home/allfi", {"A": "file", "B": "file"})
    assert env == {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/home/allfi",
        "A": "file",
        "B": "file",
        "N": "5",
    }


DASH = "/usr/bin/dash"

# Columns: exe link target, argv, interpreter of the script (None: no script), ours?
IDENTITIES = [
    ("/opt/allfi/releases/1.2.0/allfi", ["/opt/allfi/current/allfi"], None, True),
    ("/opt/allfi/releases/1.0.0/allfi", ["/opt/allfi/current/allfi"], None, True),
    ("/usr/bin/sleep", ["sleep", "60"], None, False),
    (None, ["/opt/allfi/current/allfi"], None, True),
    (None, [], None, False),
    (DASH, ["/bin/sh", "/opt/allfi/current/allfi"], DASH, True),
    (DASH, ["/bin/sh", "/opt/allfi/current/allfi"], None, False),
    ("/usr/bin/vi", ["vi", "/opt/allfi/current/allfi"], DASH, False),
    ("/usr/bin/python3.11", ["python3", "/opt/allfi/current/allfi"], "", True),
]


@pytest.mark.parametrize(("exe", "argv", "interpreter", "ours"), IDENTITIES)
def test_is_our_process(exe, argv, interpreter, ours):
    assert is_our_process("/opt/allfi/current/allfi", exe, argv, interpreter) is ours


# Columns: first line of the file, interpreter found
SHEBANGS = [
    (b"#!/bin/sh\n", "REALPATH:/bin/sh"),
    (b"#! /bin/sh -e\n", "REALPATH:/bin/sh"),
    (b"#!/usr/bin/env python3\n", ""),
    (b"\x7fELF\x02\x01", None),
]


@pytest.mark.parametrize(("first", "expected"), SHEBANGS)
def test_script_interpreter(first, expected, tmp_path):
    path = tmp_path / "program"
    path.write_bytes(first + b"exit 0\n")
    if expected and expected.startswith("REALPATH:"):
        expected = os.path.realpath(expected.split(":", 1)[1])
    assert script_interpreter(str(path)) == expected


def test_is_our_process_resolves_links(tmp_path):
    target = tmp_path / "releases" / "1.0.0" / "allfi"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\x7fELF")
    (tmp_path / "current").symlink_to(target.parent)
    assert is_our_process(str(tmp_path / "current" / "allfi"), str(target), ["x"])


RUNNING = Observed(pidfile_exists=True, pid=10, running=True)
STOPPED = Observed(pidfile_exists=False, pid=None, running=False)
STALE = Observed(pidfile_exists=True, pid=10, running=False)

# Columns: wanted state, observed, planned steps
PLANS = [
    ("started", RUNNING, []),
    ("started", STOPPED, ["start"]),
    ("started", STALE, ["remove stale pidfile", "start"]),
    ("stopped", RUNNING, ["stop"]),
    ("stopped", STOPPED, []),
    ("stopped", STALE, ["remove stale pidfile"]),
    ("restarted", RUNNING, ["stop", "start"]),
    ("restarted", STOPPED, ["start"]),
    ("restarted", STALE, ["remove stale pidfile", "start"]),
    ("status", RUNNING, []),
    ("status", STALE, []),
]


@pytest.mark.parametrize(("state", "observed", "steps"), PLANS)
def test_plan(state, observed, steps):
    assert plan(state, observed) == steps
