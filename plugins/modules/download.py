#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: download
short_description: Download a release archive into a cache, verified by its SHA-256
version_added: "0.1.0"
author: allfi.ota developers (@allfi-ota)
description:
  - Downloads O(url) into O(dest), streamed to a temporary file in the same folder
    and hashed as it arrives; the file takes its place only when its SHA-256 equals
    O(checksum).
  - Nothing is downloaded when O(dest) already holds a file with that SHA-256, so a
    cache on the controller serves every batch of a rollout with one download.
  - Redirects are followed by the collection's own code, which drops the headers
    named in O(headers), and C(Authorization) in any case, once a redirect leads to
    another host, so a GitHub token never reaches the object store.
  - The allfi_ota role runs it on the controller (C(delegate_to=localhost)) to fetch
    each platform's archive once before copying it to the hosts.
options:
  url:
    description: The http(s) URL to download.
    type: str
    required: true
  dest:
    description: Absolute path of the file to write. Its folder is created when missing.
    type: path
    required: true
  checksum:
    description: The expected digest, as C(sha256:<64 hex digits>).
    type: str
    required: true
  headers:
    description:
      - Request headers, for example C(Authorization) and C(Accept) for a GitHub
        asset API URL. Values are never returned or logged.
    type: dict
    default: {}
  validate_certs:
    description: Whether to verify TLS certificates.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each connection and read.
    type: float
    default: 60
  max_size:
    description: Largest download accepted, in bytes.
    type: int
    default: 1073741824
  mode:
    description: File mode of O(dest).
    type: raw
    default: "0644"
attributes:
  check_mode:
    support: full
    description: Says whether a download is due, and downloads and writes nothing.
  diff_mode:
    support: none
    description: No diff is returned.
  platform:
    support: full
    platforms: posix
    description: On the controller (C(delegate_to=localhost)) or any host with Python.
seealso:
  - module: allfi.ota.release_info
  - module: allfi.ota.install
"""

EXAMPLES = r"""
- name: Fetch the linux-amd64 archive into the controller's cache
  allfi.ota.download:
    url: "{{ asset.url }}"
    checksum: "sha256:{{ asset.sha256 }}"
    dest: "~/.cache/allfi.ota/your-finance/allfi/{{ release.tag }}/{{ asset.name }}"
    headers:
      Accept: "{{ asset.accept }}"
  vars:
    asset: "{{ release.assets['linux-amd64'] }}"
  delegate_to: localhost
"""

RETURN = r"""
dest:
  description: Path of the file.
  returned: always
  type: str
  sample: /root/.cache/allfi.ota/owner/repo/v1.2.0/allfi-1.2.0-linux-amd64.tar.gz
sha256:
  description: SHA-256 of the file (in check mode, the expected one).
  returned: always
  type: str
  sample: 5f2b8a51d1e0c4b7f0a9a4e0e0b6c5d3f5e8a7c6b5d4e3f2a1b0c9d8e7f6a5b4
size:
  description: Size of the file in bytes, or null in check mode when a download is due.
  returned: always
  type: int
  sample: 9437184
downloaded:
  description: Whether the file was downloaded (or would be, in check mode).
  returned: always
  type: bool
  sample: true
"""

import contextlib
import hashlib
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._http import (
    display_url,
    download,
)

_CHECKSUM = re.compile(r"^sha256:([0-9a-fA-F]{64})$")


def _file_sha256(path: str) -> str | None:
    """SHA-256 of an existing file, None when there is none."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def _fetch(params: dict, expected: str) -> tuple[int, str]:
    """Download into a temporary file next to dest, verify, rename over dest."""
    dest = params["dest"]
    folder = os.path.dirname(dest)
    os.makedirs(folder, mode=0o755, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".download-")
    try:
        with os.fdopen(fd, "w+b") as stream:
            result = download(
                params["url"],
                stream,
                headers=params["headers"],
                sensitive_headers=["authorization", *map(str.lower, params["headers"])],
                timeout=params["timeout"],
                validate_certs=params["validate_certs"],
                max_bytes=params["max_size"],
            )
            os.fsync(stream.fileno())
        if result.sha256 != expected:
            raise AllfiOtaError(
                f"checksum check: got sha256:{result.sha256}, expected"
                f" sha256:{expected} ({result.size} bytes received)"
            )
        os.replace(temporary, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return result.size, result.sha256


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "checksum": {"type": "str", "required": True},
            "headers": {"type": "dict", "default": {}, "no_log": True},
            "validate_certs": {"type": "bool", "default": True},
            "timeout": {"type": "float", "default": 60},
            "max_size": {"type": "int", "default": 1073741824},
            "mode": {"type": "raw", "default": "0644"},
        },
        supports_check_mode=True,
    )
    params = module.params
    dest = params["dest"]
    match = _CHECKSUM.match(params["checksum"].strip())
    if match is None:
        module.fail_json(msg="checksum must be sha256: followed by 64 hex digits")
    expected = match.group(1).lower()

    # Decide
    current = _file_sha256(dest)
    result = {
        "changed": current != expected,
        "dest": dest,
        "sha256": expected,
        "size": os.path.getsize(dest) if current == expected else None,
        "downloaded": current != expected,
    }
    if current != expected and not module.check_mode:
        try:
            result["size"], result["sha256"] = _fetch(params, expected)
        except AllfiOtaError as error:
            module.fail_json(
                msg=f"Cannot download {display_url(params['url'])} to {dest}: {error}",
                **result,
            )
    if not module.check_mode and os.path.exists(dest):
        file_args = module.load_file_common_arguments(
            {"path": dest, "mode": params["mode"]}
        )
        result["changed"] = module.set_fs_attributes_if_different(
            file_args, result["changed"]
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
