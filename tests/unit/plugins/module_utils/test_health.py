"""The health gate's judgement of one answer, and the polling loop on a fake clock."""

from __future__ import annotations

import json

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._health import (
    Answer,
    judge,
    poll,
    summary,
)


def envelope(code=0, status="ok", database="ok"):
    data = {"status": status, "name": "AllFi", "version": "1.2.0", "env": "prod"}
    if database is not None:
        data["database"] = {"status": database}
    return json.dumps({"code": code, "message": "m", "data": data}).encode()


# Columns: HTTP status, body, transport error, healthy?, reason (substring)
ANSWERS = [
    (200, envelope(), None, True, "healthy"),
    (500, envelope(code=500), None, False, "HTTP 500"),
    (503, b"<html>busy</html>", None, False, "HTTP 503"),
    (200, envelope(database="error"), None, False, "data.database.status is 'error'"),
    (200, envelope(database=None), None, False, "data.database.status is None"),
    (200, envelope(status="degraded"), None, False, "data.status is 'degraded'"),
    (200, envelope(code=1), None, False, "envelope code is 1"),
    (
        200,
        envelope(1, "degraded", "error"),
        None,
        False,
        "code is 1, not 0; data.status",
    ),
    (200, b"OK", None, False, "not a JSON object"),
    (200, b"[1, 2]", None, False, "not a JSON object"),
    (200, b'{"code": 0}', None, False, "data.status is None"),
    (200, b'{"code": 0, "data": "ok"}', None, False, "data.status is None"),
    (200, b'{"code": "0", "data": {}}', None, False, "envelope code is '0'"),
    (200, b"\xff\xfe", None, False, "not a JSON object"),
    (None, b"", "connection refused", False, "connection refused"),
]


@pytest.mark.parametrize(("status", "body", "error", "healthy", "reason"), ANSWERS)
def test_judge(status, body, error, healthy, reason):
    verdict = judge(Answer(status, body, error))
    assert verdict.healthy is healthy
    assert reason in verdict.reason


def test_judge_keeps_parsed_body_or_short_excerpt():
    assert judge(Answer(200, envelope())).body["data"]["status"] == "ok"
    excerpt = judge(Answer(502, b"x" * 1000)).body
    assert excerpt == "x" * 200 + "..."


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


HEALTHY = Answer(200, envelope())
DB_ERROR = Answer(200, envelope(database="error"))
REFUSED = Answer(None, error="connection refused")

# Columns: answers in order, successes, timeout, healthy?, attempts, consecutive
POLLS = [
    ([HEALTHY] * 3, 3, 10, True, 3, 3),
    ([REFUSED, REFUSED, HEALTHY, HEALTHY], 2, 10, True, 4, 2),
    ([HEALTHY, DB_ERROR, HEALTHY, HEALTHY, HEALTHY], 3, 10, True, 5, 3),
    ([HEALTHY, HEALTHY, DB_ERROR] * 5, 3, 10, False, 11, 2),
    ([REFUSED] * 20, 1, 5, False, 6, 0),
    ([HEALTHY], 1, 0, True, 1, 1),
]


@pytest.mark.parametrize(
    ("answers", "successes", "timeout", "healthy", "attempts", "consecutive"), POLLS
)
def test_poll(answers, successes, timeout, healthy, attempts, consecutive):
    clock = FakeClock()
    feed = iter(answers)
    result = poll(
        lambda: next(feed),
        successes=successes,
        timeout=timeout,
        interval=1,
        clock=clock,
        sleep=clock.sleep,
    )
    assert (result.healthy, result.attempts, result.consecutive) == (
        healthy,
        attempts,
        consecutive,
    )
    assert result.elapsed <= timeout


def test_summary_names_the_last_answer():
    clock = FakeClock()
    result = poll(
        lambda: DB_ERROR,
        successes=1,
        timeout=2,
        interval=1,
        clock=clock,
        sleep=clock.sleep,
    )
    line = summary(result.last)
    assert line.startswith("HTTP 200, data.database.status is 'error', not 'ok': {")
    assert '"database": {"status": "error"}' in line
    assert summary({"status": None, "error": "timed out"}) == "no answer (timed out)"
