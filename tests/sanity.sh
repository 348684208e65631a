#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection placed under ansible_collections/clickview/runbook.
# ansible-test builds its own virtualenvs (--venv, local Python 3.11, no container engine) and
# bootstraps pip in them with a get-pip script it downloads from a host that is not on PyPI.
# We provide that script from the pip wheel on PyPI instead (pip 24.2 for ansible-core 2.19,
# 23.1.2 for 2.16: the version the venv's ansible-test asks for).
# CLICKVIEW_VENV=.venv-oldest tests/sanity.sh runs the ansible-test of that virtualenv (the oldest
# ansible-core meta/runtime.yml supports, make venv-oldest) instead of .venv's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$(cd "${CLICKVIEW_VENV:-$root/.venv}" && pwd)
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible_test=$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
# the pip version ansible-test bootstraps in its virtualenvs (the first, for current Pythons)
pip_version=$(grep -m1 -oP "^\s*pip='\K[0-9.]+(?=')" "$ansible_test/_internal/python_requirements.py") ||
  { echo "cannot tell which pip $ansible_test bootstraps" >&2; exit 1; }
pip_id=${pip_version//./_}

cache=$HOME/.ansible/test/cache
if [ ! -f "$cache/get_pip_$pip_id.py" ] || [ ! -f "$cache/pip-$pip_version-py3-none-any.whl" ]; then
  mkdir -p "$cache"
  "$venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$cache" "pip==$pip_version"
  sed "s/@PIP_VERSION@/$pip_version/g" > "$cache/get_pip_$pip_id.py" <<'PY'
"""Stand-in for get-pip.py @PIP_VERSION@: installs pip from the pip @PIP_VERSION@ wheel beside this file."""
import os
import sys

wheel = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-@PIP_VERSION@-py3-none-any.whl")
sys.path.insert(0, wheel)
from pip._internal.cli.main import main  # noqa: E402

# like get-pip.py: --no-setuptools/--no-wheel are its own flags; the pip requirement is the wheel
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel") and not a.startswith("pip==")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", wheel] + args))
PY
fi

command -v shellcheck >/dev/null || { echo "shellcheck is missing (make apt installs it); sanity would skip shell scripts" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/clickview/runbook
mkdir -p "$dest"
# tracked files plus new ones that are not ignored: what a commit would hold. lab/ and
# benchmarks/ are left out: they are lab and measurement tooling, not collection content, and
# are kept out of the built collection too (build_ignore in galaxy.yml).
git ls-files -z --cached --others --exclude-standard -- . ':!lab' ':!benchmarks' |
  rsync -a --from0 --files-from=- ./ "$dest/"
# the dependency collections (amazon.aws, kubernetes.core, ...) beside ours, as ansible-test expects
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections
for namespace in "$site"/*/; do
  name=$(basename "$namespace")
  case $name in clickview|__pycache__) continue ;; esac
  ln -s "$namespace" "$work/ansible_collections/$name"
done
cd "$dest"
git init -q . && git add -A >/dev/null   # ansible-test finds the collection's files through git
"$venv/bin/ansible-test" sanity --venv --python "$python_version" --color no "$@"
