"""The download module (the controller's archive cache) against the fake GitHub."""

from __future__ import annotations

import hashlib
import json
import urllib.request

from tests.fixtures.modules import run_module

TOKEN = "ghp_fixture_token"
NAME = "allfi-1.2.0-linux-amd64.tar.gz"


def asset(github, repo="your-finance/allfi", tag="v1.2.0", name=NAME) -> dict:
    url = f"{github.api_url}/repos/{repo}/releases/tags/{tag}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        release = json.loads(answer.read())
    return next(item for item in release["assets"] if item["name"] == name)


def test_downloads_once_verifies_and_keeps_the_token_at_the_api(github, tmp_path):
    found = asset(github)
    dest = tmp_path / "cache" / "v1.2.0" / NAME
    args = {
        "url": found["url"],
        "dest": str(dest),
        "checksum": found["digest"],
        "headers": {
            "Authorization": f"Bearer {TOKEN}",
            "Accept": "application/octet-stream",
        },
    }
    github.clear_requests()

    checked = run_module("download", args, check_mode=True)
    assert checked["changed"] and checked["downloaded"] and not dest.exists()

    first = run_module("download", args)
    assert first["changed"] and first["downloaded"], first
    assert "sha256:" + hashlib.sha256(dest.read_bytes()).hexdigest() == found["digest"]
    assert first["size"] == found["size"] == dest.stat().st_size
    assert oct(dest.stat().st_mode & 0o777) == "0o644"
    assert TOKEN not in json.dumps(first)

    again = run_module("download", args)
    assert not again["changed"] and not again["downloaded"]
    assert github.downloads(NAME) == 1

    # The token went to the API port only, never to the objects port
    objects = [r for r in github.requests if r.server == "objects"]
    assert objects and all("authorization" not in r.headers for r in objects)
    assert any(
        "authorization" in r.headers for r in github.requests if r.server == "api"
    )


def test_wrong_checksum_leaves_nothing_behind(github, tmp_path):
    found = asset(github)
    dest = tmp_path / NAME
    result = run_module(
        "download",
        {
            "url": found["browser_download_url"],
            "dest": str(dest),
            "checksum": "sha256:" + "0" * 64,
        },
    )
    assert result["failed"]
    assert "checksum check" in result["msg"] and NAME in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_a_changed_cached_file_is_downloaded_again(github, tmp_path):
    found = asset(github)
    dest = tmp_path / NAME
    dest.write_bytes(b"not the archive")
    args = {
        "url": found["browser_download_url"],
        "dest": str(dest),
        "checksum": found["digest"],
    }
    result = run_module("download", args)
    assert result["changed"] and result["downloaded"]
    assert "sha256:" + hashlib.sha256(dest.read_bytes()).hexdigest() == found["digest"]
