#!/usr/bin/env bash
# Build the collection tarball, install it into an empty collections path, and check that
# ansible-doc lists and renders every plugin, that lab/ and benchmarks/ stay out of it, and that
# no local secret or cache file a checkout may hold gets into it (build_ignore in galaxy.yml).
# The build runs on a copy of the checkout (the files a commit would hold) into which such files
# are planted; the working tree is not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# not the checkout's ansible.cfg and its link to the checkout: only the installed copy counts
printf '[defaults]\n' > "$work/ansible.cfg"
export ANSIBLE_CONFIG=$work/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH=$work/collections

# The copy: tracked and untracked-but-not-ignored files (without git: all but .git and the tools).
tree=$work/tree
mkdir "$tree"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do
      if [ -e "$file" ] || [ -L "$file" ]; then printf '%s\0' "$file"; fi   # skip deleted tracked files
    done |
    tar -C "$root" --null -T - -cf - | tar -C "$tree" -xf -
else
  rsync -a --exclude=/.git --exclude=/.venv --exclude=/.venv-oldest --exclude=/.tools --exclude=/.collections "$root/" "$tree/"
fi
# Files a checkout may hold that must never be in the tarball (all git-ignored or never committed).
planted=(
  vault.yml .vault_pass .vault_pass.txt .vault_password staging.vault_pass inventory/staging/.vault_pass
  .env .env.production .envrc inventory/production/.env
  kubeconfig kubeconfig-staging .kube/config lab/.state/kubeconfig
  id_rsa id_ed25519 tls.key tls.pem client.p12 .pgpass .netrc
  inventory/production/group_vars/all/.vault.yml.swp inventory/staging/group_vars/all/vault.yml~
  reports/x.md reports/ci/junit/x.xml tests/output/x.txt dist/clickview-runbook-0.0.1.tar.gz x.retry
  plugins/modules/__pycache__/x.cpython-311.pyc plugins/filter/x.pyc
  .pytest_cache/x tests/unit/.pytest_cache/x .ruff_cache/x .mypy_cache/x .ansible/x roles/backups/.ansible/x
  .venv/x .venv-oldest/x .tools/x .collections/x
)
for inventory in "$tree"/inventory/*/; do
  planted+=("inventory/$(basename "$inventory")/group_vars/all/vault.yml")
done
for file in "${planted[@]}"; do
  mkdir -p "$tree/$(dirname "$file")"
  echo "planted by tests/build-smoke.sh: must not be in the collection tarball" > "$tree/$file"
done

ansible-galaxy collection build --output-path "$work" "$tree" >/dev/null
tarball=$(ls "$work"/clickview-runbook-*.tar.gz)
echo "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
listing=$(tar -tzf "$tarball")
leaked=0
if grep -E '^(lab|benchmarks|tests/output|\.venv|\.venv-oldest|\.tools|\.collections|reports)/' <<<"$listing"; then
  echo "FAIL: non-runtime folders are in the tarball (see build_ignore in galaxy.yml)" >&2; leaked=1
fi
for file in "${planted[@]}"; do
  if grep -qxF "$file" <<<"$listing"; then
    echo "FAIL: $file is in the tarball (see build_ignore in galaxy.yml)" >&2; leaked=1
  fi
done
[ $leaked = 0 ] || exit 1
echo "none of the ${#planted[@]} planted secret and cache files is in the tarball"
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
  # each plugin's page is its own: the documented name is the plugin's (a filter defined in a
  # file of another name would show that file's page)
  ansible-doc -t "$type" --json "$@" | python3 -c '
import json, sys
docs = {key: entry.get("doc") or {} for key, entry in json.load(sys.stdin).items()}
wrong = ["%s renders the page of %s" % (key, doc.get("module") or doc.get("name"))
         for key, doc in docs.items() if (doc.get("module") or doc.get("name")) != key.rsplit(".", 1)[-1]]
print("\n".join("FAIL: ansible-doc " + line for line in wrong), file=sys.stderr)
sys.exit(1 if wrong else 0)' || status=1
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
for file in "$root"/plugins/filter/*.py; do
  [ -e "$file" ] || continue
  filters+=("clickview.runbook.$(basename "${file%.*}")")
done
render_all filter FILTER "${filters[@]}"
# the other plugin types, one file each (callback: the oncall stdout callback; lookup)
for type in callback lookup; do
  plugins=()
  for file in "$root/plugins/$type"/*.py; do
    [ -e "$file" ] || continue
    name=$(basename "$file" .py)
    [ "$name" = __init__ ] && continue
    plugins+=("clickview.runbook.$name")
  done
  render_all "$type" "${type^^}" "${plugins[@]}"
done
roles=$(ansible-doc -t role -l clickview.runbook)
for dir in "$root"/roles/*/; do
  role=$(basename "$dir")
  grep -q "clickview.runbook.$role" <<<"$roles" || { echo "FAIL: role $role is not listed by ansible-doc -t role" >&2; status=1; }
done
echo "modules listed: $(grep -c '^clickview.runbook' <<<"$listed")"
[ $status = 0 ] && echo "build + install + ansible-doc: passed"
exit $status
