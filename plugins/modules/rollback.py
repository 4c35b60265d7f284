#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rollback
short_description: Switch AllFi back to a kept release
version_added: "0.1.0"
author: allfi.ota developers (@allfi-ota)
description:
  - Switches the symlink C(<install_dir>/current) atomically to a release kept in
    C(<install_dir>/releases/) by M(allfi.ota.install), by default the one that was
    active before the current one.
  - Refuses a release whose files changed since it was installed, and fails clearly
    when there is nothing to roll back to.
  - Holds the same lock as M(allfi.ota.install) for the whole run.
options:
  install_dir:
    description: Folder that holds C(releases/), C(current) and C(.allfi-ota/).
    type: path
    default: /opt/allfi
  version:
    description:
      - The kept release to switch to, C(1.1.0) or C(v1.1.0), or the name of an adopted
        release such as C(adopted-3fa1c09d2b7e).
      - Default is the release that was active before the current one. When the last
        action on the host was already a rollback, the default does nothing, so that
        running the module twice does not switch back and forth.
    type: str
  lock_timeout:
    description:
      - Seconds to wait for another run on the same O(install_dir) to finish before
        failing.
    type: int
    default: 60
attributes:
  check_mode:
    description: Whether check mode is honoured, predicting changes without making them.
    support: full
  diff_mode:
    description: Whether the before and after state is returned in diff mode.
    support: full
  platform:
    description: The operating systems of the managed hosts this module runs on.
    support: full
    platforms: [linux, darwin]
notes:
  - Restart AllFi afterwards; this module only switches C(current).
seealso:
  - module: allfi.ota.install
  - module: allfi.ota.host_info
"""

EXAMPLES = r"""
- name: Roll back to the release that was active before
  allfi.ota.rollback:
    install_dir: /opt/allfi
  register: rolled_back

- name: Roll back to a given kept release
  allfi.ota.rollback:
    version: v1.1.0
"""

RETURN = r"""
version:
  description: The release active after the run.
  returned: always
  type: str
  sample: 1.1.0
rolled_back_from:
  description:
    - The release that was active before the rollback, or null when nothing changed
      (when the default target was skipped because the last action was a rollback,
      the release that rollback left).
  returned: always
  type: str
  sample: 1.2.0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._rollback import run_rollback


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec=dict(
            install_dir=dict(type="path", default="/opt/allfi"),
            version=dict(type="str"),
            lock_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    try:
        outcome = run_rollback(
            module.params, check_mode=module.check_mode, diff=module._diff
        )
    except AllfiOtaError as error:
        module.fail_json(
            msg=f"Could not roll back AllFi in {module.params['install_dir']}: {error}"
        )
    for warning in outcome.warnings:
        module.warn(warning)
    module.exit_json(**outcome.result)


if __name__ == "__main__":
    main()
