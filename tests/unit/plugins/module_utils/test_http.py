"""Tests of _http against real HTTP servers on 127.0.0.1 started by the tests."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.allfi.ota.plugins.module_utils import _http
from ansible_collections.allfi.ota.plugins.module_utils._http import (
    HttpError,
    RateLimitError,
    RetryPolicy,
    display_url,
    download,
    drop_headers,
    origin,
    parse_retry_after,
    request,
)

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, deadline=10.0)
TOKEN = "ghp_unit_secret_value"
PAYLOAD = bytes(range(256)) * 1000


@dataclass
class Answer:
    """One scripted answer; announce overrides the Content-Length sent."""

    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    announce: int | None = None
    close_after: int | None = None
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict


class Server:
    """A loopback server answering each path from a script of Answers."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.seen.append(
                    Seen(self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                script = server.routes.get(self.path.split("?")[0])
                if not script:
                    answer = Answer(404, body=b"no such path")
                else:
                    answer = script.pop(0) if len(script) > 1 else script[0]
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value.replace("{other}", server.other_base))
                announced = (
                    len(answer.body) if answer.announce is None else answer.announce
                )
                self.send_header("Content-Length", str(announced))
                if answer.close_after is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                body = answer.body
                if answer.close_after is not None:
                    body = body[: answer.close_after]
                    self.close_connection = True
                self.wfile.write(body)
                self.wfile.flush()

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that stops reading early is expected here

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.other_base = self.base
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), daemon=True
        )
        self.thread.start()

    def route(self, path: str, *answers: Answer) -> str:
        self.routes[path] = list(answers)
        return self.base + path

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    first, second = Server(), Server()
    first.other_base = second.base
    second.other_base = first.base
    yield first, second
    first.stop()
    second.stop()


# --- pure helpers -----------------------------------------------------------

# url_a, url_b, same origin
ORIGINS = [
    ("http://h:80/a", "http://h/b", True),
    ("https://H/a", "https://h:443/b", True),
    ("http://h:1/a", "http://h:2/a", False),
    ("http://h/a", "https://h/a", False),
    ("http://a.example/x", "http://b.example/x", False),
]


@pytest.mark.parametrize(("url_a", "url_b", "same"), ORIGINS)
def test_origin_compares_scheme_host_and_port(url_a, url_b, same):
    assert (origin(url_a) == origin(url_b)) is same


# url, first url, shown
DISPLAYS = [
    ("http://user:pw@h:81/p?q=1", None, "http://h:81/p?q=1"),
    ("http://h2/obj?X-Sig=abc", "http://h1/api", "http://h2/obj?..."),
    ("http://h1/api?page=2", "http://h1/x", "http://h1/api?page=2"),
]


@pytest.mark.parametrize(("url", "first", "shown"), DISPLAYS)
def test_display_url_hides_credentials(url, first, shown):
    assert display_url(url, first) == shown


def test_drop_headers_is_case_insensitive():
    headers = {"AUTHORIZATION": "x", "X-Api-Key": "y", "Accept": "z"}
    assert drop_headers(headers, ("authorization", "x-api-key")) == {"Accept": "z"}


# value, seconds
RETRY_AFTERS = [
    ("3", 3.0),
    (None, None),
    ("soon", None),
    ("Thu, 01 Jan 1970 00:00:10 GMT", 5.0),
]


@pytest.mark.parametrize(("value", "seconds"), RETRY_AFTERS)
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, now=5.0) == seconds


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


# --- request ----------------------------------------------------------------


def test_request_returns_body_headers_and_final_url(servers):
    api = servers[0]
    api.route("/start", Answer(302, {"Location": "/end"}))
    api.route("/end", Answer(200, {"X-Thing": "1"}, b'{"ok": true}'))

    answer = request(api.base + "/start", retry=FAST)

    assert (answer.status, answer.body, answer.url) == (
        200,
        b'{"ok": true}',
        api.base + "/end",
    )
    assert answer.headers["x-thing"] == "1"


def test_same_origin_redirect_keeps_the_token(servers):
    api = servers[0]
    api.route("/a", Answer(302, {"Location": "/b"}))
    api.route("/b", Answer(200, body=b"x"))

    request(api.base + "/a", headers={"Authorization": f"Bearer {TOKEN}"}, retry=FAST)

    assert [s.headers.get("authorization") for s in api.seen] == [f"Bearer {TOKEN}"] * 2


