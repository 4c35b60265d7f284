#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_info
short_description: Report an AllFi host's platform, releases, drift and service manager
version_added: "0.1.0"
author: allfi.ota developers (@allfi-ota)
description:
  - Reports the host's platform in AllFi's C(<os>-<arch>) naming, from the kernel
    (C(x86_64) is C(amd64), C(aarch64) and C(arm64) are C(arm64)). A CPU AllFi does not
    ship for is reported as unsupported with the kernel's name for it, never guessed.
  - Reports the active release of O(install_dir), the sha256 of its executable, the
    kept releases, whether files of the active release changed since they were
    installed (drift), the free space, and the service manager in use.
  - Reads only; takes no lock.
options:
  install_dir:
    description: Folder that holds C(releases/), C(current) and C(.allfi-ota/).
    type: path
    default: /opt/allfi
  binary_name:
    description:
      - Name of the executable, to find a hand-installed one at
        C(<install_dir>/<binary_name>).
    type: str
    default: allfi
attributes:
  check_mode:
    description: Whether check mode is honoured, predicting changes without making them.
    support: full
  diff_mode:
    description: Whether the before and after state is returned in diff mode.
    support: none
  platform:
    description: The operating systems of the managed hosts this module runs on.
    support: full
    platforms: [linux, darwin]
seealso:
  - module: allfi.ota.install
  - module: allfi.ota.rollback
"""

EXAMPLES = r"""
- name: Find the host's platform and active release
  allfi.ota.host_info:
    install_dir: /opt/allfi
  register: allfi_host

- name: Stop on a CPU AllFi does not ship for
  ansible.builtin.assert:
    that: allfi_host.platform_supported
    fail_msg: "AllFi ships no executable for CPU {{ allfi_host.machine }}"
"""

RETURN = r"""
platform:
  description:
    - AllFi's name for the host's platform, or null when AllFi ships nothing for it.
  returned: always
  type: str
  sample: linux-amd64
platform_supported:
  description: Whether AllFi publishes an asset for this host.
  returned: always
  type: bool
  sample: true
machine:
  description: The CPU as the kernel names it (C(uname -m)).
  returned: always
  type: str
  sample: x86_64
system:
  description: The kernel's name (C(uname -s)).
  returned: always
  type: str
  sample: Linux
install_dir:
  description: The normalised O(install_dir).
  returned: always
  type: str
  sample: /opt/allfi
version:
  description: Name of the active release (C(current)), or null when there is none.
  returned: always
  type: str
  sample: 1.2.0
sha256:
  description:
    - SHA-256 of the active executable as it is now, or of a hand-installed one when
      no release is active; null when there is neither.
  returned: always
  type: str
  sample: 0d7e2f9b8c1a4e3d6f5a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e
recorded_sha256:
  description: SHA-256 of the active executable recorded at install time, or null.
  returned: always
  type: str
  sample: 0d7e2f9b8c1a4e3d6f5a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e
previous_version:
  description: The release that was active before the current one, or null.
  returned: always
  type: str
  sample: 1.1.0
releases:
  description: Names of the kept releases, oldest version first.
  returned: always
  type: list
  elements: str
  sample: [1.1.0, 1.2.0]
drift:
  description: Whether files of the active release changed since they were installed.
  returned: always
  type: bool
  sample: false
drifted_files:
  description: Files of the active release that were changed, removed or added.
  returned: always
  type: list
  elements: str
  sample: [allfi]
unmanaged_binary:
  description: Path of a hand-installed executable not yet adopted, or null.
  returned: always
  type: str
  sample: /opt/allfi/allfi
unmanaged_version:
  description:
    - Version named by a C(VERSION) file beside the hand-installed executable, or null.
  returned: always
  type: str
  sample: 1.0.0
pending_operation:
  description:
    - An operation a killed run left unfinished, which the next install or rollback
      finishes or undoes; null when none.
  returned: always
  type: str
  sample: install of 1.2.0
free_bytes:
  description: Bytes free in O(install_dir), or in its nearest existing parent folder.
  returned: always
  type: int
  sample: 20401094656
free_bytes_path:
  description: The folder whose free space RV(free_bytes) reports.
  returned: always
  type: str
  sample: /opt
service_manager:
  description: The service manager in use.
  returned: always
  type: str
  choices: [systemd, openrc, sysvinit, launchd, none]
  sample: systemd
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._host_info import gather


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec=dict(
            install_dir=dict(type="path", default="/opt/allfi"),
            binary_name=dict(type="str", default="allfi"),
        ),
        supports_check_mode=True,
    )

    def run(command: list) -> int:
        if module.get_bin_path(command[0]) is None:
            return 127
        rc, _out, _err = module.run_command(command)
        return rc

    try:
        facts = gather(module.params["install_dir"], module.params["binary_name"], run)
    except (AllfiOtaError, OSError) as error:
        install_dir = module.params["install_dir"]
        module.fail_json(msg=f"Could not read AllFi's state in {install_dir}: {error}")
    module.exit_json(changed=False, **facts)


if __name__ == "__main__":
    main()
