#!/usr/bin/python
# Copyright (c) allfi.ota developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release_info
short_description: Find an AllFi release on GitHub and what verifies its assets
version_added: "0.1.0"
description:
  - Resolves the AllFi release to install, the latest stable one or a pinned version,
    from the GitHub REST API (or a GitHub Enterprise server, or a mirror answering
    the same shapes).
  - Returns, for every platform the release carries, the asset to download and the
    SHA-256 that verifies it.
  - C(latest) means the highest semantic version among published releases, not
    GitHub's date-ordered latest release; every page of the releases list is read.
  - Platform assets are matched by AllFi's exact naming
    C(allfi-<version>-<os>-<arch>.tar.gz); other assets such as C(webapp-dist.tar.gz)
    are ignored.
  - The SHA-256 comes from the digest the API reports for each asset. An asset without
    one takes it from a checksum file in the same release (C(*checksums*.txt),
    C(SHA256SUMS), C(<asset>.sha256)); without that the module fails, unless
    O(allow_unverified=true).
  - Connection errors, time-outs, HTTP 5xx, 429, and 403 with C(Retry-After) are
    retried with exponential backoff, at most 4 tries within 60 seconds. A used-up
    primary rate limit fails at once and says when it resets.
  - Reads only; it changes nothing, on the controller or on the host.
author:
  - allfi.ota developers (@allfi-ota)
