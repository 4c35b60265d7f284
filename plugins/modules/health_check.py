#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: health_check
short_description: Wait until AllFi answers healthy several times in a row
version_added: "0.1.0"
author: allfi.ota developers (@allfi-ota)
description:
  - Asks AllFi's health endpoint from the managed host until it has seen
    O(successes) healthy answers in a row, or until O(timeout) seconds have passed.
  - An answer is healthy when it is HTTP 200 with a JSON envelope whose C(code) is
    0, whose C(data.status) is C(ok) and whose C(data.database.status) is C(ok).
    Anything else, and no answer at all, breaks the run of successes.
  - Fails with a message naming the URL and the last answer, unless
    O(fail_on_unhealthy=false).
  - Redirects are not followed.
options:
  url:
    description: The health URL, for example C(http://127.0.0.1:8080/api/v1/health).
    type: str
    required: true
  successes:
    description: Healthy answers needed in a row.
    type: int
    default: 3
  timeout:
    description: Seconds to keep asking before giving up.
    type: float
    default: 60
  interval:
    description: Seconds between two requests.
    type: float
    default: 1
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 5
  validate_certs:
    description: Whether to verify the TLS certificate of an https URL.
    type: bool
    default: true
  headers:
    description: Extra request headers; values are never returned or logged.
    type: dict
    default: {}
  fail_on_unhealthy:
    description:
      - Fail when the gate is not passed. With V(false), return RV(healthy=false)
        instead.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: The requests only read, so they are sent in check mode too.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Asks from the managed host, so that the URL may name 127.0.0.1.
seealso:
  - module: allfi.ota.process
"""

EXAMPLES = r"""
- name: Wait until AllFi is healthy three times in a row
  allfi.ota.health_check:
    url: http://127.0.0.1:8080/api/v1/health
    successes: 3
    timeout: 60

- name: Look at the health without failing
  allfi.ota.health_check:
    url: http://127.0.0.1:8080/api/v1/health
    successes: 1
    timeout: 5
    fail_on_unhealthy: false
  register: allfi_health
"""

RETURN = r"""
healthy:
  description: Whether O(successes) healthy answers came in a row before the timeout.
  returned: always
  type: bool
  sample: true
attempts:
  description: Requests sent.
  returned: always
  type: int
  sample: 4
consecutive:
  description: Healthy answers in a row at the end.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds spent.
  returned: always
  type: float
  sample: 2.013
url:
  description: The URL asked.
  returned: always
  type: str
  sample: http://127.0.0.1:8080/api/v1/health
last:
  description: The last answer.
  returned: always
  type: dict
  contains:
    status:
      description: HTTP status, or null when no answer came.
      type: int
      sample: 200
    body:
      description: The body, parsed when it is JSON, else its first 200 characters.
      type: raw
      sample:
        code: 0
        message: success
        data: {status: ok, database: {status: ok}}
    error:
      description: Why no answer came (connection refused, timed out...), or null.
      type: str
      sample: connection refused
    reason:
      description: Why the answer was judged unhealthy, or C(healthy).
      type: str
      sample: data.database.status is 'error', not 'ok'
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.allfi.ota.plugins.module_utils._health import (
    fetch,
    poll,
    summary,
)


def main() -> None:
    """Run the module."""
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "successes": {"type": "int", "default": 3},
            "timeout": {"type": "float", "default": 60},
            "interval": {"type": "float", "default": 1},
            "request_timeout": {"type": "float", "default": 5},
            "validate_certs": {"type": "bool", "default": True},
            "headers": {"type": "dict", "default": {}, "no_log": True},
            "fail_on_unhealthy": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    url = params["url"]
    if params["successes"] < 1:
        module.fail_json(msg=f"successes must be 1 or more, not {params['successes']}")

    # Ask until a verdict
    result = poll(
        lambda: fetch(
            url,
            timeout=params["request_timeout"],
            validate_certs=params["validate_certs"],
            headers=params["headers"],
        ),
        successes=params["successes"],
        timeout=params["timeout"],
        interval=params["interval"],
    )
    answer = {
        "changed": False,
        "healthy": result.healthy,
        "attempts": result.attempts,
        "consecutive": result.consecutive,
        "elapsed": result.elapsed,
        "url": url,
        "last": result.last,
    }
    if not result.healthy and params["fail_on_unhealthy"]:
        module.fail_json(
            msg=(
                f"AllFi at {url} was not healthy {params['successes']} times in a row"
                f" within {params['timeout']:g} s ({result.attempts} requests);"
                f" last answer: {summary(result.last)}"
            ),
            **answer,
        )
    module.exit_json(**answer)


if __name__ == "__main__":
    main()
