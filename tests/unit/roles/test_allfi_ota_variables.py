"""The allfi_ota role's public variables: defaults and argument spec agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "allfi_ota"

# The variables the role's issue names; the role may add more, all allfi_ota_*.
ISSUE_VARIABLES = {
    "allfi_ota_version": "latest",
    "allfi_ota_repo": "your-finance/allfi",
    "allfi_ota_api_url": "https://api.github.com",
    "allfi_ota_github_token": "",
    "allfi_ota_install_dir": "/opt/allfi",
    "allfi_ota_service_manager": "auto",
    "allfi_ota_service_name": "allfi",
    "allfi_ota_user": "allfi",
    "allfi_ota_group": "allfi",
    "allfi_ota_port": 8080,
    "allfi_ota_environment": {},
    "allfi_ota_health_url": "http://127.0.0.1:{{ allfi_ota_port }}/api/v1/health",
    "allfi_ota_health_timeout": 60,
    "allfi_ota_health_successes": 3,
    "allfi_ota_keep_releases": 3,
    "allfi_ota_allow_downgrade": False,
    "allfi_ota_fetch_on_controller": True,
    "allfi_ota_validate_certs": True,
}


def load(relative: str) -> dict:
    return yaml.safe_load((ROLE / relative).read_text())


DEFAULTS = load("defaults/main.yml")
OPTIONS = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]


def test_defaults_and_argument_spec_name_the_same_variables():
    assert set(DEFAULTS) == set(OPTIONS)
    assert all(name.startswith("allfi_ota_") for name in DEFAULTS)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_default_is_the_same_in_both_and_documented(name):
    assert OPTIONS[name]["default"] == DEFAULTS[name]
    assert OPTIONS[name]["description"]


# Columns: variable named by the issue, its default there
@pytest.mark.parametrize(("name", "default"), sorted(ISSUE_VARIABLES.items()))
def test_issue_variables_keep_their_names_and_defaults(name, default):
    assert DEFAULTS[name] == default


# The fleet playbooks' settings, read by the role's fleet_* task files.
FLEET_VARIABLES = {
    "allfi_ota_batches": [1, "10%", "100%"],
    "allfi_ota_max_fail_percentage": 0,
    "allfi_ota_max_failed_hosts": 0,
    "allfi_ota_force": False,
    "allfi_ota_status_health_timeout": 5,
}


# Columns: variable of the fleet playbooks, its default there
@pytest.mark.parametrize(("name", "default"), sorted(FLEET_VARIABLES.items()))
def test_fleet_variables_keep_their_defaults(name, default):
    assert DEFAULTS[name] == default


# Columns: fleet variable holding a controller path, how its default ends
@pytest.mark.parametrize(
    ("name", "ending"),
    [
        ("allfi_ota_failed_versions_file", "/allfi.ota/failed-versions.json' }}"),
        ("allfi_ota_report_dir", "/allfi-ota-report"),
    ],
)
def test_fleet_paths_have_their_defaults(name, ending):
    assert DEFAULTS[name].endswith(ending)


def test_target_is_left_to_the_playbooks():
    # A play's hosts: line is templated before any role loads.
    assert "allfi_ota_target" not in DEFAULTS
