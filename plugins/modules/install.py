#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: install
short_description: Install an AllFi release atomically, keeping earlier releases
version_added: "0.1.0"
author: allfi.ota developers (@allfi-ota)
description:
  - Installs the release archive O(src) of AllFi into
    C(<install_dir>/releases/<version>/) and switches the symlink
    C(<install_dir>/current) to it atomically. Services run
    C(<install_dir>/current/<binary_name>).
  - The archive is streamed into a private temporary file under
    C(<install_dir>/.allfi-ota/tmp/), hashed as it arrives, and must match O(checksum)
    before anything is extracted. Only the executable, C(config.yaml) and
    C(webapp-dist/) of its one top folder are extracted; absolute names, C(..), links,
    devices, duplicate names, an empty executable, one over O(max_size) and one whose
    ELF or Mach-O header does not match the host's OS and CPU are refused.
  - Idempotent without the network, when the wanted version is active and its files
    still have the sha256 recorded at install time, nothing is downloaded.
    When files of the release changed since (drift, for example AllFi's in-app updater
    overwrote its executable), the release is installed again and the changed files
    are reported in RV(drift).
  - A hand-installed executable, a regular file at C(<install_dir>/<binary_name>), is
    adopted on the first run, kept as a release named after its version
    (O(adopt_version), else a C(VERSION) file beside it) or
    C(adopted-<first 12 hex of its sha256>), and
    replaced by a symlink to C(current/<binary_name>) so that service units which run
    it keep working.
  - An exclusive lock is held for the whole run, and every step is recorded in
    C(<install_dir>/.allfi-ota/journal.json) first, so that the next run finishes or
    undoes an operation that was killed half-way. Every failure leaves the active
    release as it was and removes the temporary files.
