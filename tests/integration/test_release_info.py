"""allfi.ota.release_info run by ansible-playbook against the fake GitHub.

Two playbook runs cover every behaviour of the module: the first (with -vvv)
holds one task per scenario against three servers (the default catalog, an
extra catalog, and a server over its rate limit); the second takes its token
from GITHUB_TOKEN. Each run writes every registered result to a JSON file that
the tests below read.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._http import (
    RetryPolicy,
    download,
)
from tests.fixtures.github_server import FakeGitHub
from tests.fixtures.releases import ReleaseSpec, build_catalog

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".build" / "collections"
EXTRA_CATALOG = REPO / ".build" / "fixtures" / "allfi-ri-extra-catalog"
PLAYBOOK_BIN = Path(sys.executable).with_name("ansible-playbook")

FULL_TOKEN = "ghp_allfiri_full_7c1d9e0b2a"
PUBLIC_TOKEN = "ghp_allfiri_public_only_5e8f"
BAD_TOKEN = "ghp_allfiri_revoked_93ab01"
ENV_TOKEN = "ghp_allfiri_from_env_41d7c"
TOKENS = {FULL_TOKEN: None, PUBLIC_TOKEN: {"your-finance/allfi"}, ENV_TOKEN: None}

MAIN = "your-finance/allfi"
PRIVATE = "your-finance/allfi-private"
NODIGEST = "fixtures/allfi-nodigest"
PAGED = "fixtures/allfi-paged"
PARTIAL = "fixtures/allfi-partial"

pytestmark = pytest.mark.slow


def extra_repos() -> dict:
    """Releases the default catalog lacks: a long list and a partial release."""
    return {
        # 2.0.0 is the oldest release, so it sits on the last page of the list
        PAGED: [ReleaseSpec(v) for v in ("2.0.0", "1.0.0", "1.1.0", "1.2.0", "1.3.0")],
        PARTIAL: [ReleaseSpec("1.0.0", platforms=("linux-amd64", "darwin-arm64"))],
    }


def task(name: str, server: str, **args) -> dict:
    """One scenario: a release_info task against a server key."""
    return {"name": name, "server": server, "args": args}


ENV_LOOKUP = "{{{{ lookup('ansible.builtin.env', '{}') }}}}"

# name, server key, module options
MAIN_SCENARIOS = [
    task("latest", "main", repo=MAIN),
    task("latest_check_mode", "main", repo=MAIN, check=True),
    task("prerelease", "main", repo=MAIN, include_prereleases=True),
    task("pinned", "main", repo=MAIN, version="1.2.0"),
    task("pinned_v", "main", repo=MAIN, version="v1.2.0"),
    task("pinned_rc", "main", repo=MAIN, version="1.4.0-rc.1"),
    task("draft_latest", "main", repo=MAIN, include_prereleases=True, token="FULL"),
    task("draft_pinned", "main", repo=MAIN, version="1.5.0", token="FULL"),
    task("missing_version", "main", repo=MAIN, version="9.9.9"),
    task("bad_version", "main", repo=MAIN, version="1.2"),
    task("private_anonymous", "main", repo=PRIVATE),
    task("private_token", "main", repo=PRIVATE, token="FULL"),
    task("private_no_access", "main", repo=PRIVATE, token="PUBLIC"),
    task(
        "private_pinned_no_access",
        "main",
        repo=PRIVATE,
        version="1.0.0",
        token="PUBLIC",
    ),
    task("bad_token", "main", repo=MAIN, token="BAD"),
    task("flaky", "main", repo=MAIN, version="1.1.0"),
    task("broken", "main", repo=MAIN, version="1.0.0"),
    task("checksums_txt", "main", repo=NODIGEST, version="1.0.0", token="FULL"),
    task("sha256sums", "main", repo=NODIGEST, version="1.1.0"),
    task("per_asset", "main", repo=NODIGEST, version="1.2.0"),
    task("unverified", "main", repo=NODIGEST, version="1.3.0"),
    task(
        "unverified_allowed",
        "main",
        repo=NODIGEST,
        version="1.3.0",
        allow_unverified=True,
    ),
    task("paged", "extra", repo=PAGED),
    task("partial", "extra", repo=PARTIAL),
    task("rate_limited", "limited", repo=MAIN),
    task("rate_limited_token", "limited", repo=MAIN, token="FULL"),
]

ENV_SCENARIOS = [
    task("env_private", "main", repo=PRIVATE),
    task("env_missing", "main", repo=PRIVATE, version="7.7.7"),
]

TOKEN_VARS = {
    "FULL": "ALLFI_RI_FULL",
    "PUBLIC": "ALLFI_RI_PUBLIC",
    "BAD": "ALLFI_RI_BAD",
}


def write_playbook(path: Path, scenarios: list, urls: dict, results: Path) -> None:
    """A play on localhost with one registered task per scenario, then a dump."""
    tasks = []
    for scenario in scenarios:
        args = dict(scenario["args"], api_url=urls[scenario["server"]])
        check = args.pop("check", False)
        if "token" in args:
            args["token"] = ENV_LOOKUP.format(TOKEN_VARS[args["token"]])
        item = {
            "name": f"Resolve ({scenario['name']})",
            "allfi.ota.release_info": args,
            "register": f"r_{scenario['name']}",
            "ignore_errors": True,
        }
        if check:
            item["check_mode"] = True
        tasks.append(item)
    dump = ", ".join(f"'{s['name']}': r_{s['name']}" for s in scenarios)
    tasks.append(
        {
            "name": "Write every result",
            "ansible.builtin.copy": {
                "content": "{{ {" + dump + "} | to_nice_json }}",
                "dest": str(results),
                "mode": "0600",
            },
        }
    )
    play = [
        {
            "name": "Resolve releases",
            "hosts": "all",
            "gather_facts": False,
            "tasks": tasks,
        }
    ]
    path.write_text(json.dumps(play, indent=2))


def run_playbook(folder: Path, scenarios: list, urls: dict, extra_env: dict) -> dict:
    """Run the scenarios with -vvv; return results, output and the command's code."""
    folder.mkdir(parents=True, exist_ok=True)
    inventory = folder / "inventory.ini"
    inventory.write_text(
        "localhost ansible_connection=local"
        f" ansible_python_interpreter={sys.executable}\n"
    )
    results = folder / "results.json"
    playbook = folder / "playbook.yml"
    write_playbook(playbook, scenarios, urls, results)
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_LOCAL_TEMP": str(folder / "tmp"),
        "ANSIBLE_REMOTE_TMP": str(folder / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ALLFI_RI_FULL": FULL_TOKEN,
        "ALLFI_RI_PUBLIC": PUBLIC_TOKEN,
        "ALLFI_RI_BAD": BAD_TOKEN,
    }
    env.pop("GITHUB_TOKEN", None)
    env.update(extra_env)
    done = subprocess.run(
        [str(PLAYBOOK_BIN), "-vvv", "-i", str(inventory), str(playbook)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return {
        "results": json.loads(results.read_text()),
        "output": done.stdout + done.stderr,
        "files": results.read_text() + playbook.read_text(),
    }


@pytest.fixture(scope="module")
def servers(release_catalog):
    """Three fake GitHubs: default catalog, extra catalog, one over its limit."""
    extra = build_catalog(EXTRA_CATALOG, extra_repos())
    main = FakeGitHub(release_catalog, max_per_page=2, tokens=TOKENS)
    other = FakeGitHub(extra, max_per_page=2, tokens=TOKENS)
    limited = FakeGitHub(release_catalog, tokens=TOKENS)
    with main, other, limited:
        limited.rate_limit(status=403, reset_in=900, times=None)
        yield {"main": main, "extra": other, "limited": limited}


@pytest.fixture(scope="module")
def main_run(servers, tmp_path_factory):
    """The main playbook run, with its faults armed."""
    main = servers["main"]
    main.inject(rf"^/repos/{MAIN}/releases/tags/v1\.1\.0$", status=503, times=2)
    main.inject(rf"^/repos/{MAIN}/releases/tags/v1\.0\.0$", status=502, times=None)
    urls = {key: server.api_url for key, server in servers.items()}
    try:
        yield run_playbook(
            tmp_path_factory.mktemp("allfi-ri-main"), MAIN_SCENARIOS, urls, {}
        )
    finally:
        main.clear_faults()


@pytest.fixture(scope="module")
def env_run(servers, main_run, tmp_path_factory):
    """The run that gives the token through GITHUB_TOKEN only."""
    urls = {key: server.api_url for key, server in servers.items()}
    folder = tmp_path_factory.mktemp("allfi-ri-env")
    return run_playbook(folder, ENV_SCENARIOS, urls, {"GITHUB_TOKEN": ENV_TOKEN})


def ok(run: dict, name: str) -> dict:
    """The release of a scenario that must have succeeded."""
    result = run["results"][name]
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    return result["release"]


def failed(run: dict, name: str) -> str:
    """The message of a scenario that must have failed."""
    result = run["results"][name]
    assert result.get("failed"), result
    return result["msg"]


def api_records(server: FakeGitHub, fragment: str) -> list:
    return [r for r in server.requests if r.server == "api" and fragment in r.path]


# --- selection ----------------------------------------------------------------


def test_latest_is_the_highest_stable_version(main_run):
    release = ok(main_run, "latest")

    assert (release["tag"], release["version"], release["prerelease"]) == (
        "v1.3.0",
        "1.3.0",
        False,
    )
    assert release["published_at"]
    assert set(release["assets"]) == {
        "linux-amd64",
        "linux-arm64",
        "darwin-amd64",
        "darwin-arm64",
    }
    asset = release["assets"]["linux-amd64"]
    assert asset["name"] == "allfi-1.3.0-linux-amd64.tar.gz"
    assert asset["sha256_source"] == "digest"
    assert len(asset["sha256"]) == 64
    assert asset["token_required"] is False
    assert "/releases/download/v1.3.0/" in asset["url"]


def test_check_mode_answers_the_same(main_run):
    assert ok(main_run, "latest_check_mode") == ok(main_run, "latest")


def test_prereleases_only_when_asked(main_run):
    assert ok(main_run, "prerelease")["tag"] == "v1.4.0-rc.1"
    assert ok(main_run, "prerelease")["prerelease"] is True


# scenario, tag
PINNED = [("pinned", "v1.2.0"), ("pinned_v", "v1.2.0"), ("pinned_rc", "v1.4.0-rc.1")]


@pytest.mark.parametrize(("scenario", "tag"), PINNED)
def test_pinned_versions(main_run, scenario, tag):
    release = ok(main_run, scenario)
    assert release["tag"] == tag
    assert (
        release["assets"]["linux-amd64"]["name"]
        == f"allfi-{tag[1:]}-linux-amd64.tar.gz"
    )


def test_drafts_are_hidden_even_from_a_token(main_run):
    assert ok(main_run, "draft_latest")["tag"] == "v1.4.0-rc.1"
    message = failed(main_run, "draft_pinned")
    assert "1.5.0" in message and MAIN in message
    assert "newest versions: 1.4.0-rc.1, 1.3.0" in message


def test_missing_version_names_repo_version_and_newest(main_run):
    message = failed(main_run, "missing_version")
    assert MAIN in message
    assert "9.9.9" in message
    assert "newest versions: 1.4.0-rc.1, 1.3.0, 1.2.0, 1.1.0, 1.0.0" in message


def test_a_version_that_is_not_semver_is_refused(main_run):
    assert "not a semantic version" in failed(main_run, "bad_version")


def test_every_page_is_read(main_run, servers):
    # 2.0.0 is the oldest, so the last of three pages of two holds it
    assert ok(main_run, "paged")["tag"] == "v2.0.0"
    first = api_records(servers["extra"], f"/repos/{PAGED}/releases")
    later = api_records(servers["extra"], "/repositories/")
    assert len(first) == 1
    assert sorted(r.query["page"] for r in later) == ["2", "3"]


def test_a_missing_platform_is_absent_from_assets(main_run):
    assets = ok(main_run, "partial")["assets"]
    assert set(assets) == {"linux-amd64", "darwin-arm64"}


# --- tokens and access --------------------------------------------------------


def test_private_repository_without_token_says_a_token_is_needed(main_run):
    message = failed(main_run, "private_anonymous")
    assert PRIVATE in message
    assert "give a token" in message


def test_private_repository_with_token(main_run, servers):
    release = ok(main_run, "private_token")
    asset = release["assets"]["linux-amd64"]

    assert release["tag"] == "v1.1.0"
    assert asset["token_required"] is True
    assert asset["accept"] == "application/octet-stream"
    assert asset["url"].startswith(
        servers["main"].api_url + f"/repos/{PRIVATE}/releases/assets/"
    )


@pytest.mark.parametrize("scenario", ["private_no_access", "private_pinned_no_access"])
def test_token_without_access_is_named(main_run, scenario):
    message = failed(main_run, scenario)
    assert "the token may lack access" in message
    assert PRIVATE in message


def test_rejected_token_is_named(main_run):
    message = failed(main_run, "bad_token")
    assert "401" in message
    assert "token was rejected" in message


def test_token_from_github_token_variable(env_run):
    release = ok(env_run, "env_private")
    assert release["assets"]["linux-amd64"]["token_required"] is True
    message = failed(env_run, "env_missing")
    assert "7.7.7" in message and "newest versions: 1.1.0, 1.0.0" in message


def test_token_appears_nowhere_in_verbose_output(main_run, env_run):
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in main_run["output"]
    for run in (main_run, env_run):
        for token in (FULL_TOKEN, PUBLIC_TOKEN, BAD_TOKEN, ENV_TOKEN):
            assert token not in run["output"]
            assert token not in json.dumps(run["results"])


def test_checksum_file_fetched_with_token_not_sent_after_redirect(main_run, servers):
    ok(main_run, "checksums_txt")
    main = servers["main"]
    sums = [r for r in main.requests if r.path.endswith("/checksums.txt")]
    asked = [
        r for r in main.requests if r.server == "api" and "/releases/assets/" in r.path
    ]

    assert [r.status for r in sums] == [200]
    assert "authorization" not in sums[0].headers
    assert asked and all("authorization" in r.headers for r in asked)


def test_download_of_token_url_drops_token_at_objects_host(main_run, servers, tmp_path):
    asset = ok(main_run, "private_token")["assets"]["linux-amd64"]
    main = servers["main"]
    before = len(main.requests)
    headers = {"Authorization": f"Bearer {FULL_TOKEN}", "Accept": asset["accept"]}

    out = io.BytesIO()
    result = download(asset["url"], out, headers=headers, max_bytes=64 * 1024 * 1024)

    assert (
        result.sha256 == asset["sha256"] == hashlib.sha256(out.getvalue()).hexdigest()
    )
    assert result.size == asset["size"]
    api, objects = main.requests[before:]
    assert (api.server, api.status, api.headers["authorization"]) == (
        "api",
        302,
        f"Bearer {FULL_TOKEN}",
    )
    assert objects.server == "objects"
    assert "authorization" not in objects.headers


def test_truncated_download_is_retried(main_run, servers):
    asset = ok(main_run, "latest")["assets"]["linux-amd64"]
    main = servers["main"]
    main.inject(r"^/objects/", status=None, times=1, truncate=True)

    out = io.BytesIO()
    retry = RetryPolicy(base_delay=0.05)
    result = download(asset["url"], out, max_bytes=64 * 1024 * 1024, retry=retry)

    tries = [r for r in main.requests if r.path.endswith("/" + asset["name"])]
    assert result.sha256 == asset["sha256"]
    assert [r.server for r in tries] == ["api", "objects", "api", "objects"]


# --- failures on the way --------------------------------------------------------


def test_flaky_server_is_retried(main_run, servers):
    assert ok(main_run, "flaky")["tag"] == "v1.1.0"
    statuses = [
        r.status
        for r in api_records(servers["main"], f"/repos/{MAIN}/releases/tags/v1.1.0")
    ]
    assert statuses == [503, 503, 200]


def test_broken_server_gives_up_after_bounded_tries(main_run, servers):
    message = failed(main_run, "broken")
    assert "HTTP 502" in message and "gave up after 4 tries" in message
    assert len(api_records(servers["main"], f"/repos/{MAIN}/releases/tags/v1.0.0")) == 4


@pytest.mark.parametrize("scenario", ["rate_limited", "rate_limited_token"])
def test_rate_limit_fails_at_once(main_run, scenario):
    message = failed(main_run, scenario)
    assert "rate limit" in message
    assert "UTC" in message and "resets at" in message


def test_rate_limit_is_not_retried_and_suggests_a_token(main_run, servers):
    assert "a token" in failed(main_run, "rate_limited")
    assert "raises the limit" not in failed(main_run, "rate_limited_token")
    assert len(servers["limited"].requests) == 2


# --- checksums --------------------------------------------------------------------

# scenario, source of linux-amd64's sha256
CHECKSUM_SOURCES = [
    ("checksums_txt", "checksums.txt"),
    ("sha256sums", "SHA256SUMS"),
    ("per_asset", None),
]


@pytest.mark.parametrize(("scenario", "source"), CHECKSUM_SOURCES)
def test_missing_digest_with_checksum_file(main_run, release_catalog, scenario, source):
    release = ok(main_run, scenario)
    asset = release["assets"]["linux-amd64"]
    expected = source or f"{asset['name']}.sha256"
    path = release_catalog / NODIGEST / release["tag"] / asset["name"]

    assert asset["sha256_source"] == expected
    assert asset["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_digest_without_checksum_file_fails(main_run):
    message = failed(main_run, "unverified")
    assert "no SHA-256" in message
    assert "allow_unverified" in message


def test_missing_digest_allowed_warns(main_run):
    result = main_run["results"]["unverified_allowed"]
    asset = ok(main_run, "unverified_allowed")["assets"]["linux-amd64"]
    assert asset["sha256"] is None
    assert any("unverified" in w for w in result["warnings"])
