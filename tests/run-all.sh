#!/usr/bin/env bash
# make test: start the lab, run every gate, stop the lab (whatever happens), exit non-zero
# if any gate failed. JUnit files for CI land in tests/output/junit/.
#
# Two streams share the machine's cores. The foreground one starts the lab and runs the tests of
# the shared lab; meanwhile a background stream runs the gates that need no lab (unit tests, the
# integration tests that bring their own private services, the stand-in fidelity tests, promtool,
# ansible-lint, ansible-test sanity, build + ansible-doc; the unit tests and sanity again on the
# oldest ansible-core meta/runtime.yml supports, in .venv-oldest) and, once the lab is up, the lab tests
# that only read the shared services or use resources of their own there. The lab's tests spend
# much of their time waiting on services, so the second stream uses what would be an idle core.
# The background gates' output is kept in tests/output/logs/ and shown, gate by gate, once done.
# CLICKVIEW_SERIAL_GATES=1 runs every gate in the foreground, one after the other.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
export PATH=$root/.venv/bin:$root/.tools/bin:$PATH
export ANSIBLE_CONFIG=$root/ansible.cfg
export CLICKVIEW_STRICT_SKIPS=1   # a skipped test fails the run (tests/conftest.py)
junit=$root/tests/output/junit
logs=$root/tests/output/logs
rm -rf "$logs"
mkdir -p "$junit" "$logs"
started=$SECONDS

# A few end-to-end tests depend on timing on a loaded 2-core machine (OOM kills in the stand-in,
# module waits); a failure is retried once and reported as a rerun in the output and JUnit.
reruns=(--reruns 1 --reruns-delay 5)
pytest=(python -m pytest -q -p no:cacheprovider)
# Integration tests that use only services of their own (a private Kubernetes API stand-in,
# Prometheus, sample backend, incident folders): they neither need the lab nor disturb it, and
# run in the background stream. Every other file in tests/integration runs against the lab.
private_tests=(
  tests/integration/test_k8s_rollback.py
  tests/integration/test_deployment.py
  tests/integration/test_scaling_k8s.py
  tests/integration/test_post_incident_review.py
  tests/integration/test_timeouts.py
  tests/integration/test_webhook_post.py
  tests/integration/test_server_versions.py
)
# Lab tests that only read the shared services or use things of their own there (their own WAF
# IP sets and S3 objects, a Redis database of their own, a private PostgreSQL cluster, their own Kubernetes namespace and
# Prometheus, their own database roles and tokens) and never stop, fault or reconfigure a shared
# service: they run in the background stream once the lab is up, beside the other lab tests, and
# are done before the drill starts.
lab_isolated_tests=(
  tests/integration/test_backups.py
  tests/integration/test_waf_block_ip.py
  tests/integration/test_access_check.py
  tests/integration/test_health_check_backups.py
  tests/integration/test_lab_ingress.py
  tests/integration/test_lab_iam.py
  tests/integration/test_session_purge.py
  tests/integration/test_pipeline_stages.py::test_deploy_and_verify_pass_then_a_bad_deploy_is_rolled_back
)
# The game-day drill changes the shared lab's backend, database and WAF: it runs on its own,
# after every other test of the shared lab.
drill_test=tests/integration/test_game_day_drill.py
lab_tests=(tests/integration --ignore "$drill_test")
for file in "${private_tests[@]}"; do lab_tests+=(--ignore "$file"); done
for test in "${lab_isolated_tests[@]}"; do
  case $test in *::*) lab_tests+=(--deselect "$test") ;; *) lab_tests+=(--ignore "$test") ;; esac
done

failed=()
results=()
gate() {
  local name=$1; shift
  local start=$SECONDS
  echo
  echo "=== $name: $*"
  if "$@"; then
    results+=("passed  $name ($((SECONDS - start))s)")
  else
    results+=("FAILED  $name ($((SECONDS - start))s)")
    failed+=("$name")
  fi
}

# bg_gate NAME CMD...: like gate, in the background stream: output to a log, result to a list
bg_count=0
bg_gate() {
  local name=$1; shift
  local start=$SECONDS status=passed
  bg_count=$((bg_count + 1))
  local log
  log=$logs/$(printf '%02d' "$bg_count")-$(tr -cs 'a-zA-Z0-9' '-' <<<"$name" | cut -c1-50 | sed 's/-$//').log
  { echo "=== $name: $*"; "$@"; } >"$log" 2>&1 || status=FAILED
  printf '%s\t%s\t%s\t%s\n' "$status" "$((SECONDS - start))" "$name" "$log" >>"$logs/background.tsv"
}

# the oldest supported ansible-core (requires_ansible in meta/runtime.yml): .venv-oldest is set up by
# the background stream itself (make venv-oldest), while the foreground starts the lab
oldest=$root/.venv-oldest
# on_oldest CMD...: run CMD with .venv-oldest's python, ansible-playbook, ansible-galaxy, ... first on PATH;
# fail when .venv-oldest was not set up (never fall through to .venv's ansible-core)
on_oldest() {
  if [ ! -x "$oldest/bin/python" ]; then
    echo "$oldest was not set up (make venv-oldest failed): not running $*"
    return 1
  fi
  PATH=$oldest/bin:$PATH "$@"
}