options:
  src:
    description:
      - The release archive, C(allfi-<version>-<os>-<arch>.tar.gz), as an C(http://) or
        C(https://) URL or as an absolute path on the managed host.
    type: str
    required: true
  checksum:
    description:
      - The archive's SHA-256 as C(sha256:<hex>), the form of GitHub's asset C(digest).
    type: str
    required: true
  version:
    description:
      - The version the archive holds, C(1.2.0) or C(v1.2.0). The release folder is
        named without the C(v).
    type: str
    required: true
  install_dir:
    description: Folder that holds C(releases/), C(current) and C(.allfi-ota/).
    type: path
    default: /opt/allfi
  binary_name:
    description: Name of the executable inside the archive's top folder.
    type: str
    default: allfi
  keep_releases:
    description:
      - How many releases to keep, the active one included. The active release and the
        one it replaced are always kept, whatever this says.
    type: int
    default: 3
  allow_downgrade:
    description: Install a version lower than the active one instead of refusing.
    type: bool
    default: false
  activate:
    description:
      - Switch C(current) to the installed release. With V(false) the release is only
        placed in C(releases/), for a later switch.
    type: bool
    default: true
  owner:
    description:
      - User (name or uid) that owns the installed files. Default is the user running
        the module.
    type: str
  group:
    description: Group (name or gid) of the installed files.
    type: str
  validate_certs:
    description: Verify the TLS certificate of an C(https://) O(src).
    type: bool
    default: true
  headers:
    description:
      - HTTP headers sent with the download, for example an C(Authorization) header for
        a private repository. Every one of them is dropped when a redirect leads to
        another host, scheme or port.
    type: dict
    default: {}
  max_size:
    description: Largest archive, and largest extracted executable, accepted, in bytes.
    type: int
    default: 1073741824
  lock_timeout:
    description:
      - Seconds to wait for another run on the same O(install_dir) to finish before
        failing.
    type: int
    default: 60
  adopt_version:
    description:
      - Version of a hand-installed executable at C(<install_dir>/<binary_name>), used
        to name its release when it is adopted. Without it, a C(VERSION) file beside
        the executable is read; else the release is named C(adopted-<12 hex>).
    type: str
attributes:
  check_mode:
    description: Whether check mode is honoured, predicting changes without making them.
    support: full
    details:
      - Nothing is downloaded in check mode, so RV(sha256) is null when a download
        would be needed to know it.
  diff_mode:
    description: Whether the before and after state is returned in diff mode.
    support: full
  platform:
    description: The operating systems of the managed hosts this module runs on.
    support: full
    platforms: [linux, darwin]
notes:
  - C(<install_dir>/releases/), C(current) and C(.allfi-ota/) belong to this module.
    Keep configuration, secrets and data outside C(releases/); no upgrade touches them.
  - Leave updates of managed hosts to this collection. AllFi's in-app updater
    overwrites the executable inside a kept release; this module reports that as drift
    and installs the release again.
seealso:
  - module: allfi.ota.rollback
  - module: allfi.ota.host_info
  - module: allfi.ota.release_info
"""

EXAMPLES = r"""
- name: Install AllFi 1.2.0 from GitHub
  allfi.ota.install:
    src: https://github.com/your-finance/allfi/releases/download/v1.2.0/allfi-1.2.0-linux-amd64.tar.gz
    checksum: sha256:5f1c2d0e4b3a69788e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817
    version: v1.2.0

- name: Install from an archive already copied to the host, owned by the service user
  allfi.ota.install:
    src: /var/tmp/allfi-1.3.0-linux-arm64.tar.gz
    checksum: "{{ allfi_checksum }}"
    version: 1.3.0
    install_dir: /srv/allfi
    owner: allfi
    group: allfi
    keep_releases: 5

- name: Go back to an older release on purpose
  allfi.ota.install:
    src: "{{ release.asset_url }}"
    checksum: "{{ release.digest }}"
    version: 1.1.0
    allow_downgrade: true
    headers:
      Authorization: "Bearer {{ github_token }}"
  register: installed
"""

RETURN = r"""
version:
  description: The installed version, without a leading C(v).
  returned: always
  type: str
  sample: 1.2.0
previous_version:
  description:
    - The release that was active before this run (after adopting a hand-installed
      executable), or null. Equal to RV(version) when the active release did not change.
  returned: always
  type: str
  sample: 1.1.0
release_path:
  description: Folder of the installed release.
  returned: always
  type: str
  sample: /opt/allfi/releases/1.2.0
binary:
  description: Path of the installed executable inside its release folder.
  returned: always
  type: str
  sample: /opt/allfi/releases/1.2.0/allfi
sha256:
  description:
    - SHA-256 of the installed executable. Null in check mode when the archive would
      have to be downloaded to know it.
  returned: always
  type: str
  sample: 0d7e2f9b8c1a4e3d6f5a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e
pruned:
  description: Releases removed because of O(keep_releases).
  returned: always
  type: list
  elements: str
  sample: [1.0.0]
adopted:
  description:
    - Name of the release made from a hand-installed executable during this run, or
      null.
  returned: always
  type: str
  sample: adopted-3fa1c09d2b7e
drift:
  description:
    - Files of the release that had changed since it was installed and were installed
      again. Empty when there was no drift.
  returned: always
  type: list
  elements: str
  sample: [allfi]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._install import run_install


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="str", required=True),
            checksum=dict(type="str", required=True),
            version=dict(type="str", required=True),
            install_dir=dict(type="path", default="/opt/allfi"),
            binary_name=dict(type="str", default="allfi"),
            keep_releases=dict(type="int", default=3),
            allow_downgrade=dict(type="bool", default=False),
            activate=dict(type="bool", default=True),
            owner=dict(type="str"),
            group=dict(type="str"),
            validate_certs=dict(type="bool", default=True),
            headers=dict(type="dict", default={}, no_log=True),
            max_size=dict(type="int", default=1073741824),
            lock_timeout=dict(type="int", default=60),
            adopt_version=dict(type="str"),
        ),
        supports_check_mode=True,
    )

    selinux = None
    if module.selinux_enabled():

        def selinux(path: str) -> None:
            module.set_default_selinux_context(path, False)

    try:
        outcome = run_install(
            module.params,
            check_mode=module.check_mode,
            diff=module._diff,
            selinux=selinux,
        )
    except AllfiOtaError as error:
        module.fail_json(msg=str(error))
    for warning in outcome.warnings:
        module.warn(warning)
    module.exit_json(**outcome.result)


if __name__ == "__main__":
    main()
