#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection placed under ansible_collections/clickview/runbook.
# ansible-test builds its own virtualenvs (--venv, local Python 3.11, no container engine) and
# bootstraps pip in them with a get-pip script it downloads from a host that is not on PyPI.
# We provide that script from the pip 24.2 wheel on PyPI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/.venv
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

cache=$HOME/.ansible/test/cache
if [ ! -f "$cache/get_pip_24_2.py" ] || [ ! -f "$cache/pip-24.2-py3-none-any.whl" ]; then
  mkdir -p "$cache"
  "$venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$cache" pip==24.2
  cat > "$cache/get_pip_24_2.py" <<'PY'
"""Stand-in for get-pip.py 24.2: installs pip from the pip 24.2 wheel beside this file."""
import os
import sys

wheel = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-24.2-py3-none-any.whl")
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
