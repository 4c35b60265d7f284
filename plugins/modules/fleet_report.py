#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_report
short_description: Render a fleet report as a table, JSON and Markdown
version_added: "0.1.0"
author: allfi.ota developers (@allfi-ota)
description:
  - Turns one row per host, collected by the allfi.ota playbooks, into a plain text
    table (returned, for the play output), and optionally writes the full rows as a
    JSON file and the table as a Markdown file.
  - With O(repo), lists the releases of that repository and adds to every row
    C(behind), the number of stable releases newer than the row's C(version), and
    C(newest), the highest stable version.
  - Meant to run on the controller (C(delegate_to=localhost), or in a play on
    C(localhost)). It changes nothing but the two report files, and only when their
    content differs.
options:
  rows:
    description:
      - One dict per host. Values may be strings, numbers, booleans, lists or null.
      - With O(repo), the key C(version) holds the host's active version.
    type: list
    elements: dict
    required: true
  columns:
    description:
      - Keys of the rows shown in the table and in the Markdown file, in order. The
        header is the key with underscores as spaces.
      - C(key:width) cuts the key's cells to that many characters in the text table
        only, for example C(sha256:12).
    type: list
    elements: str
    required: true
  title:
    description: Title of the Markdown file and of the JSON document.
    type: str
    default: AllFi fleet
  notes:
    description: Lines shown under the title of the Markdown file.
    type: list
    elements: str
    default: []
  json_path:
    description: File to write the report to as JSON (every key of every row).
    type: path
  markdown_path:
    description: File to write the report to as Markdown.
    type: path
  repo:
    description:
      - The GitHub repository that publishes AllFi, as C(owner/name). When set, its
        releases are listed to tell how far each host is behind.
    type: str
  api_url:
    description: Root URL of the GitHub REST API.
    type: str
    default: https://api.github.com
  token:
    description:
      - A GitHub token with read access to O(repo). When not set, the value of the
        E(GITHUB_TOKEN) environment variable is used. It never appears in results.
    type: str
  validate_certs:
    description: Whether to verify the API server's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each connection and read of the API.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
    description: In check mode no file is written; the module says whether one would be.
  diff_mode:
    support: none
    description: The files are reports, so no diff is shown.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller, or on any host with Python.
notes:
  - When the releases cannot be listed, the module warns and reports C(behind) and
    C(newest) as null instead of failing, so that a report is still written.
seealso:
  - module: allfi.ota.host_info
  - module: allfi.ota.release_info
"""

EXAMPLES = r"""
- name: Print the outcome of a rollout as a table
  allfi.ota.fleet_report:
    rows:
      - host: web1
        platform: linux-amd64
        version_before: 1.1.0
        version_after: 1.2.0
        result: upgraded
    columns: [host, platform, version_before, version_after, result]
  delegate_to: localhost
  register: summary

- name: Write the fleet status, with how far each host is behind
  allfi.ota.fleet_report:
    rows: "{{ status_rows }}"
    columns: [host, platform, version, "sha256:12", drift, service, health, behind]
    repo: your-finance/allfi
    title: AllFi fleet status
    json_path: reports/status.json
    markdown_path: reports/status.md
  delegate_to: localhost
"""

RETURN = r"""
rows:
  description: The rows, with C(behind) and C(newest) added when O(repo) is set.
  returned: always
  type: list
  elements: dict
  sample:
    - {host: web1, version: 1.2.0, behind: 1, newest: 1.3.0}
table:
  description: Lines of the text table, the header and a rule first.
  returned: always
  type: list
  elements: str
  sample:
    - "host  version  behind"
    - "----  -------  ------"
    - "web1  1.2.0    1"
markdown:
  description: The Markdown document.
  returned: always
  type: str
  sample: "# AllFi fleet\n\n| host | version |\n| --- | --- |\n| web1 | 1.2.0 |\n"
newest:
  description: The highest stable version of O(repo), or null without O(repo).
  returned: always
  type: str
  sample: 1.3.0
json_path:
  description: The JSON file written, or null.
  returned: always
  type: str
  sample: /home/ops/allfi-ota-report/status.json
markdown_path:
  description: The Markdown file written, or null.
  returned: always
  type: str
  sample: /home/ops/allfi-ota-report/status.md
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._github import (
    DEFAULT_API_URL,
    GitHubReleases,
    candidates,
)
from ansible_collections.allfi.ota.plugins.module_utils._report import (
    add_behind,
    parse_columns,
    render_json,
    render_markdown,
    render_table,
    stable_versions,
    write_report,
)


def list_stable(module: AnsibleModule) -> list | None:
    """The stable versions of the repo, or None (with a warning) when not listed."""
    params = module.params
    client = GitHubReleases(
        params["repo"],
        api_url=params["api_url"],
        token=params["token"],
        validate_certs=params["validate_certs"],
        timeout=params["timeout"],
    )
    try:
        releases = candidates(client.list_releases(), include_prereleases=False)
    except AllfiOtaError as error:
        module.warn(
            f"Could not list the releases of {params['repo']} at {params['api_url']},"
            f" so the report cannot tell how far hosts are behind: {error}"
        )
        return None
    return stable_versions(release.version.text for release in releases)


def main() -> None:
    """Render the report and write its files."""
    module = AnsibleModule(
        argument_spec={
            "rows": {"type": "list", "elements": "dict", "required": True},
            "columns": {"type": "list", "elements": "str", "required": True},
            "title": {"type": "str", "default": "AllFi fleet"},
            "notes": {"type": "list", "elements": "str", "default": []},
            "json_path": {"type": "path"},
            "markdown_path": {"type": "path"},
            "repo": {"type": "str"},
            "api_url": {"type": "str", "default": DEFAULT_API_URL},
            "token": {
                "type": "str",
                "no_log": True,
                "fallback": (env_fallback, ["GITHUB_TOKEN"]),
            },
            "validate_certs": {"type": "bool", "default": True},
            "timeout": {"type": "float", "default": 30},
        },
        supports_check_mode=True,
    )
    params = module.params
    rows = params["rows"]
    newest = None

    try:
        columns = parse_columns(params["columns"])
        if params["repo"]:
            stable = list_stable(module)
            if stable is not None:
                rows = add_behind(rows, stable)
                newest = stable[-1].text if stable else None
            else:
                rows = [{**row, "behind": None, "newest": None} for row in rows]
        markdown = render_markdown(rows, columns, params["title"], params["notes"])
        document = render_json(
            rows, params["title"], {"repo": params["repo"], "newest": newest}
        )

        changed = False
        if params["json_path"]:
            changed |= write_report(params["json_path"], document, module.check_mode)
        if params["markdown_path"]:
            changed |= write_report(
                params["markdown_path"], markdown, module.check_mode
            )
    except AllfiOtaError as error:
        module.fail_json(
            msg=f"Writing the fleet report '{params['title']}' failed: {error}"
        )

    module.exit_json(
        changed=changed,
        rows=rows,
        table=render_table(rows, columns),
        markdown=markdown,
        newest=newest,
        json_path=params["json_path"],
        markdown_path=params["markdown_path"],
    )


if __name__ == "__main__":
    main()