def test_redirect_to_another_port_drops_sensitive_headers(servers):
    api, objects = servers
    api.route("/asset", Answer(302, {"Location": "{other}/bytes?sig=1"}))
    objects.route("/bytes", Answer(200, body=PAYLOAD))
    sent = {
        "authorization": f"token {TOKEN}",
        "X-Private": "p",
        "Accept": "application/octet-stream",
    }

    out = io.BytesIO()
    result = download(
        api.base + "/asset",
        out,
        headers=sent,
        sensitive_headers=("Authorization", "x-private"),
        max_bytes=10**6,
        retry=FAST,
    )

    assert api.seen[0].headers["authorization"] == f"token {TOKEN}"
    assert "authorization" not in objects.seen[0].headers
    assert "x-private" not in objects.seen[0].headers
    assert objects.seen[0].headers["accept"] == "application/octet-stream"
    assert result.url == objects.base + "/bytes?sig=1"
    assert out.getvalue() == PAYLOAD


def test_token_stays_dropped_when_the_chain_comes_back(servers):
    api, objects = servers
    api.route("/a", Answer(302, {"Location": "{other}/hop"}))
    objects.route("/hop", Answer(302, {"Location": "{other}/b"}))
    api.route("/b", Answer(200, body=b"x"))

    request(api.base + "/a", headers={"Authorization": TOKEN}, retry=FAST)

    assert [s.headers.get("authorization") for s in api.seen] == [TOKEN, None]


def test_too_many_redirects_fail(servers):
    api = servers[0]
    api.route("/loop", Answer(302, {"Location": "/loop"}))

    with pytest.raises(HttpError, match="redirected more than 2 times"):
        request(api.base + "/loop", retry=FAST, max_redirects=2)
    assert len(api.seen) == 3


# status, headers, tries expected
TRANSIENT = [
    (503, {}, 3),
    (500, {}, 3),
    (429, {}, 3),
    (403, {"Retry-After": "0"}, 3),
]


@pytest.mark.parametrize(("status", "headers", "tries"), TRANSIENT)
def test_transient_failures_are_retried(servers, status, headers, tries):
    api = servers[0]
    api.route(
        "/flaky",
        Answer(status, headers, b"busy"),
        Answer(status, headers, b"busy"),
        Answer(200, body=b"fine"),
    )

    assert request(api.base + "/flaky", retry=FAST).body == b"fine"
    assert len(api.seen) == tries


# status, headers
PERMANENT = [
    (404, {}),
    (401, {}),
    (403, {}),
    (400, {}),
]


@pytest.mark.parametrize(("status", "headers"), PERMANENT)
def test_permanent_failures_are_not_retried(servers, status, headers):
    api = servers[0]
    api.route("/bad", Answer(status, headers, b'{"message": "nope"}'))

    with pytest.raises(HttpError) as caught:
        request(api.base + "/bad", retry=FAST)

    assert caught.value.status == status
    assert caught.value.body == b'{"message": "nope"}'
    assert len(api.seen) == 1


def test_retries_are_bounded_in_count(servers):
    api = servers[0]
    api.route("/down", Answer(502))

    with pytest.raises(HttpError, match=r"HTTP 502.*gave up after 4 tries") as caught:
        request(api.base + "/down", retry=FAST)

    assert caught.value.status == 502
    assert len(api.seen) == 4


def test_retries_are_bounded_in_time(servers):
    api = servers[0]
    api.route("/down", Answer(503, {"Retry-After": "5"}))
    policy = RetryPolicy(attempts=10, base_delay=0.01, deadline=2.0)

    started = time.monotonic()
    with pytest.raises(HttpError, match="deadline"):
        request(api.base + "/down", retry=policy)

    assert time.monotonic() - started < 2.0
    assert len(api.seen) == 1


def test_connection_refused_is_retried_then_reported(servers):
    api = servers[0]
    dead = api.base
    api.stop()

    with pytest.raises(HttpError, match=r"failed:.*gave up after 4 tries") as caught:
        request(dead + "/x", retry=FAST)

    assert caught.value.status is None


def test_timeout_is_retried(servers):
    api = servers[0]
    api.route("/slow", Answer(200, body=b"late", delay=1.0), Answer(200, body=b"ok"))

    answer = request(api.base + "/slow", timeout=0.3, retry=FAST)

    assert answer.body == b"ok"


