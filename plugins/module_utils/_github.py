# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find an AllFi release on GitHub's REST API and what verifies its assets.

Uses nothing of the module object: resolve_release() takes plain arguments and
returns the release plus warnings (strings) for the module to pass to
module.warn. Parsing and selection are pure functions; GitHubReleases is the
only part that talks HTTP (through _http, so through ansible.module_utils.urls).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable
from urllib.parse import quote

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._http import (
    HttpError,
    RateLimitError,
    RetryPolicy,
    origin,
    request,
)
from ansible_collections.allfi.ota.plugins.module_utils._version import (
    Version,
    try_parse_version,
)

DEFAULT_API_URL = "https://api.github.com"
API_ACCEPT = "application/vnd.github+json"
ASSET_ACCEPT = "application/octet-stream"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 200
CHECKSUM_MAX_BYTES = 1024 * 1024
NEWEST_SHOWN = 5

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_GNU_LINE = re.compile(r"^(?P<hex>[0-9a-fA-F]{64})\s+\*?(?P<name>\S.*)$")
_BSD_LINE = re.compile(r"^SHA256\s*\((?P<name>.+)\)\s*=\s*(?P<hex>[0-9a-fA-F]{64})$")
_LINK_PART = re.compile(r"<(?P<url>[^>]*)>(?P<params>[^,]*)")
_GENERAL_CHECKSUM_FILES = ("*checksums*.txt", "sha256sums", "sha256sums.txt")


@dataclass
class Asset:
    """One file attached to a release, as the API describes it."""

    id: int | None
    name: str
    size: int
    digest: str | None
    api_url: str
    browser_download_url: str
    state: str = "uploaded"


@dataclass
class Release:
    """One release, as the API describes it; version is None for other tags."""

    id: int | None
    tag: str
    version: Version | None
    draft: bool
    prerelease: bool
    published_at: str | None
    name: str
    html_url: str
    assets: list[Asset] = field(default_factory=list)

    @property
    def is_prerelease(self) -> bool:
        """GitHub's prerelease flag, or a prerelease part in the version."""
        return self.prerelease or bool(self.version and self.version.is_prerelease)


# --- parsing ----------------------------------------------------------------


def validate_repo(repo: str) -> str:
    """Return repo when it reads owner/name; raise AllfiOtaError otherwise."""
    if not _REPO.match(repo or ""):
        raise AllfiOtaError(f"repo '{repo}' is not of the form owner/name")
    return repo


