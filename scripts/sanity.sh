#!/usr/bin/env bash
# Run `ansible-test sanity` on a fresh copy of the collection laid out as
# .build/sanity/ansible_collections/allfi/ota (ansible-test needs that shape).
# The copy holds what git tracks plus untracked files git does not ignore.
# Extra arguments go to ansible-test, e.g. `scripts/sanity.sh --test validate-modules`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv_bin="$repo/.venv/bin"
tree="$repo/.build/sanity/ansible_collections/allfi/ota"
python_version=3.11

log() { printf 'sanity: %s\n' "$*"; }

# One run at a time: runs share the copy and ansible-test's virtual environments.
mkdir -p "$repo/.build"
exec 9>"$repo/.build/sanity.lock"
if ! flock -n 9; then
  log "waiting for another sanity run to finish"
  flock 9
fi

log "copying the collection into $tree"
rm -rf "$repo/.build/sanity"
mkdir -p "$tree"
# ansible-test lists the files with git: the copy is a repository of its own.
(cd "$repo" && git ls-files -z -co --exclude-standard) |
  tar -C "$repo" --null -T - --ignore-failed-read -cf - 2>/dev/null |
  tar -C "$tree" -xf -
git -C "$tree" init -q

# ansible-test bootstraps pip in each sanity virtual environment with a script it
# downloads from a host that is not reachable here, unless the script is cached.
# The stand-in below uses the interpreter's own ensurepip, then pip from PyPI.
pip_version=$("$venv_bin/python" - <<'EOF'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig

print(get_venv_packages(NativePythonConfig(version="3.11"))["pip"])
EOF
)
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if ! grep -qs 'allfi.ota stand-in' "$get_pip"; then
  log "writing the pip bootstrap stand-in $get_pip"
  mkdir -p "$(dirname "$get_pip")"
  cat >"$get_pip" <<'EOF'
"""allfi.ota stand-in for get-pip.py: ensurepip, then pip install the arguments."""

import subprocess
import sys

DROPPED = {"--no-setuptools", "--no-wheel"}
args = [arg for arg in sys.argv[1:] if arg not in DROPPED]
subprocess.run(
    [sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
    check=True,
    stdout=subprocess.DEVNULL,
)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q", *args]))
EOF
fi

log "ansible-test sanity --requirements --python $python_version (in $tree)"
cd "$tree"
export PATH="$venv_bin:$PATH"
exec "$venv_bin/ansible-test" sanity --requirements --python "$python_version" \
  --color no "$@"
