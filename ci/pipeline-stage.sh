#!/usr/bin/env bash
# Run one CI/CD stage of the runbook automation: the same command from GitHub Actions, GitLab CI,
# Jenkins or a shell. Writes JUnit XML (junit callback) and the JSON/markdown reports under
# $ARTIFACTS_DIR, and exits non-zero when the stage's gate fails.
#
#   ci/pipeline-stage.sh pre-deploy-gate  <env>                 # daily health check as a gate
#   ci/pipeline-stage.sh deploy           <env> IMAGE           # canary deploy of IMAGE
#   ci/pipeline-stage.sh post-deploy-verify <env>               # health check + error-rate check, rollback on failure
#
# <env> is an inventory under inventory/ (local, staging, production). Extra arguments after
# the stage's own are passed to ansible-playbook (e.g. --vault-password-file FILE).
set -euo pipefail
stage=${1:?usage: pipeline-stage.sh STAGE ENV [ARGS...]}
env=${2:?usage: pipeline-stage.sh STAGE ENV [ARGS...]}
shift 2
cd "$(dirname "$0")/.."
artifacts=${ARTIFACTS_DIR:-reports/ci}
mkdir -p "$artifacts/junit"
artifacts=$(cd "$artifacts" && pwd)

export ANSIBLE_CALLBACKS_ENABLED=ansible.builtin.junit
export JUNIT_OUTPUT_DIR=$artifacts/junit
export JUNIT_TASK_CLASS=yes
export JUNIT_HIDE_TASK_ARGUMENTS=yes        # task arguments may hold secrets
export ANSIBLE_FORCE_COLOR=0

run() {
  echo ">> ansible-playbook -i inventory/$env $*"
  ansible-playbook -i "inventory/$env" "$@" -e "{\"clickview_report_dir\": \"$artifacts\"}"
}

case $stage in
  pre-deploy-gate)
    run playbooks/health_check.yml "$@"
    ;;
  deploy)
    image=${1:?deploy needs IMAGE}; shift
    run playbooks/deploy_canary.yml -e "deployment_image=$image" "$@"
    ;;
  post-deploy-verify)
    run playbooks/health_check.yml "$@"
    run playbooks/alert_high_error_rate.yml -e remediate=true "$@"
    ;;
  *)
    echo "unknown stage '$stage' (pre-deploy-gate, deploy, post-deploy-verify)" >&2
    exit 2
    ;;
esac