def parse_asset(data: object) -> Asset:
    """One asset object of the API."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise AllfiOtaError("the API listed an asset without a name")
    size = data.get("size")
    return Asset(
        id=data.get("id"),
        name=data["name"],
        size=size if isinstance(size, int) else 0,
        digest=data.get("digest") or None,
        api_url=data.get("url") or "",
        browser_download_url=data.get("browser_download_url") or "",
        state=data.get("state") or "uploaded",
    )


def parse_release(data: object) -> Release:
    """One release object of the API."""
    if not isinstance(data, dict) or not isinstance(data.get("tag_name"), str):
        raise AllfiOtaError("the API answered something that is not a release")
    assets = data.get("assets") or []
    if not isinstance(assets, list):
        raise AllfiOtaError(
            f"release {data['tag_name']} has an assets field that is not a list"
        )
    return Release(
        id=data.get("id"),
        tag=data["tag_name"],
        version=try_parse_version(data["tag_name"]),
        draft=bool(data.get("draft")),
        prerelease=bool(data.get("prerelease")),
        published_at=data.get("published_at"),
        name=data.get("name") or "",
        html_url=data.get("html_url") or "",
        assets=[parse_asset(item) for item in assets],
    )


def parse_release_list(data: object) -> list[Release]:
    """One page of the releases list."""
    if not isinstance(data, list):
        raise AllfiOtaError("the API answered something that is not a list of releases")
    return [parse_release(item) for item in data]


def next_page_url(link: str | None) -> str | None:
    """The rel="next" URL of a Link header, or None on the last page."""
    for match in _LINK_PART.finditer(link or ""):
        params = match.group("params")
        for param in params.split(";"):
            key, _sep, value = param.strip().partition("=")
            rels = value.strip().strip('"').split()
            if key.strip().lower() == "rel" and "next" in rels:
                return match.group("url").strip()
    return None


def parse_digest(digest: str | None) -> str | None:
    """The hex of a 'sha256:<hex>' digest; None for anything else."""
    if not digest:
        return None
    algorithm, _sep, value = digest.partition(":")
    if algorithm.strip().lower() != "sha256" or not _SHA256_HEX.match(value.strip()):
        return None
    return value.strip().lower()


def parse_checksum_text(text: str, default_name: str | None = None) -> dict[str, str]:
    """Map file name to SHA-256 from GNU, BSD or bare-hash checksum text."""
    sums: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _GNU_LINE.match(line) or _BSD_LINE.match(line)
        if match:
            name = match.group("name").strip().replace("\\", "/").rsplit("/", 1)[-1]
            sums[name] = match.group("hex").lower()
        elif default_name is not None and _SHA256_HEX.match(line):
            sums[default_name] = line.lower()
    return sums


# --- selection --------------------------------------------------------------


def requested_tag(version: str) -> str | None:
    """None for 'latest'; else the tag a pinned version means ('1.2.0' -> 'v1.2.0')."""
    if version.strip().lower() == "latest":
        return None
    return Version(version).tag


def candidates(releases: Iterable[Release], include_prereleases: bool) -> list[Release]:
    """Published releases with a semantic version, prereleases only when asked."""
    return [
        r
        for r in releases
        if not r.draft
        and r.version is not None
        and (include_prereleases or not r.is_prerelease)
    ]


def select_latest(
    releases: Iterable[Release], include_prereleases: bool
) -> Release | None:
    """The highest semantic version among the candidates, or None."""
    found = candidates(releases, include_prereleases)
    return max(found, key=lambda r: r.version) if found else None


def newest_versions(
    releases: Iterable[Release], count: int = NEWEST_SHOWN
) -> list[str]:
    """The newest published versions, highest first, prereleases included."""
    found = sorted(candidates(releases, True), key=lambda r: r.version, reverse=True)
    return [r.version.text for r in found[:count]]


def asset_name_pattern(version: Version) -> re.Pattern[str]:
    """AllFi's platform asset name: allfi-<version>-<os>-<arch>.tar.gz."""
    return re.compile(
        r"^allfi-"
        + re.escape(version.text)
        + r"-(?P<os>[A-Za-z0-9_]+)-(?P<arch>[A-Za-z0-9_]+)\.tar\.gz$"
    )


def match_platform_assets(release: Release) -> dict[str, Asset]:
    """Platform key ('linux-amd64', ...) to asset; two for one platform is an error."""
    if release.version is None:
        raise AllfiOtaError(f"tag {release.tag} is not a semantic version")
    pattern = asset_name_pattern(release.version)
    matched: dict[str, Asset] = {}
    for asset in release.assets:
        found = pattern.match(asset.name)
        if not found or asset.state != "uploaded":
            continue
        platform = f"{found.group('os')}-{found.group('arch')}"
        if platform in matched:
            raise AllfiOtaError(
                f"release {release.tag} has two assets for {platform}:"
                f" {matched[platform].name} and {asset.name}"
            )
        matched[platform] = asset
    return matched


def is_checksum_file(name: str) -> bool:
    """True for a release-wide checksum file: *checksums*.txt or SHA256SUMS."""
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, p) for p in _GENERAL_CHECKSUM_FILES)


def checksum_files_for(asset: Asset, release: Release) -> list[Asset]:
    """The release's files that may list asset's SHA-256, the asset's own first."""
    own = [a for a in release.assets if a.name == asset.name + ".sha256"]
    general = [a for a in release.assets if is_checksum_file(a.name)]
    return own + general


# --- talking to the API -------------------------------------------------------


