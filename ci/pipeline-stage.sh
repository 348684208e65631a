#!/usr/bin/env bash
# Run one CI/CD stage of the runbook automation: the same command from GitHub Actions, GitLab CI,
# Jenkins or a shell (docs/ci/README.md). Writes JUnit XML (junit callback) under
# $ARTIFACTS_DIR/junit and the stage's JSON/markdown reports under $ARTIFACTS_DIR, and exits
# non-zero when the stage's gate fails.
#
#   ci/pipeline-stage.sh pre-deploy-gate    <env>           # daily health check as a gate
#   ci/pipeline-stage.sh deploy             <env> IMAGE     # canary of IMAGE, promoted or rolled back
#   ci/pipeline-stage.sh post-deploy-verify <env> [IMAGE]   # verify the deploy; roll back automatically on failure
#
# <env> is an inventory under inventory/ (local, staging, production). Arguments after the
# stage's own are passed to ansible-playbook (e.g. -e deployment_name=...).
#
# Secrets come from the CI's secrets in the environment, and none is ever written under the checkout:
#   CLICKVIEW_VAULT_PASSWORD  the vault password;
#   CLICKVIEW_VAULT_YML       the environment's vault.yml (ansible-vault encrypted), its text; or
#   CLICKVIEW_VAULT_FILE      the path of that file outside the checkout (a GitLab file-type variable).
# The values are written to a private folder (mktemp -d, umask 077) under $RUNNER_TEMP, else $TMPDIR,
# else /tmp, removed when this script exits, whatever the outcome; ansible-playbook gets
# --vault-password-file and -e @vault.yml (the vault_* variables that the inventories read).
# The change reference the deploy stages need outside the lab (roles/change_guard): $CLICKVIEW_CHANGE_REFERENCE,
# else the pipeline run itself (GitHub Actions: the run's URL; GitLab: $CI_PIPELINE_URL), recorded in the
# incident timeline and reports as who changed what.
# Exit codes: 0 the stage passed; 2 it failed (a check FAIL, the canary or the deploy rolled
# back; ansible-playbook's code for a failed task); 4 a host unreachable; 64 a usage error.
set -euo pipefail
usage() {
  echo "usage: pipeline-stage.sh pre-deploy-gate|deploy|post-deploy-verify ENV [IMAGE] [ANSIBLE-PLAYBOOK ARGS...]" >&2
  [ -z "${1:-}" ] || echo "$1" >&2
  exit 64
}
[ $# -ge 2 ] || usage
stage=$1 env=$2
shift 2
cd "$(dirname "$0")/.."
case $stage in
  pre-deploy-gate | deploy | post-deploy-verify) ;;
  *) usage "unknown stage '$stage' (pre-deploy-gate, deploy, post-deploy-verify)" ;;
esac
[ -d "inventory/$env" ] || usage "unknown environment '$env' (no inventory/$env)"
if [ "$stage" = deploy ] && { [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; }; then usage "deploy needs IMAGE"; fi

artifacts=${ARTIFACTS_DIR:-reports/ci}
mkdir -p "$artifacts/junit"
artifacts=$(cd "$artifacts" && pwd)

secret_args=()
if [ -n "${CLICKVIEW_VAULT_PASSWORD:-}" ] || [ -n "${CLICKVIEW_VAULT_YML:-}" ]; then
  tmp=$(cd "${RUNNER_TEMP:-${TMPDIR:-/tmp}}" && pwd -P)
  case $tmp/ in "$(pwd -P)"/*) usage "the temporary folder $tmp is under the checkout: secrets are written outside it" ;; esac
  secrets=$(mktemp -d "$tmp/clickview-vault.XXXXXX")
  trap 'rm -rf "$secrets"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [ -n "${CLICKVIEW_VAULT_PASSWORD:-}" ]; then
    (umask 077 && printf '%s' "$CLICKVIEW_VAULT_PASSWORD" > "$secrets/vault_pass")
    secret_args+=(--vault-password-file "$secrets/vault_pass")
  fi
  if [ -n "${CLICKVIEW_VAULT_YML:-}" ]; then
    (umask 077 && printf '%s\n' "$CLICKVIEW_VAULT_YML" > "$secrets/vault.yml")
    secret_args+=(-e "@$secrets/vault.yml")
  fi
fi
if [ -n "${CLICKVIEW_VAULT_FILE:-}" ]; then
  secret_args+=(-e "@$CLICKVIEW_VAULT_FILE")
fi
unset CLICKVIEW_VAULT_PASSWORD CLICKVIEW_VAULT_YML   # not in the environment of ansible-playbook's tasks

export ANSIBLE_CALLBACKS_ENABLED=ansible.builtin.junit
export JUNIT_OUTPUT_DIR=$artifacts/junit
export JUNIT_TASK_CLASS=yes
export JUNIT_HIDE_TASK_ARGUMENTS=yes        # task arguments may hold secrets
export ANSIBLE_FORCE_COLOR=0

change_reference=${CLICKVIEW_CHANGE_REFERENCE:-}
if [ -z "$change_reference" ] && [ -n "${GITHUB_RUN_ID:-}" ]; then
  change_reference="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/$GITHUB_RUN_ID"
fi
change_reference=${change_reference:-${CI_PIPELINE_URL:-}}
reference_args=()
if [ -n "$change_reference" ]; then
  reference_args=(-e "$(python3 -c 'import json,sys; print(json.dumps({"change_reference": sys.argv[1]}))' "$change_reference")")
fi

run() {
  echo ">> ansible-playbook -i inventory/$env ${secret_args[*]:+${secret_args[*]} }${reference_args[*]:+${reference_args[*]} }$*"
  ansible-playbook -i "inventory/$env" "${secret_args[@]}" "${reference_args[@]}" "$@" \
    -e "{\"clickview_report_dir\": \"$artifacts\"}"
}

case $stage in
  pre-deploy-gate)
    run playbooks/health_check.yml "$@"
    ;;
  deploy)
    image=$1
    shift
    run playbooks/deploy_canary.yml -e "deployment_image=$image" "$@"
    ;;
  post-deploy-verify)
    if [ $# -ge 1 ] && [ "${1#-}" = "$1" ]; then
      image=$1
      shift
      set -- -e "deployment_image=$image" "$@"
    fi
    run playbooks/deploy_verify.yml "$@"
    ;;
esac
