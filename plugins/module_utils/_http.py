# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP for the collection: bounded retries, safe redirects, streamed downloads.

Uses nothing of the module object: every function takes plain arguments, so
it runs the same in a module on a managed host and in controller-side code.
Requests go through ansible.module_utils.urls, so proxies (http_proxy,
https_proxy, no_proxy) and the system CA bundle work as users expect.

Redirects are followed here, not by urllib: whenever a redirect leads to
another scheme, host or port than the URL first asked for, every sensitive
header (Authorization and whatever the caller names) is dropped for the rest
of the chain. Messages name URLs without user info, and without the query
string once a redirect left the first origin (signed object URLs carry
credentials there); they never contain header values.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import socket
import ssl
import time
import urllib.error
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from typing import IO, Callable, Iterable, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from ansible.module_utils.urls import Request

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError

USER_AGENT = "allfi.ota (Ansible collection)"

_T = TypeVar("_T")
_REDIRECT_CODES = (301, 302, 303, 307, 308)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class HttpError(AllfiOtaError):
    """An HTTP exchange that failed; status is None when no answer came."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message, url=url, status=status)
        self.status = status
        self.url = url
        self.headers = headers or {}
        self.body = body


class RateLimitError(HttpError):
    """The server's primary rate limit is used up; retrying would not help."""

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None,
        url: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message, url=url, status=status, headers=headers, body=body)
        self.reset_at = reset_at


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient failures."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    deadline: float = 60.0

    def delay(self, failures: int) -> float:
        """Backoff before the next try, after that many failures (1, 2, ...)."""
        return min(self.max_delay, self.base_delay * (2 ** (failures - 1)))


@dataclass
class HttpResponse:
    """A complete answer: status, lower-case headers, body and the final URL."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str


@dataclass
class DownloadResult:
    """What download() wrote: byte count, SHA-256, final URL, announced length."""

    size: int
    sha256: str
    url: str
    announced_length: int | None


class _Transient(Exception):
    """A failure worth another try; carries the error to raise at the end."""

    def __init__(self, error: HttpError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, lower-case host and port (default port filled in) of a URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def display_url(url: str, first_url: str | None = None) -> str:
    """The URL fit for a message: no user info; no query off the first origin."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    query = parts.query
    if first_url is not None and origin(url) != origin(first_url) and query:
        query = "..."
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def drop_headers(headers: dict[str, str], names: Iterable[str]) -> dict[str, str]:
    """A copy of headers without the named ones, compared case-insensitively."""
    lowered = {name.lower() for name in names}
    return {k: v for k, v in headers.items() if k.lower() not in lowered}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def rate_limit_reset(headers: dict[str, str]) -> datetime | None:
    """The UTC time X-RateLimit-Reset announces, or None."""
    value = headers.get("x-ratelimit-reset", "").strip()
    if not value.isdigit():
        return None
    return datetime.fromtimestamp(int(value), tz=timezone.utc)


def is_primary_rate_limit(status: int, headers: dict[str, str]) -> bool:
    """True for a 403/429 that says the primary rate limit is used up."""
    return (
        status in (403, 429) and headers.get("x-ratelimit-remaining", "").strip() == "0"
    )


def is_transient_status(status: int, headers: dict[str, str]) -> bool:
    """True for answers worth retrying: 5xx, 429, and 403 with Retry-After."""
    if status >= 500 or status == 429:
        return True
    return status == 403 and "retry-after" in headers


def _lower_headers(message: Message | None) -> dict[str, str]:
    # Several headers of one name are joined, as HTTP allows.
    headers: dict[str, str] = {}
    if message is None:
        return headers
    for name, value in message.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _rate_limit_error(
    method: str,
    url: str,
    first_url: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
    authenticated: bool,
) -> RateLimitError:
    reset_at = rate_limit_reset(headers)
    limit = headers.get("x-ratelimit-limit", "").strip()
    parts = [
        f"{method} {display_url(url, first_url)} hit the API rate limit"
        f" (HTTP {status}, no requests remaining"
        + (f" of {limit} per hour" if limit.isdigit() else "")
        + ")"
    ]
    if reset_at is not None:
        wait = max(0, int(reset_at.timestamp() - time.time()))
        parts.append(
            f"it resets at {reset_at.strftime('%Y-%m-%d %H:%M:%S')} UTC (in {wait} s)"
        )
    else:
        parts.append("the server did not say when it resets")
    if authenticated:
        parts.append("wait until then, or use another token")
    else:
        parts.append(
            "a token (option token or the GITHUB_TOKEN environment variable)"
            " raises the limit"
        )
    return RateLimitError(
        "; ".join(parts),
        reset_at=reset_at,
        url=url,
        status=status,
        headers=headers,
        body=body,
    )