class GitHubReleases:
    """Reads one repository's releases from a GitHub (Enterprise) REST API."""

    def __init__(
        self,
        repo: str,
        *,
        api_url: str = DEFAULT_API_URL,
        token: str | None = None,
        validate_certs: bool = True,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so safe to share
    ) -> None:
        self.repo = validate_repo(repo)
        self.api_url = api_url.rstrip("/")
        self.token = token or None
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.retry = retry
        self._list: list[Release] | None = None

    @property
    def repo_url(self) -> str:
        """The API URL of the repository."""
        return f"{self.api_url}/repos/{self.repo}"

    def headers(self, url: str, accept: str = API_ACCEPT) -> dict[str, str]:
        """Headers for url: the token only on the API's own origin."""
        headers = {"Accept": accept, "X-GitHub-Api-Version": API_VERSION}
        if self.token and origin(url) == origin(self.api_url):
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _get(self, url: str) -> tuple[object, dict[str, str]]:
        try:
            answer = request(
                url,
                headers=self.headers(url),
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                retry=self.retry,
            )
        except RateLimitError:
            raise
        except HttpError as error:
            raise self._explain(error) from None
        try:
            return json.loads(answer.body.decode("utf-8")), answer.headers
        except (UnicodeDecodeError, ValueError):
            raise AllfiOtaError(
                f"GET {url} answered something that is not JSON"
            ) from None

    def _explain(self, error: HttpError) -> HttpError:
        # Add what the API said and what a 401/404 means for the token.
        text, gave_up, note = str(error).partition(" (gave up")
        said = _api_message(error.body)
        if said and said.lower() not in text.lower():
            text += f" ({said})"
        text += gave_up + note
        if error.status == 401:
            text += (
                ": the token was rejected; it may be wrong, expired or lack access"
                f" to {self.repo}"
                if self.token
                else f": {self.repo} needs a token (option token or GITHUB_TOKEN)"
            )
        return HttpError(
            text,
            url=error.url,
            status=error.status,
            headers=error.headers,
            body=error.body,
        )

    def _repo_missing(self, error: HttpError) -> AllfiOtaError:
        if self.token:
            hint = (
                f"the token may lack access to {self.repo},"
                " or the repository does not exist"
            )
        else:
            hint = (
                f"{self.repo} does not exist, or it is private: then give a token"
                " with read access (option token or the GITHUB_TOKEN environment"
                " variable)"
            )
        return AllfiOtaError(
            f"repository {self.repo} not found at {self.api_url}"
            f" (HTTP {error.status}): {hint}"
        )

    def list_releases(self) -> list[Release]:
        """Every release of the repository, reading all pages."""
        if self._list is not None:
            return self._list
        url: str | None = f"{self.repo_url}/releases?per_page={PER_PAGE}"
        seen: set[str] = set()
        releases: list[Release] = []
        while url is not None:
            if url in seen or len(seen) >= MAX_PAGES:
                raise AllfiOtaError(
                    f"the releases list of {self.repo} does not end (page {url})"
                )
            seen.add(url)
            try:
                data, headers = self._get(url)
            except HttpError as error:
                if error.status == 404:
                    raise self._repo_missing(error) from None
                raise
            releases.extend(parse_release_list(data))
            url = next_page_url(headers.get("link"))
        self._list = releases
        return releases

    def release_by_tag(self, tag: str) -> Release | None:
        """The release of a tag, or None when there is none."""
        url = f"{self.repo_url}/releases/tags/{quote(tag, safe='')}"
        try:
            data, _headers = self._get(url)
        except HttpError as error:
            if error.status == 404:
                return None
            raise
        return parse_release(data)

    def asset_location(self, asset: Asset) -> tuple[str, bool]:
        """Where to fetch an asset, and whether the token must go with it."""
        if self.token and asset.api_url:
            return asset.api_url, True
        return asset.browser_download_url, False

    def read_small_asset(self, asset: Asset) -> str:
        """Fetch a small asset (a checksum file) as text."""
        url, with_token = self.asset_location(asset)
        headers = (
            self.headers(url, ASSET_ACCEPT) if with_token else {"Accept": ASSET_ACCEPT}
        )
        try:
            answer = request(
                url,
                headers=headers,
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                retry=self.retry,
            )
        except HttpError as error:
            raise AllfiOtaError(
                f"reading checksum file {asset.name} failed: {error}"
            ) from None
        if len(answer.body) > CHECKSUM_MAX_BYTES:
            raise AllfiOtaError(
                f"checksum file {asset.name} is larger than {CHECKSUM_MAX_BYTES} bytes"
            )
        return answer.body.decode("utf-8", errors="replace")


def _api_message(body: bytes) -> str:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return message.strip()[:200] if isinstance(message, str) else ""


# --- resolution -------------------------------------------------------------


