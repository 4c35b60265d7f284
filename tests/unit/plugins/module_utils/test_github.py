"""Tests of the release parsing and selection rules, on GitHub-shaped JSON."""

from __future__ import annotations

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._github import (
    Asset,
    checksum_files_for,
    is_checksum_file,
    match_platform_assets,
    newest_versions,
    next_page_url,
    parse_checksum_text,
    parse_digest,
    parse_release,
    parse_release_list,
    requested_tag,
    resolve_sha256s,
    select_latest,
    validate_repo,
)

HEX_A = "a" * 64
HEX_B = "b" * 64
API = "https://api.github.com/repos/your-finance/allfi"
WEB = "https://github.com/your-finance/allfi/releases/download"
LINUX = "allfi-1.2.0-linux-amd64.tar.gz"
DARWIN = "allfi-1.2.0-darwin-arm64.tar.gz"


def asset_json(name: str, tag: str = "v1.2.0", digest: str | None = None, **extra):
    """An asset object as GitHub's REST API returns it."""
    data = {
        "url": f"{API}/releases/assets/{abs(hash(name)) % 10**6}",
        "id": abs(hash(name)) % 10**6,
        "name": name,
        "label": "",
        "content_type": "application/gzip",
        "state": "uploaded",
        "size": 1234,
        "download_count": 7,
        "created_at": "2025-01-08T09:30:00Z",
        "updated_at": "2025-01-08T09:30:00Z",
        "browser_download_url": f"{WEB}/{tag}/{name}",
    }
    if digest is not None:
        data["digest"] = digest
    data.update(extra)
    return data


def release_json(tag: str, *, draft=False, prerelease=False, assets=None, **extra):
    """A release object as GitHub's REST API returns it."""
    version = tag.lstrip("v")
    if assets is None:
        assets = [
            asset_json(f"allfi-{version}-{p}.tar.gz", tag, f"sha256:{HEX_A}")
            for p in ("linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64")
        ] + [asset_json("webapp-dist.tar.gz", tag, f"sha256:{HEX_B}")]
    data = {
        "url": f"{API}/releases/1",
        "html_url": f"https://github.com/your-finance/allfi/releases/tag/{tag}",
        "id": 1,
        "tag_name": tag,
        "target_commitish": "main",
        "name": f"AllFi {tag}",
        "draft": draft,
        "prerelease": prerelease,
        "created_at": "2025-01-08T08:30:00Z",
        "published_at": None if draft else "2025-01-08T09:30:00Z",
        "assets": assets,
        "body": "notes",
    }
    data.update(extra)
    return data


def releases(*specs):
    """Parsed releases from (tag, draft, prerelease) triples."""
    return parse_release_list(
        [release_json(tag, draft=d, prerelease=p) for tag, d, p in specs]
    )


# --- parsing ----------------------------------------------------------------


def test_parse_release_reads_the_fields_github_sends():
    release = parse_release(release_json("v1.2.0"))

    assert (release.tag, release.version.text, release.draft) == (
        "v1.2.0",
        "1.2.0",
        False,
    )
    assert release.published_at == "2025-01-08T09:30:00Z"
    assert release.html_url.endswith("/tag/v1.2.0")
    assert release.assets[0].name == "allfi-1.2.0-linux-amd64.tar.gz"
    assert release.assets[0].digest == f"sha256:{HEX_A}"
    assert release.assets[0].api_url.startswith(API + "/releases/assets/")


def test_parse_release_keeps_tags_that_are_not_versions():
    assert parse_release(release_json("nightly")).version is None


# payload, reason
BAD_PAYLOADS = [
    ({"message": "Not Found"}, "not a release"),
    ([], "not a release"),
    ({"tag_name": "v1.0.0", "assets": "x"}, "not a list"),
    ({"tag_name": "v1.0.0", "assets": [{"size": 3}]}, "without a name"),
]


@pytest.mark.parametrize(("payload", "reason"), BAD_PAYLOADS)
def test_parse_release_rejects_other_shapes(payload, reason):
    with pytest.raises(AllfiOtaError, match=reason):
        parse_release(payload)


def test_parse_release_list_rejects_an_object():
    with pytest.raises(AllfiOtaError, match="not a list of releases"):
        parse_release_list({"message": "Moved Permanently"})