def test_primary_rate_limit_fails_at_once_and_says_when(servers):
    api = servers[0]
    reset = int(time.time()) + 600
    limited = {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
    }
    api.route(
        "/limited", Answer(403, limited, b'{"message": "API rate limit exceeded"}')
    )

    with pytest.raises(RateLimitError) as caught:
        request(api.base + "/limited", retry=FAST)

    message = str(caught.value)
    assert len(api.seen) == 1
    assert "rate limit" in message
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(reset)) + " UTC" in message
    assert "token" in message
    assert caught.value.reset_at.timestamp() == reset


def test_rate_limit_with_a_token_does_not_suggest_a_token(servers):
    api = servers[0]
    api.route("/limited", Answer(429, {"X-RateLimit-Remaining": "0"}))

    with pytest.raises(RateLimitError) as caught:
        request(api.base + "/limited", headers={"Authorization": TOKEN}, retry=FAST)

    assert "raises the limit" not in str(caught.value)
    assert TOKEN not in str(caught.value)


# --- download ---------------------------------------------------------------


def test_download_streams_and_hashes(servers):
    api = servers[0]
    api.route("/file", Answer(200, body=PAYLOAD))
    out = io.BytesIO()

    result = download(api.base + "/file", out, max_bytes=len(PAYLOAD), chunk_size=1000)

    assert result.size == len(PAYLOAD) == result.announced_length
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert out.getvalue() == PAYLOAD


def test_truncated_body_is_retried_from_the_start(servers):
    api = servers[0]
    api.route(
        "/file",
        Answer(200, body=PAYLOAD, close_after=len(PAYLOAD) // 2),
        Answer(200, body=PAYLOAD),
    )
    out = io.BytesIO()

    result = download(api.base + "/file", out, max_bytes=10**6, retry=FAST)

    assert len(api.seen) == 2
    assert out.getvalue() == PAYLOAD
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest()


def test_always_truncated_body_fails_and_leaves_nothing(servers):
    api = servers[0]
    api.route("/file", Answer(200, body=PAYLOAD, close_after=100))
    out = io.BytesIO()

    with pytest.raises(HttpError, match="ended after 100 of the 256000 bytes"):
        download(api.base + "/file", out, max_bytes=10**6, retry=FAST)

    assert out.getvalue() == b""


def test_retry_truncates_what_an_earlier_try_wrote(servers, tmp_path):
    api = servers[0]
    api.route(
        "/file",
        Answer(200, body=PAYLOAD, announce=len(PAYLOAD) + 10, close_after=10**6),
        Answer(200, body=b"short"),
    )
    target = tmp_path / "f"

    with target.open("wb") as out:
        download(api.base + "/file", out, max_bytes=10**6, retry=FAST)

    assert target.read_bytes() == b"short"


def test_announced_length_above_max_bytes_fails_before_reading(servers):
    api = servers[0]
    api.route("/big", Answer(200, body=PAYLOAD))
    out = io.BytesIO()

    with pytest.raises(HttpError, match="announced 256000 bytes, more than the 1000"):
        download(api.base + "/big", out, max_bytes=1000, retry=FAST)

    assert out.getvalue() == b""
    assert len(api.seen) == 1


def test_unannounced_body_above_max_bytes_fails(servers, monkeypatch):
    api = servers[0]
    api.route("/big", Answer(200, body=PAYLOAD))
    # The server announces a length; ignore it to reach the streaming limit.
    monkeypatch.setattr(_http, "_content_length", lambda headers: None)
    out = io.BytesIO()

    with pytest.raises(HttpError, match="more than the 1000 bytes allowed"):
        download(api.base + "/big", out, max_bytes=1000, chunk_size=512, retry=FAST)

    assert out.getvalue() == b""


def test_messages_never_contain_header_values(servers):
    api, objects = servers
    api.route("/asset", Answer(302, {"Location": "{other}/bytes"}))
    objects.route("/bytes", Answer(500))

    with pytest.raises(HttpError) as caught:
        download(
            api.base + "/asset",
            io.BytesIO(),
            headers={"Authorization": f"Bearer {TOKEN}"},
            max_bytes=10,
            retry=FAST,
        )

    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value.details)