def find_release(
    client: GitHubReleases, version: str, include_prereleases: bool
) -> Release:
    """The release that version ('latest', '1.2.0', 'v1.2.0') means."""
    tag = requested_tag(version)
    if tag is None:
        releases = client.list_releases()
        chosen = select_latest(releases, include_prereleases)
        if chosen is not None:
            return chosen
        newest = newest_versions(releases)
        if newest:
            raise AllfiOtaError(
                f"{client.repo} has no published stable release; newest versions:"
                f" {', '.join(newest)} (set include_prereleases to consider"
                " prereleases)"
            )
        raise AllfiOtaError(
            f"{client.repo} has no published release with a semantic version tag"
        )

    # Pinned: the tag, never a draft
    found = client.release_by_tag(tag)
    if found is not None and not found.draft:
        return found
    releases = client.list_releases()
    newest = newest_versions(releases)
    state = "exists only as a draft" if found is not None else "does not exist"
    listed = (
        f"newest versions: {', '.join(newest)}"
        if newest
        else "it has no published releases"
    )
    raise AllfiOtaError(
        f"version {version} (tag {tag}) {state} in {client.repo}; {listed}"
    )


def resolve_sha256s(
    release: Release,
    assets: dict[str, Asset],
    read_text: Callable[[Asset], str],
    allow_unverified: bool,
) -> tuple[dict[str, tuple[str | None, str | None]], list[str]]:
    """Platform to (sha256, source) from digests, else checksum files; plus warnings."""
    found: dict[str, tuple[str | None, str | None]] = {}
    texts: dict[str, dict[str, str]] = {}
    unverified: list[str] = []

    for platform, asset in sorted(assets.items()):
        from_digest = parse_digest(asset.digest)
        if from_digest:
            found[platform] = (from_digest, "digest")
            continue

        # Fall back to checksum files in the same release
        values: dict[str, str] = {}
        for checksum in checksum_files_for(asset, release):
            if checksum.name not in texts:
                default = (
                    checksum.name[: -len(".sha256")]
                    if checksum.name.endswith(".sha256")
                    else None
                )
                texts[checksum.name] = parse_checksum_text(read_text(checksum), default)
            if asset.name in texts[checksum.name]:
                values[checksum.name] = texts[checksum.name][asset.name]
        if len(set(values.values())) > 1:
            listed = ", ".join(
                f"{name}: {value}" for name, value in sorted(values.items())
            )
            raise AllfiOtaError(
                f"checksum files of release {release.tag} disagree about"
                f" {asset.name} ({listed})"
            )
        if values:
            source, value = sorted(values.items())[0]
            found[platform] = (value, source)
            continue
        unverified.append(asset.name)
        found[platform] = (None, None)

    if not unverified:
        return found, []
    names = ", ".join(unverified)
    them = "them" if len(unverified) > 1 else "it"
    why = (
        f"release {release.tag} publishes no SHA-256 for {names}: no digest in the"
        " API and no checksum file (*checksums*.txt, SHA256SUMS, <asset>.sha256)"
        f" lists {them}"
    )
    if not allow_unverified:
        raise AllfiOtaError(
            why + "; set allow_unverified=true to accept unverified assets"
        )
    return found, [why + f"; returning {them} unverified as allow_unverified is true"]


def resolve_release(
    client: GitHubReleases,
    version: str = "latest",
    include_prereleases: bool = False,
    allow_unverified: bool = False,
) -> tuple[dict, list[str]]:
    """The release result of the release_info module, and warnings."""
    release = find_release(client, version, include_prereleases)
    assets = match_platform_assets(release)
    if not assets:
        names = ", ".join(a.name for a in release.assets) or "none"
        raise AllfiOtaError(
            f"release {release.tag} of {client.repo} has no platform asset named"
            f" allfi-{release.version}-<os>-<arch>.tar.gz (assets: {names})"
        )
    sums, warnings = resolve_sha256s(
        release, assets, client.read_small_asset, allow_unverified
    )

    described = {}
    for platform, asset in sorted(assets.items()):
        url, with_token = client.asset_location(asset)
        sha256, source = sums[platform]
        described[platform] = {
            "name": asset.name,
            "url": url,
            "size": asset.size,
            "sha256": sha256,
            "sha256_source": source,
            "accept": ASSET_ACCEPT,
            "token_required": with_token,
            "browser_download_url": asset.browser_download_url,
        }
    result = {
        "tag": release.tag,
        "version": release.version.text,
        "prerelease": release.is_prerelease,
        "published_at": release.published_at,
        "name": release.name,
        "html_url": release.html_url,
        "assets": described,
    }
    return result, warnings
