"""The benchmark runner's results: the container fleet's rows, ratios and merge."""

from __future__ import annotations

import pytest

from bench.run import (
    CONTAINER_HOSTS,
    container_fleet,
    fleet_of,
    found,
    markdown,
    merge_containers,
)


def row(n: int, tool: str, seconds: float, served: int, kind: str | None) -> dict:
    entry = {
        "n": n,
        "tool": tool,
        "seconds": seconds,
        "traffic": {"requests": 1, "downloads": 1, "bytes": served},
        "version_from": "1.1.0",
        "version_to": "1.2.0",
        "load_average_before": 1.0,
    }
    if kind is not None:
        entry["fleet"] = kind
    return entry


N = CONTAINER_HOSTS
LOCAL = [row(N, "ours", 10.0, 100, None), row(N, "baseline", 20.0, 500, None)]
CONTAINERS = [
    row(N, "ours", 30.0, 200, "containers"),
    row(N, "baseline", 40.0, 1000, "containers"),
]


# rows, tool, fleet, what, expected
FOUND_CASES = [
    (LOCAL + CONTAINERS, "ours", "local", "seconds", 10.0),
    (CONTAINERS + LOCAL, "ours", "local", "seconds", 10.0),
    (LOCAL + CONTAINERS, "ours", "containers", "seconds", 30.0),
    (LOCAL + CONTAINERS, "baseline", "containers", "bytes", 1000),
    (LOCAL, "baseline", "containers", "seconds", None),
]


@pytest.mark.parametrize(("rows", "tool", "kind", "what", "expected"), FOUND_CASES)
def test_found_keeps_the_fleets_apart(rows, tool, kind, what, expected):
    assert found(rows, tool, N, kind, what) == expected


def test_rows_without_a_fleet_are_local():
    assert fleet_of({"n": 5}) == "local"
    assert fleet_of({"fleet": "containers"}) == "containers"


def test_container_fleet_ratios_come_from_container_rows_only():
    summary = container_fleet(LOCAL + CONTAINERS, None)
    assert summary["n"] == N
    assert summary["ratios_ours_over_baseline"] == {
        "rollout": 30.0 / 40.0,
        "bytes_served": 200 / 1000,
    }


def test_container_fleet_not_measured_keeps_the_reason():
    assert container_fleet(LOCAL, "skipped: --skip-containers") == (
        "skipped: --skip-containers"
    )


def test_merge_replaces_earlier_container_rows_and_keeps_the_rest():
    stale = [row(N, "ours", 99.0, 9, "containers")]
    results = {"rollouts": LOCAL + stale, "container_fleet": "skipped", "other": 1}
    merged = merge_containers(results, LOCAL[:1] + CONTAINERS, None)
    assert merged["rollouts"] == LOCAL + CONTAINERS
    assert merged["other"] == 1
    assert merged["container_fleet"]["ratios_ours_over_baseline"]["rollout"] == 0.75
    assert results["rollouts"] == LOCAL + stale


def results_for(rows: list[dict], containers: dict | str) -> dict:
    return {
        "generated": "2026-01-01T00:00:00+00:00",
        "total_seconds": 1.0,
        "machine": {
            "nproc": 2,
            "cpu": "cpu",
            "memory_gib": 1.0,
            "kernel": "6",
            "python": "3.11",
            "ansible_core": "2.19",
            "load_average_at_start": [1.0],
        },
        "settings": {
            "forks": 5,
            "ours": "ours",
            "baseline": "baseline",
            "health_poll_hz": 20,
        },
        "rollouts": rows,
        "ratios_ours_over_baseline": {},
        "reruns": [],
        "downtime": {},
        "broken_canary": {},
        "install_memory": [],
        "container_fleet": containers,
    }


def test_markdown_shows_the_fleet_of_each_row_and_the_container_ratio():
    rows = LOCAL + CONTAINERS
    text = markdown(results_for(rows, container_fleet(rows, None)))
    assert f"| {N} | local | ours | 1.1.0 to 1.2.0 |" in text
    assert f"| {N} | containers | baseline | 1.1.0 to 1.2.0 |" in text
    assert f"| {N} | 0.75 | 0.20 |" in text


def test_markdown_says_why_the_container_fleet_was_skipped():
    text = markdown(results_for(LOCAL, "skipped: --skip-containers"))
    assert "Container fleet: skipped: --skip-containers." in text