options:
  repo:
    description:
      - The GitHub repository that publishes AllFi, as C(owner/name).
    type: str
    default: your-finance/allfi
  version:
    description:
      - V(latest) for the highest stable version, or a version to pin.
      - V(1.2.0) and V(v1.2.0) both mean the tag C(v1.2.0). A pinned version is
        returned even when it is a prerelease; a draft release is never returned.
    type: str
    default: latest
  include_prereleases:
    description:
      - Whether V(latest) may resolve to a prerelease (a release GitHub flags as
        prerelease, or a version with a prerelease part such as C(1.4.0-rc.1)).
    type: bool
    default: false
  api_url:
    description:
      - Root URL of the GitHub REST API.
      - For GitHub Enterprise Server this is usually C(https://HOST/api/v3).
    type: str
    default: https://api.github.com
  token:
    description:
      - A GitHub token with read access to O(repo). Needed for private repositories;
        it also raises the API rate limit.
      - When not set, the value of the E(GITHUB_TOKEN) environment variable is used.
      - With a token, each asset's C(url) in RV(release.assets) is the API URL of
        the asset, to fetch with the token and the header
        C(Accept) set to C(application/octet-stream). Whatever downloads it must
        send the token to the API host only, never to the host a redirect leads to.
      - The token never appears in results, warnings or error messages.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each connection and read before the try counts as failed.
    type: float
    default: 30
  allow_unverified:
    description:
      - Whether to accept an asset for which the release publishes no SHA-256 (no
        digest and no checksum file). Such an asset is then returned with
        C(sha256=null) and the module warns.
      - Leave this off unless you verify the download some other way.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode answers exactly as a normal run.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: >-
      Runs on the controller (with C(delegate_to) set to C(localhost)) or on any
      host with Python.
notes:
  - Uses the REST API C(/repos/{owner}/{name}/releases), C(/releases/tags/{tag}) and,
    for checksum files, the asset download URLs.
  - Unauthenticated requests to api.github.com are limited to 60 an hour per address;
    a token raises the limit.
seealso:
  - name: GitHub REST API for releases
    description: The endpoints this module reads.
    link: https://docs.github.com/en/rest/releases/releases
"""

EXAMPLES = r"""
- name: Find the latest stable AllFi release
  allfi.ota.release_info:
  delegate_to: localhost
  run_once: true
  register: allfi_release

- name: Pin a version from a private fork
  allfi.ota.release_info:
    repo: example-org/allfi
    version: v1.2.0
    token: "{{ lookup('ansible.builtin.env', 'GITHUB_TOKEN') }}"
  delegate_to: localhost
  run_once: true
  register: allfi_release

- name: Show the archive for linux-amd64 and its checksum
  ansible.builtin.debug:
    msg: >-
      {{ allfi_release.release.assets['linux-amd64'].name }}
      {{ allfi_release.release.assets['linux-amd64'].sha256 }}

- name: Take the newest version, prereleases included, from GitHub Enterprise
  allfi.ota.release_info:
    api_url: https://github.example.com/api/v3
    include_prereleases: true
  register: allfi_release
"""

RETURN = r"""
release:
  description: The release found.
  returned: success
  type: dict
  contains:
    tag:
      description: The git tag of the release.
      type: str
      sample: v1.2.0
    version:
      description: The version, without the leading C(v).
      type: str
      sample: 1.2.0
    prerelease:
      description: Whether the release is a prerelease.
      type: bool
      sample: false
    published_at:
      description: When the release was published (ISO 8601, UTC).
      type: str
      sample: "2025-01-08T09:30:00Z"
    name:
      description: The title of the release on GitHub, or an empty string.
      type: str
      sample: AllFi v1.2.0
    html_url:
      description: The web page of the release.
      type: str
      sample: https://github.com/your-finance/allfi/releases/tag/v1.2.0
    assets:
      description:
        - The platform archives of the release, keyed by platform (C(<os>-<arch>),
          for example C(linux-amd64), C(linux-arm64), C(darwin-amd64),
          C(darwin-arm64), or any other the release carries).
        - Each value has C(name) (file name), C(url) (where to download it),
          C(size) (bytes), C(sha256) (hex, or null only when
          O(allow_unverified=true) let an unverified asset through),
          C(sha256_source) (C(digest), the name of the checksum file it came from,
          or null), C(accept) (the C(Accept) header to send with the download),
          C(token_required) (true when C(url) is the API URL of the asset, to fetch
          with the token in an C(Authorization) header; send it to the API host only,
          never after a redirect to another host), and C(browser_download_url).
      type: dict
      sample:
        linux-amd64:
          name: allfi-1.2.0-linux-amd64.tar.gz
          url: https://api.github.com/repos/your-finance/allfi/releases/assets/2201
          size: 9437184
          sha256: 5f2b8a51d1e0c4b7f0a9a4e0e0b6c5d3f5e8a7c6b5d4e3f2a1b0c9d8e7f6a5b4
          sha256_source: digest
          accept: application/octet-stream
          token_required: true
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._github import (
    DEFAULT_API_URL,
    GitHubReleases,
    resolve_release,
)


def main() -> None:
    """Resolve the release and report it."""
    module = AnsibleModule(
        argument_spec={
            "repo": {"type": "str", "default": "your-finance/allfi"},
            "version": {"type": "str", "default": "latest"},
            "include_prereleases": {"type": "bool", "default": False},
            "api_url": {"type": "str", "default": DEFAULT_API_URL},
            "token": {
                "type": "str",
                "no_log": True,
                "fallback": (env_fallback, ["GITHUB_TOKEN"]),
            },
            "validate_certs": {"type": "bool", "default": True},
            "timeout": {"type": "float", "default": 30},
            "allow_unverified": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params

    try:
        client = GitHubReleases(
            params["repo"],
            api_url=params["api_url"],
            token=params["token"],
            validate_certs=params["validate_certs"],
            timeout=params["timeout"],
        )
        release, warnings = resolve_release(
            client,
            version=params["version"],
            include_prereleases=params["include_prereleases"],
            allow_unverified=params["allow_unverified"],
        )
    except AllfiOtaError as error:
        module.fail_json(
            msg=f"Resolving AllFi version {params['version']} of {params['repo']}"
            f" at {params['api_url']} failed: {error}"
        )

    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, release=release)


if __name__ == "__main__":
    main()
