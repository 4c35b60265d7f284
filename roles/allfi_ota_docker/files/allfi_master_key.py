# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Give an env file an ALLFI_MASTER_KEY (32 random bytes, base64) unless it has one.

Prints "created" or "kept", never the key. The file is written private to its
owner (0600), through a temporary file renamed over it, so a reader sees the
old or the new file, never half of one. Runs with any Python 3 on the host.
"""

import base64
import os
import sys
import tempfile

KEY_PREFIX = "ALLFI_MASTER_KEY="


def read_lines(path: str) -> list:
    """Return the lines of the env file, or no lines when it does not exist."""
    try:
        with open(path, encoding="utf-8") as env_file:
            return env_file.read().splitlines()
    except FileNotFoundError:
        return []


def has_key(lines: list) -> bool:
    """Tell whether the lines set a non-empty master key."""
    return any(
        line.startswith(KEY_PREFIX) and line[len(KEY_PREFIX) :].strip()
        for line in lines
    )


def write_with_key(path: str, lines: list) -> None:
    """Write the lines, less any empty key line, plus a fresh key."""
    kept = [line for line in lines if not line.startswith(KEY_PREFIX)]
    key = base64.b64encode(os.urandom(32)).decode("ascii")
    content = "".join(line + "\n" for line in kept) + KEY_PREFIX + key + "\n"

    # Private temporary file, then rename
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".env.", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as env_file:
            env_file.write(content)
            env_file.flush()
            os.fsync(env_file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main() -> int:
    """Make sure the key exists and say whether it was created."""
    if len(sys.argv) != 2:
        sys.stderr.write("usage: allfi_master_key.py ENV_FILE\n")
        return 2
    path = sys.argv[1]
    lines = read_lines(path)
    if has_key(lines):
        print("kept")
        return 0
    write_with_key(path, lines)
    print("created")
    return 0


if __name__ == "__main__":
    sys.exit(main())
