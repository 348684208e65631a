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

export ANSIBLE_NOCOLOR=1
listed=$(ansible-doc -l clickview.runbook)
status=0
# render_all TYPE HEADER NAME...: one ansible-doc for every plugin of a type (each call starts
# Ansible and loads the collections again); a plugin it cannot render has no "> HEADER name" section
render_all() {
  local type=$1 header=$2; shift 2
  [ $# -gt 0 ] || return 0
  local rendered name
  rendered=$(ansible-doc -t "$type" "$@") || status=1
  for name in "$@"; do
    grep -q "^> $header $name " <<<"$rendered" || { echo "FAIL: ansible-doc cannot render $type ${name#clickview.runbook.}" >&2; status=1; }
  done
}
modules=()
for file in "$root"/plugins/modules/*.py; do
  name=$(basename "$file" .py)
  [ "$name" = __init__ ] && continue
  if ! grep -q "^clickview.runbook.$name " <<<"$listed"; then
    echo "FAIL: ansible-doc -l does not list clickview.runbook.$name" >&2; status=1; continue
  fi
  modules+=("clickview.runbook.$name")
done
render_all module MODULE "${modules[@]}"
filters=()
for file in "$root"/plugins/filter/*.py "$root"/plugins/filter/*.yml; do
  [ -e "$file" ] || continue
  filters+=("clickview.runbook.$(basename "${file%.*}")")
done
render_all filter FILTER "${filters[@]}"
roles=$(ansible-doc -t role -l clickview.runbook)
for dir in "$root"/roles/*/; do
  role=$(basename "$dir")
  grep -q "clickview.runbook.$role" <<<"$roles" || { echo "FAIL: role $role is not listed by ansible-doc -t role" >&2; status=1; }
done
echo "modules listed: $(grep -c '^clickview.runbook' <<<"$listed")"
[ $status = 0 ] && echo "build + install + ansible-doc: passed"
exit $status