# link header, next url
LINKS = [
    (
        '<https://api.github.com/repositories/7/releases?page=2>; rel="next", '
        '<https://api.github.com/repositories/7/releases?page=3>; rel="last"',
        "https://api.github.com/repositories/7/releases?page=2",
    ),
    (
        '<https://x/r?page=1>; rel="prev", <https://x/r?page=3>; rel="next"',
        "https://x/r?page=3",
    ),
    (
        '<https://x/r?page=1>; rel="first", <https://x/r?page=1>; rel="prev"',
        None,
    ),
    ("<https://x/r?page=2>; rel=next", "https://x/r?page=2"),
    ('<https://x/r?page=2>; rel="last next"', "https://x/r?page=2"),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("link", "expected"), LINKS)
def test_next_page_url(link, expected):
    assert next_page_url(link) == expected


# digest, sha256
DIGESTS = [
    (f"sha256:{HEX_A}", HEX_A),
    (f"SHA256:{HEX_A.upper()}", HEX_A),
    (f"sha512:{HEX_A}{HEX_A}", None),
    ("sha256:abc", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("digest", "sha256"), DIGESTS)
def test_parse_digest(digest, sha256):
    assert parse_digest(digest) == sha256


# text, default name, parsed
CHECKSUM_TEXTS = [
    (
        f"{HEX_A}  allfi-1.0.0-linux-amd64.tar.gz\n",
        None,
        {"allfi-1.0.0-linux-amd64.tar.gz": HEX_A},
    ),
    (
        f"{HEX_A} *dist/a.tar.gz\n{HEX_B}  ./b.tar.gz\n",
        None,
        {"a.tar.gz": HEX_A, "b.tar.gz": HEX_B},
    ),
    (f"SHA256 (a.tar.gz) = {HEX_A.upper()}\n", None, {"a.tar.gz": HEX_A}),
    (f"# made by CI\n\n{HEX_A}\n", "a.tar.gz", {"a.tar.gz": HEX_A}),
    (f"{HEX_A}\n", None, {}),
    ("not a checksum line\n", "a.tar.gz", {}),
]


@pytest.mark.parametrize(("text", "default", "parsed"), CHECKSUM_TEXTS)
def test_parse_checksum_text(text, default, parsed):
    assert parse_checksum_text(text, default) == parsed


# name, is a release-wide checksum file
CHECKSUM_NAMES = [
    ("checksums.txt", True),
    ("allfi_1.2.0_checksums.txt", True),
    ("SHA256SUMS", True),
    ("sha256sums.txt", True),
    ("allfi-1.2.0-linux-amd64.tar.gz.sha256", False),
    ("checksums.json", False),
    ("webapp-dist.tar.gz", False),
]


@pytest.mark.parametrize(("name", "expected"), CHECKSUM_NAMES)
def test_is_checksum_file(name, expected):
    assert is_checksum_file(name) is expected


# repo, valid
REPOS = [
    ("your-finance/allfi", True),
    ("Org.Name/repo_1", True),
    ("allfi", False),
    ("a/b/c", False),
    ("a/b?x=1", False),
    ("", False),
]


@pytest.mark.parametrize(("repo", "valid"), REPOS)
def test_validate_repo(repo, valid):
    if valid:
        assert validate_repo(repo) == repo
    else:
        with pytest.raises(AllfiOtaError, match="owner/name"):
            validate_repo(repo)


# --- selection --------------------------------------------------------------

# asked, tag (None: latest)
TAGS = [
    ("latest", None),
    ("LATEST", None),
    ("1.2.0", "v1.2.0"),
    ("v1.2.0", "v1.2.0"),
    ("1.4.0-rc.1", "v1.4.0-rc.1"),
]


@pytest.mark.parametrize(("asked", "tag"), TAGS)
def test_requested_tag(asked, tag):
    assert requested_tag(asked) == tag


@pytest.mark.parametrize("asked", ["1.2", "newest", "v1.2.0.1"])
def test_requested_tag_rejects_what_is_not_a_version(asked):
    with pytest.raises(AllfiOtaError, match="not a semantic version"):
        requested_tag(asked)


# the list as GitHub orders it (tag, draft, prerelease); include prereleases; chosen
LATEST = [
    # semver order, not list (date) order
    (
        [("v1.2.0", False, False), ("v1.10.0", False, False), ("v1.9.0", False, False)],
        False,
        "v1.10.0",
    ),
    # a draft is never chosen
    ([("v1.5.0", True, False), ("v1.3.0", False, False)], False, "v1.3.0"),
    ([("v1.5.0", True, False), ("v1.3.0", False, False)], True, "v1.3.0"),
    # prereleases only when asked, by flag or by version
    ([("v1.4.0-rc.1", False, True), ("v1.3.0", False, False)], False, "v1.3.0"),
    ([("v1.4.0-rc.1", False, True), ("v1.3.0", False, False)], True, "v1.4.0-rc.1"),
    ([("v1.4.0-beta.2", False, False), ("v1.3.0", False, False)], False, "v1.3.0"),
    ([("v1.4.0", False, True), ("v1.3.0", False, False)], False, "v1.3.0"),
    # a final release sorts above its release candidates
    ([("v1.4.0-rc.2", False, True), ("v1.4.0", False, False)], True, "v1.4.0"),
    (
        [("v1.4.0-rc.2", False, True), ("v1.4.0-rc.10", False, True)],
        True,
        "v1.4.0-rc.10",
    ),
    # tags that are not versions are skipped
    ([("nightly", False, False), ("v0.9.0", False, False)], False, "v0.9.0"),
    # nothing to choose
    ([("v1.4.0-rc.1", False, True)], False, None),
    ([], True, None),
]


@pytest.mark.parametrize(("listed", "include_prereleases", "chosen"), LATEST)
def test_select_latest(listed, include_prereleases, chosen):
    found = select_latest(releases(*listed), include_prereleases)
    assert (found.tag if found else None) == chosen


def test_newest_versions_lists_published_ones_highest_first():
    listed = releases(
        ("v1.5.0", True, False),
        ("v1.0.0", False, False),
        ("v1.4.0-rc.1", False, True),
        ("v1.3.0", False, False),
        ("nightly", False, False),
        ("v1.1.0", False, False),
        ("v1.2.0", False, False),
    )
    assert newest_versions(listed, 4) == ["1.4.0-rc.1", "1.3.0", "1.2.0", "1.1.0"]


def names_to_assets(tag, names):
    return [asset_json(name, tag, f"sha256:{HEX_A}") for name in names]


# asset names of release v1.2.0; platforms matched
MATCHING = [
    (
        [
            "allfi-1.2.0-linux-amd64.tar.gz",
            "allfi-1.2.0-darwin-arm64.tar.gz",
            "webapp-dist.tar.gz",
            "checksums.txt",
        ],
        {"linux-amd64", "darwin-arm64"},
    ),
    # any <os>-<arch> becomes a platform
    (
        ["allfi-1.2.0-linux-armv7.tar.gz", "allfi-1.2.0-freebsd-amd64.tar.gz"],
        {"linux-armv7", "freebsd-amd64"},
    ),
    # exact naming only
    (
        [
            "allfi-1.1.0-linux-amd64.tar.gz",
            "allfi-v1.2.0-linux-amd64.tar.gz",
            "allfi-1.2.0-linux-amd64.zip",
            "allfi-1.2.0-linux-amd64.tar.gz.sha256",
            "allfi-1.2.0-linux.tar.gz",
            "allfi-1.2.0-linux-amd64-extra.tar.gz",
            "Allfi-1.2.0-linux-amd64.tar.gz",
            "allfi-1.2.0-windows-amd64.exe",
        ],
        set(),
    ),
]


@pytest.mark.parametrize(("names", "platforms"), MATCHING)
def test_match_platform_assets(names, platforms):
    release = parse_release(
        release_json("v1.2.0", assets=names_to_assets("v1.2.0", names))
    )
    assert set(match_platform_assets(release)) == platforms


def test_match_platform_assets_uses_the_version_without_v_and_prerelease_part():
    names = ["allfi-1.4.0-rc.1-linux-amd64.tar.gz"]
    release = parse_release(
        release_json("v1.4.0-rc.1", assets=names_to_assets("v1.4.0-rc.1", names))
    )
    assert match_platform_assets(release)["linux-amd64"].name == names[0]


def test_match_platform_assets_skips_unfinished_uploads():
    assets = [asset_json("allfi-1.2.0-linux-amd64.tar.gz", state="starter")]
    release = parse_release(release_json("v1.2.0", assets=assets))
    assert match_platform_assets(release) == {}


def test_two_assets_for_one_platform_are_an_error():
    # GitHub refuses a second upload of one name, but a mirror may list it twice.
    assets = [
        asset_json("allfi-1.2.0-linux-amd64.tar.gz"),
        asset_json("allfi-1.2.0-linux-amd64.tar.gz", id=99),
    ]
    release = parse_release(release_json("v1.2.0", assets=assets))
    with pytest.raises(AllfiOtaError, match="two assets for linux-amd64"):
        match_platform_assets(release)


# --- checksums --------------------------------------------------------------


def checksum_release(extra_assets, digest=None):
    names = ["allfi-1.2.0-linux-amd64.tar.gz", "allfi-1.2.0-darwin-arm64.tar.gz"]
    assets = [asset_json(n, digest=digest) for n in names]
    assets += [asset_json(n) for n in extra_assets]
    release = parse_release(release_json("v1.2.0", assets=assets))
    return release, match_platform_assets(release)


def reader(files, log=None):
    def read(asset: Asset) -> str:
        if log is not None:
            log.append(asset.name)
        return files[asset.name]

    return read


def test_digest_wins_and_no_file_is_read():
    release, assets = checksum_release(["checksums.txt"], digest=f"sha256:{HEX_B}")
    log = []

    sums, warnings = resolve_sha256s(release, assets, reader({}, log), False)

    assert sums == {"linux-amd64": (HEX_B, "digest"), "darwin-arm64": (HEX_B, "digest")}
    assert (log, warnings) == ([], [])


# checksum files of the release and their text; (sha256, source) of linux-amd64
FALLBACKS = [
    (
        {"checksums.txt": f"{HEX_A}  {LINUX}\n{HEX_B}  {DARWIN}\n"},
        (HEX_A, "checksums.txt"),
    ),
    (
        {"SHA256SUMS": f"{HEX_A} *{LINUX}\n{HEX_B} *{DARWIN}\n"},
        (HEX_A, "SHA256SUMS"),
    ),
    (
        {
            f"{LINUX}.sha256": f"{HEX_A}\n",
            f"{DARWIN}.sha256": f"{HEX_B}  {DARWIN}\n",
        },
        (HEX_A, "allfi-1.2.0-linux-amd64.tar.gz.sha256"),
    ),
]


@pytest.mark.parametrize(("files", "expected"), FALLBACKS)
def test_checksum_files_stand_in_for_a_missing_digest(files, expected):
    release, assets = checksum_release(list(files))
    log = []

    sums, warnings = resolve_sha256s(release, assets, reader(files, log), False)

    assert sums["linux-amd64"] == expected
    assert sums["darwin-arm64"][0] == HEX_B
    assert warnings == []
    assert sorted(log) == sorted(set(log)), "each checksum file is read once"


def test_checksum_files_that_disagree_are_an_error():
    files = {
        "checksums.txt": f"{HEX_A}  allfi-1.2.0-linux-amd64.tar.gz\n",
        "allfi-1.2.0-linux-amd64.tar.gz.sha256": f"{HEX_B}\n",
    }
    release, assets = checksum_release(list(files))
    with pytest.raises(
        AllfiOtaError, match=r"disagree about allfi-1\.2\.0-linux-amd64"
    ):
        resolve_sha256s(release, assets, reader(files), False)


def test_own_checksum_file_comes_before_release_wide_ones():
    release, assets = checksum_release(
        ["SHA256SUMS", "allfi-1.2.0-linux-amd64.tar.gz.sha256"]
    )
    names = [a.name for a in checksum_files_for(assets["linux-amd64"], release)]
    assert names == ["allfi-1.2.0-linux-amd64.tar.gz.sha256", "SHA256SUMS"]


def test_no_digest_and_no_checksum_file_fails():
    release, assets = checksum_release(["webapp-dist.tar.gz"])
    with pytest.raises(AllfiOtaError, match=r"publishes no SHA-256.*allow_unverified"):
        resolve_sha256s(release, assets, reader({}), False)


def test_checksum_file_without_the_asset_fails():
    files = {"checksums.txt": f"{HEX_A}  allfi-1.2.0-darwin-arm64.tar.gz\n"}
    release, assets = checksum_release(list(files))
    with pytest.raises(
        AllfiOtaError, match=r"no SHA-256 for allfi-1\.2\.0-linux-amd64"
    ):
        resolve_sha256s(release, assets, reader(files), False)


def test_allow_unverified_warns_and_returns_null():
    release, assets = checksum_release([])

    sums, warnings = resolve_sha256s(release, assets, reader({}), True)

    assert sums == {"linux-amd64": (None, None), "darwin-arm64": (None, None)}
    assert len(warnings) == 1
    assert "unverified" in warnings[0]
