# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AllFi's health gate: judge one answer of /api/v1/health, poll until a verdict.

Uses nothing of the module object: the health_check module passes plain values
in and turns the PollResult into its result. HTTP goes through
ansible.module_utils.urls (proxies and CA bundles as users expect).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.error
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible.module_utils.urls import Request

MAX_BODY = 65536
EXCERPT = 200


@dataclass
class Answer:
    """One try: HTTP status (None when no answer came), body, transport error."""

    status: int | None
    body: bytes = b""
    error: str | None = None


@dataclass
class Verdict:
    """Whether one answer is healthy, why not, and the body as seen."""

    healthy: bool
    reason: str
    body: Any = None


@dataclass
class PollResult:
    """The outcome of the gate."""

    healthy: bool
    attempts: int
    consecutive: int
    elapsed: float
    last: dict[str, Any] = field(default_factory=dict)


def _excerpt(body: bytes) -> str:
    text = body[:EXCERPT].decode("utf-8", "replace")
    return text + ("..." if len(body) > EXCERPT else "")


def _field(data: object, *path: str) -> object:
    """The value at a dotted path of nested dicts, None when any step is missing."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def judge(answer: Answer) -> Verdict:
    """Judge one answer: healthy needs 200, code 0, status ok and database ok."""
    if answer.status is None:
        return Verdict(False, answer.error or "no answer")
    try:
        body: Any = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    shown = body if body is not None else _excerpt(answer.body)

    # Check each field in turn
    if answer.status != 200:
        return Verdict(False, f"HTTP {answer.status}", shown)
    if not isinstance(body, dict):
        return Verdict(False, "the body is not a JSON object", shown)
    problems = []
    if body.get("code") != 0:
        problems.append(f"envelope code is {body.get('code')!r}, not 0")
    status = _field(body, "data", "status")
    if status != "ok":
        problems.append(f"data.status is {status!r}, not 'ok'")
    database = _field(body, "data", "database", "status")
    if database != "ok":
        problems.append(f"data.database.status is {database!r}, not 'ok'")
    if problems:
        return Verdict(False, "; ".join(problems), shown)
    return Verdict(True, "healthy", shown)


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and isinstance(
        error.reason, BaseException
    ):
        return _describe(error.reason)
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def fetch(
    url: str,
    *,
    timeout: float,
    validate_certs: bool = True,
    headers: dict[str, str] | None = None,
) -> Answer:
    """GET the URL once, without retries or redirects; never raises for HTTP."""
    opener = Request(
        follow_redirects="none",
        timeout=timeout,
        validate_certs=validate_certs,
        use_netrc=False,
        http_agent="allfi.ota health_check",
    )
    try:
        answer = opener.open("GET", url, headers=headers or {})
    except urllib.error.HTTPError as error:
        try:
            body = error.read(MAX_BODY)
        except (OSError, http.client.HTTPException):
            body = b""
        finally:
            error.close()
        return Answer(error.code, body)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        return Answer(None, error=_describe(error))
    try:
        return Answer(answer.status, answer.read(MAX_BODY))
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, error=f"broke off while reading: {_describe(error)}")
    finally:
        answer.close()


def describe_last(answer: Answer, verdict: Verdict) -> dict[str, Any]:
    """The last answer as returned to the user."""
    return {
        "status": answer.status,
        "body": verdict.body,
        "error": answer.error,
        "reason": verdict.reason,
    }


def summary(last: dict[str, Any]) -> str:
    """One line for a message: the reason and what came back."""
    if last.get("status") is None:
        return f"no answer ({last.get('error') or 'none'})"
    body = last.get("body")
    shown = json.dumps(body, sort_keys=True) if not isinstance(body, str) else body
    if len(shown) > 300:
        shown = shown[:300] + "..."
    return f"HTTP {last['status']}, {last.get('reason')}: {shown}"


def poll(
    get: Callable[[], Answer],
    *,
    successes: int,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PollResult:
    """Ask until `successes` healthy answers in a row, or until `timeout` passes."""
    started = clock()
    attempts = consecutive = 0
    last: dict[str, Any] = {}
    while True:
        answer = get()
        attempts += 1
        verdict = judge(answer)
        last = describe_last(answer, verdict)
        consecutive = consecutive + 1 if verdict.healthy else 0
        elapsed = clock() - started
        if consecutive >= successes:
            return PollResult(True, attempts, consecutive, round(elapsed, 3), last)
        if elapsed + interval > timeout:
            return PollResult(False, attempts, consecutive, round(elapsed, 3), last)
        sleep(interval)
