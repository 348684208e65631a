#!/usr/bin/env bash
# Build the collection tarball, install it into an empty collections path, and check that
# ansible-doc lists and renders every plugin, and that lab/ and benchmarks/ stay out of it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# not the checkout's ansible.cfg and its link to the checkout: only the installed copy counts
printf '[defaults]\n' > "$work/ansible.cfg"
export ANSIBLE_CONFIG=$work/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH=$work/collections

ansible-galaxy collection build --output-path "$work" "$root" >/dev/null
tarball=$(ls "$work"/clickview-runbook-*.tar.gz)
echo "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
if tar -tzf "$tarball" | grep -E '^(lab|benchmarks|tests/output|\.venv|\.tools|\.collections|reports)/' ; then
  echo "FAIL: non-runtime folders are in the tarball (see build_ignore in galaxy.yml)" >&2; exit 1
fi
ansible-galaxy collection install --offline --no-deps -p "$work/collections" "$tarball" >/dev/null
cd "$work"

listed=$(ansible-doc -l clickview.runbook)
status=0
for file in "$root"/plugins/modules/*.py; do
  name=$(basename "$file" .py)
  [ "$name" = __init__ ] && continue
  if ! grep -q "^clickview.runbook.$name " <<<"$listed"; then
    echo "FAIL: ansible-doc -l does not list clickview.runbook.$name" >&2; status=1; continue
  fi
  ansible-doc "clickview.runbook.$name" >/dev/null || { echo "FAIL: ansible-doc cannot render $name" >&2; status=1; }
done
for file in "$root"/plugins/filter/*.py "$root"/plugins/filter/*.yml; do
  [ -e "$file" ] || continue
  name=$(basename "${file%.*}")
  ansible-doc -t filter "clickview.runbook.$name" >/dev/null || { echo "FAIL: filter $name has no rendered doc" >&2; status=1; }
done
roles=$(ansible-doc -t role -l clickview.runbook)
for dir in "$root"/roles/*/; do
  role=$(basename "$dir")
  grep -q "clickview.runbook.$role" <<<"$roles" || { echo "FAIL: role $role is not listed by ansible-doc -t role" >&2; status=1; }
done
echo "modules listed: $(grep -c '^clickview.runbook' <<<"$listed")"
[ $status = 0 ] && echo "build + install + ansible-doc: passed"
exit $status
