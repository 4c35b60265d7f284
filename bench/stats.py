"""Pure helpers of the benchmarks: downtime from health samples, server traffic.

Nothing here starts a process or opens a socket, so the unit tests in
tests/unit/bench/ check it on hand-made data.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """One poll of a host: when it answered, whether healthy, which version ran."""

    time: float
    healthy: bool
    version: str | None = None


def downtime(samples: Iterable[Sample], old: str, new: str) -> float | None:
    """Seconds from the old version's last healthy answer to the new one's first.

    None when the samples hold no healthy answer of the new version, or none of
    the old version before it (the poller started too late to see it).
    """
    ordered = sorted(samples, key=lambda sample: sample.time)
    first_new = next((s.time for s in ordered if s.healthy and s.version == new), None)
    if first_new is None:
        return None
    old_times = [
        s.time for s in ordered if s.healthy and s.version == old and s.time < first_new
    ]
    if not old_times:
        return None
    return first_new - max(old_times)


def summary(values: Iterable[float | None]) -> dict:
    """Median and maximum of the measured values, with how many were measured."""
    given = list(values)
    measured = [value for value in given if value is not None]
    return {
        "median": statistics.median(measured) if measured else None,
        "max": max(measured) if measured else None,
        "count": len(measured),
        "missing": len(given) - len(measured),
    }


def traffic(lines: Iterable[str]) -> dict:
    """Requests, downloads and bytes served, from the release server's JSON log lines.

    A download is a successful (200) answer of the objects port, the one that
    serves archive bytes; requests count both ports, redirects included.
    """
    records = [json.loads(line) for line in lines if line.strip()]
    downloads = [r for r in records if r["server"] == "objects" and r["status"] == 200]
    return {
        "requests": len(records),
        "api_requests": sum(1 for r in records if r["server"] == "api"),
        "downloads": len(downloads),
        "bytes": sum(int(r.get("bytes_sent") or 0) for r in records),
        "download_bytes": sum(int(r.get("bytes_sent") or 0) for r in downloads),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the divisor is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator
