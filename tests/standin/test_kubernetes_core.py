"""kubernetes.core modules (k8s, k8s_info, k8s_scale, k8s_log, k8s_rollback) against the stand-in."""
import json
import os
import subprocess
import sys


from conftest import deployment

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Create a deployment
      kubernetes.core.k8s:
        namespace: "{{ ns }}"
        definition: "{{ web }}"
        wait: true
        wait_timeout: 60
        wait_sleep: 1
    - name: Create it again (idempotent)
      kubernetes.core.k8s:
        namespace: "{{ ns }}"
        definition: "{{ web }}"
      register: again
    - name: Change the image
      kubernetes.core.k8s:
        namespace: "{{ ns }}"
        kind: Deployment
        name: web
        definition:
          spec: {template: {spec: {containers: [{name: web, image: "registry.clickview.lab/web:1.1"}]}}}
        wait: true
        wait_timeout: 60
        wait_sleep: 1
    - name: Read it
      kubernetes.core.k8s_info:
        namespace: "{{ ns }}"
        kind: Deployment
        name: web
      register: info
    - name: Scale
      kubernetes.core.k8s_scale:
        namespace: "{{ ns }}"
        kind: Deployment
        name: web
        replicas: 3
        wait: true
        wait_timeout: 60
        wait_sleep: 1
      register: scaled
    - name: Pod logs through the deployment
      kubernetes.core.k8s_log:
        namespace: "{{ ns }}"
        kind: Deployment
        name: web
        tail_lines: 5
      register: logs
    - name: Roll back
      kubernetes.core.k8s_rollback:
        namespace: "{{ ns }}"
        api_version: apps/v1
        kind: Deployment
        name: web
      register: rollback
    # kubernetes.core.k8s_rollback does not wait; k8s_info's pod wait fails on a pod that is
    # deleted while it waits, so wait for the rollout to finish first (as on a real cluster)
    - name: Wait for the rollback's rollout
      kubernetes.core.k8s_info:
        namespace: "{{ ns }}"
        kind: Deployment
        name: web
      register: web
      until: >-
        web.resources and (web.resources[0].status.updatedReplicas | default(0)) == web.resources[0].spec.replicas
        and (web.resources[0].status.replicas | default(0)) == web.resources[0].spec.replicas
        and (web.resources[0].status.readyReplicas | default(0)) == web.resources[0].spec.replicas
      retries: 60
      delay: 1
    - name: Pods by label
      kubernetes.core.k8s_info:
        namespace: "{{ ns }}"
        kind: Pod
        label_selectors: ["app=web"]
        wait: true
        wait_condition: {type: Ready, status: "True"}
        wait_timeout: 60
        wait_sleep: 1
      register: pods
    - name: Delete a secret that does not exist (no change)
      kubernetes.core.k8s:
        namespace: "{{ ns }}"
        kind: Secret
        name: nothing-here
        state: absent
      register: absent
    - name: Write results
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ {'again': again, 'info': info, 'scaled': scaled, 'logs': logs, 'rollback': rollback,
                      'pods': pods, 'absent': absent} | to_json }}"
"""


def test_kubernetes_core_modules(standin, ns, tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    out = tmp_path / "out.json"
    extra = {"kubeconfig": standin.kubeconfig, "ns": ns, "out": str(out),
             "web": deployment("web", "registry.clickview.lab/web:1.0", replicas=2)}
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               K8S_AUTH_KUBECONFIG=standin.kubeconfig, K8S_AUTH_CONTEXT="clickview-lab")
    env.pop("ANSIBLE_CONFIG", None)
    bindir = os.path.dirname(sys.executable)
    p = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
                        "-e", json.dumps(extra)], capture_output=True, text=True, timeout=150, env=env, cwd=str(tmp_path), check=False)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    r = json.loads(out.read_text())
    assert r["again"]["changed"] is False
    d = r["info"]["resources"][0]
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert d["status"]["updatedReplicas"] == 2
    assert r["scaled"]["changed"] is True and r["scaled"]["result"]["spec"]["replicas"] == 3
    lines = [l for l in r["logs"]["log_lines"] if l]
    assert 0 < len(lines) <= 5 and all("level=" in l for l in lines)
    assert r["rollback"]["changed"] is True
    pods = r["pods"]["resources"]
    assert len(pods) == 3
    assert all(p["spec"]["containers"][0]["image"] == "registry.clickview.lab/web:1.0" for p in pods)
    assert r["absent"]["changed"] is False