kubectl_version=$(kubectl version --client -o json 2>/dev/null |
                  python -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
labless_gates() {   # $1: gate or bg_gate
  local run=$1
  $run "unit tests" "${pytest[@]}" --junitxml="$junit/unit.xml" tests/unit
  $run "integration tests (private services)" \
    "${pytest[@]}" "${reruns[@]}" --junitxml="$junit/integration-private.xml" "${private_tests[@]}"
  $run "integration tests (lab, own resources)" wait_for_lab \
    "${pytest[@]}" "${reruns[@]}" --junitxml="$junit/integration-lab-own.xml" "${lab_isolated_tests[@]}"
  touch "$logs/lab-own.done"
  if [ -d tests/standin ]; then
    $run "Kubernetes API stand-in fidelity tests (kubectl $kubectl_version)" \
      "${pytest[@]}" "${reruns[@]}" --junitxml="$junit/standin.xml" tests/standin
  fi
  $run "Prometheus alert rules (promtool check + test)" bash -c \
    'promtool check rules extensions/prometheus/clickview-runbook-rules.yml lab/config/rules.yml &&
     promtool test rules extensions/prometheus/tests/clickview-runbook-rules.test.yml'
  $run "ansible-lint (production profile)" ansible-lint --nocolor -q
  $run "ansible-test sanity" tests/sanity.sh
  $run "set up .venv-oldest (make venv-oldest)" make -s venv-oldest
  local oldest_core
  oldest_core=$("$oldest/bin/python" -c 'from ansible.release import __version__; print(__version__)' 2>/dev/null || echo missing)
  $run "unit tests (ansible-core $oldest_core)" on_oldest "${pytest[@]}" --junitxml="$junit/unit-oldest.xml" tests/unit
  $run "ansible-test sanity (ansible-core $oldest_core)" env CLICKVIEW_VENV="$oldest" tests/sanity.sh
  $run "build + install + ansible-doc" tests/build-smoke.sh
}

# wait_for_lab CMD...: run CMD once the foreground has started the lab; fail if it could not
wait_for_lab() {
  local waited=0
  until [ -f "$logs/lab.up" ]; do
    if [ -f "$logs/lab.failed" ] || [ $waited -ge 900 ]; then
      echo "the lab did not start: not running $*"
      return 1
    fi
    sleep 2; waited=$((waited + 2))
  done
  "$@"
}

bg_pid=
stop() {
  if [ -n "$bg_pid" ] && kill -0 "$bg_pid" 2>/dev/null; then
    echo "=== stopping the background gates"
    pkill -TERM -P "$bg_pid" 2>/dev/null
    kill "$bg_pid" 2>/dev/null
  fi
  echo; echo "=== stopping the lab"; python lab/labctl.py down
}
trap stop EXIT

if [ "${CLICKVIEW_SERIAL_GATES:-0}" != 1 ]; then
  echo "=== background stream (output shown at the end): gates that need no lab"
  ( labless_gates bg_gate; echo finished >"$logs/background.done" ) &
  bg_pid=$!
fi

echo "=== starting the lab"
if python lab/labctl.py up; then
  touch "$logs/lab.up"
  gate "integration tests (lab)" \
    "${pytest[@]}" "${reruns[@]}" --junitxml="$junit/integration.xml" "${lab_tests[@]}"
  # the drill has the lab to itself: wait for the background stream's lab tests
  while [ -n "$bg_pid" ] && [ ! -f "$logs/lab-own.done" ] && kill -0 "$bg_pid" 2>/dev/null; do sleep 2; done
  gate "game-day drill (lab)" "${pytest[@]}" --junitxml="$junit/game-day.xml" "$drill_test"
else
  touch "$logs/lab.failed"
  results+=("FAILED  starting the lab")
  failed+=("starting the lab")
fi

if [ -n "$bg_pid" ]; then
  echo
  echo "=== waiting for the background gates"
  wait "$bg_pid"
  bg_pid=
  if [ -f "$logs/background.tsv" ]; then
    while IFS=$'\t' read -r status seconds name log; do
      echo
      cat "$log"
      results+=("$status  $name (${seconds}s, in the background)")
      [ "$status" = passed ] || failed+=("$name")
    done <"$logs/background.tsv"
  fi
  if [ ! -f "$logs/background.done" ]; then
    results+=("FAILED  background stream (it did not finish every gate)")
    failed+=("background stream")
  fi
else
  labless_gates gate
fi

echo
echo "=== summary ($((SECONDS - started))s in all)"
printf '  %s\n' "${results[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED gates: ${failed[*]}"
  exit 1
fi
echo "all gates passed"