def _status_error(
    method: str,
    url: str,
    first_url: str,
    status: int,
    reason: str,
    headers: dict[str, str],
    body: bytes,
) -> HttpError:
    text = f"{method} {display_url(url, first_url)} answered HTTP {status}"
    if reason:
        text += f" {reason}"
    return HttpError(text, url=url, status=status, headers=headers, body=body)


def _describe_os_error(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and not isinstance(
        error, urllib.error.HTTPError
    ):
        reason = error.reason
        if isinstance(reason, BaseException):
            return _describe_os_error(reason)
        return str(reason)
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _exchange(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    sensitive_headers: Iterable[str],
    timeout: float,
    validate_certs: bool,
    max_redirects: int,
    on_success: Callable[[http.client.HTTPResponse, str, dict[str, str]], _T],
) -> _T:
    """One try: follow redirects by hand, hand the open 2xx answer to on_success."""
    first_url = url
    current = url
    current_method = method.upper()
    current_headers = dict(headers)
    left_origin = False
    authenticated = any(k.lower() == "authorization" for k in headers)
    opener = Request(
        http_agent=None,
        follow_redirects="none",
        timeout=timeout,
        validate_certs=validate_certs,
        use_netrc=False,
        decompress=False,
    )

    for _hop in range(max_redirects + 1):
        # Sensitive headers go only to the origin first asked
        if not left_origin and origin(current) != origin(first_url):
            left_origin = True
            current_headers = drop_headers(current_headers, sensitive_headers)
            current_headers = drop_headers(current_headers, ("authorization",))

        try:
            answer = opener.open(current_method, current, headers=current_headers)
        except urllib.error.HTTPError as error:
            status = error.code
            answer_headers = _lower_headers(error.headers)
            try:
                body = error.read()
            except (OSError, http.client.HTTPException):
                body = b""
            finally:
                error.close()

            if status in _REDIRECT_CODES and answer_headers.get("location"):
                target = urljoin(current, answer_headers["location"].strip())
                if urlsplit(target).scheme.lower() not in _DEFAULT_PORTS:
                    raise HttpError(
                        f"{current_method} {display_url(current, first_url)}"
                        " redirected to a URL that is not http or https",
                        url=current,
                        status=status,
                    ) from None
                current = target
                if status == 303 or (
                    status in (301, 302) and current_method not in ("GET", "HEAD")
                ):
                    current_method = "GET"
                continue

            if is_primary_rate_limit(status, answer_headers):
                raise _rate_limit_error(
                    current_method,
                    current,
                    first_url,
                    status,
                    answer_headers,
                    body,
                    authenticated and not left_origin,
                ) from None
            failure = _status_error(
                current_method,
                current,
                first_url,
                status,
                str(error.reason or ""),
                answer_headers,
                body,
            )
            if is_transient_status(status, answer_headers):
                raise _Transient(
                    failure, parse_retry_after(answer_headers.get("retry-after"))
                ) from None
            raise failure from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            failure = HttpError(
                f"{current_method} {display_url(current, first_url)} failed:"
                f" {_describe_os_error(error)}",
                url=current,
            )
            if isinstance(error, ssl.SSLCertVerificationError) or (
                isinstance(error, urllib.error.URLError)
                and isinstance(error.reason, ssl.SSLCertVerificationError)
            ):
                raise failure from None
            raise _Transient(failure) from None

        try:
            return on_success(answer, current, _lower_headers(answer.headers))
        finally:
            answer.close()

    raise HttpError(
        f"{method.upper()} {display_url(first_url)} redirected more than"
        f" {max_redirects} times",
        url=current,
    )


def _with_retries(
    retry: RetryPolicy,
    attempt: Callable[[], _T],
    on_retry: Callable[[], None] | None = None,
) -> _T:
    """Run attempt() until it succeeds, retrying _Transient within the policy."""
    started = time.monotonic()
    failures = 0
    while True:
        try:
            return attempt()
        except _Transient as transient:
            failures += 1
            if failures >= max(1, retry.attempts):
                raise _give_up(transient.error, failures) from None
            wait = (
                transient.retry_after
                if transient.retry_after is not None
                else retry.delay(failures)
            )
            if time.monotonic() - started + wait > retry.deadline:
                raise _give_up(
                    transient.error, failures, deadline=retry.deadline
                ) from None
            time.sleep(wait)
            if on_retry is not None:
                on_retry()


def _give_up(error: HttpError, tries: int, deadline: float | None = None) -> HttpError:
    if deadline is None:
        note = f" (gave up after {tries} tries)"
    else:
        note = (
            f" (gave up after {tries} tries:"
            f" another would pass the {deadline:g} s deadline)"
        )
    return HttpError(
        str(error) + note,
        url=error.url,
        status=error.status,
        headers=error.headers,
        body=error.body,
    )


def request(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    sensitive_headers: Iterable[str] = ("authorization",),
    method: str = "GET",
    timeout: float = 30.0,
    validate_certs: bool = True,
    retry: RetryPolicy = RetryPolicy(),
    max_redirects: int = 5,
) -> HttpResponse:
    """Send one request (retried when transient) and return the whole answer."""
    sent = _with_user_agent(headers)

    def read_all(
        answer: http.client.HTTPResponse, final_url: str, answer_headers: dict[str, str]
    ) -> HttpResponse:
        try:
            body = answer.read()
        except (OSError, http.client.HTTPException) as error:
            raise _Transient(
                HttpError(
                    f"{method.upper()} {display_url(final_url, url)} broke off"
                    f" while reading: {_describe_os_error(error)}",
                    url=final_url,
                )
            ) from None
        return HttpResponse(
            status=answer.status, headers=answer_headers, body=body, url=final_url
        )

    def attempt() -> HttpResponse:
        return _exchange(
            url,
            method=method,
            headers=sent,
            sensitive_headers=sensitive_headers,
            timeout=timeout,
            validate_certs=validate_certs,
            max_redirects=max_redirects,
            on_success=read_all,
        )

    return _with_retries(retry, attempt)


def download(
    url: str,
    fileobj: IO[bytes],
    *,
    headers: dict[str, str] | None = None,
    sensitive_headers: Iterable[str] = ("authorization",),
    timeout: float = 30.0,
    validate_certs: bool = True,
    max_bytes: int,
    retry: RetryPolicy = RetryPolicy(),
    max_redirects: int = 5,
    chunk_size: int = 65536,
) -> DownloadResult:
    """Stream url into a seekable fileobj, hashing as it goes; a retry restarts it."""
    sent = _with_user_agent(headers)
    start = fileobj.tell()

    def restart() -> None:
        fileobj.seek(start)
        fileobj.truncate()

    def stream(
        answer: http.client.HTTPResponse, final_url: str, answer_headers: dict[str, str]
    ) -> DownloadResult:
        shown = display_url(final_url, url)
        announced = _content_length(answer_headers)
        if announced is not None and announced > max_bytes:
            raise HttpError(
                f"GET {shown} announced {announced} bytes,"
                f" more than the {max_bytes} allowed",
                url=final_url,
                status=answer.status,
                headers=answer_headers,
            )

        # Copy and hash chunk by chunk
        digest = hashlib.sha256()
        size = 0
        while True:
            try:
                chunk = answer.read(chunk_size)
            except (OSError, http.client.HTTPException) as error:
                raise _Transient(
                    HttpError(
                        f"GET {shown} broke off after {size} bytes:"
                        f" {_describe_os_error(error)}",
                        url=final_url,
                    )
                ) from None
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise HttpError(
                    f"GET {shown} sent more than the {max_bytes} bytes allowed",
                    url=final_url,
                    status=answer.status,
                    headers=answer_headers,
                )
            digest.update(chunk)
            fileobj.write(chunk)

        if announced is not None and size != announced:
            raise _Transient(
                HttpError(
                    f"GET {shown} ended after {size} of the {announced} bytes"
                    " announced (truncated body)",
                    url=final_url,
                    status=answer.status,
                    headers=answer_headers,
                )
            )
        fileobj.flush()
        return DownloadResult(
            size=size,
            sha256=digest.hexdigest(),
            url=final_url,
            announced_length=announced,
        )

    def attempt() -> DownloadResult:
        return _exchange(
            url,
            method="GET",
            headers=sent,
            sensitive_headers=sensitive_headers,
            timeout=timeout,
            validate_certs=validate_certs,
            max_redirects=max_redirects,
            on_success=stream,
        )

    try:
        return _with_retries(retry, attempt, on_retry=restart)
    except HttpError:
        restart()
        raise


def _with_user_agent(headers: dict[str, str] | None) -> dict[str, str]:
    sent = dict(headers or {})
    if not any(k.lower() == "user-agent" for k in sent):
        sent["User-Agent"] = USER_AGENT
    return sent


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None
