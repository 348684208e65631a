"""plugins/filter/alert_target.py: an alert playbook works on what the alert's labels name, within the inventory."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.clickview.runbook.plugins.filter.alert_target import alert_target  # noqa: E402

DEPS = ["clickview-backend", "clickview-frontend"]
CERTS = [{"name": "clickview-tls", "endpoints": [{"host": "app.example.com"}]},
         {"name": "api-tls", "namespace": "clickview", "endpoints": [{"host": "api.example.com", "port": 8443}]}]
ENDPOINTS = [{"host": "app.example.com"}, {"host": "api.example.com", "port": 8443}]


def target(labels=None, **kwargs):
    alert = {"alertname": "HighMemoryUsage", "labels": labels} if labels is not None else None
    args = dict(deployments=DEPS, claim="data-postgres-0", certificates=CERTS, endpoints=ENDPOINTS)
    args.update(kwargs)
    return alert_target(alert, "clickview", "clickview-backend", **args)


def test_no_alert_is_the_inventory_default():
    out = target()
    assert out["deployment"] == "clickview-backend" and out["namespace"] == "clickview" and not out["from_alert"]
    assert out["claim"] == "data-postgres-0" and out["database_volume"]
    assert out["certificates"] == CERTS and out["endpoints"] == ENDPOINTS
    assert out["text"] == "deployment/clickview-backend (clickview), the inventory's defaults"


def test_empty_or_foreign_values_are_no_alert():
    for alert in ("", {}, {"labels": None}, {"labels": {"pod": "  "}}):
        assert alert_target(alert, "clickview", "clickview-backend", deployments=DEPS)["deployment"] == "clickview-backend"


def test_frontend_pod_targets_the_frontend():
    out = target({"namespace": "clickview", "pod": "clickview-frontend-7d4b9c5f6-x2k8p", "container": "frontend"})
    assert out["deployment"] == "clickview-frontend" and out["pod"] == "clickview-frontend-7d4b9c5f6-x2k8p"
    assert out["container"] == "frontend" and out["from_alert"]
    assert out["labels_used"] == ["namespace=clickview", "pod=clickview-frontend-7d4b9c5f6-x2k8p", "container=frontend"]
    assert "from the alert's labels" in out["text"] and out["text"].startswith("deployment/clickview-frontend (clickview)")


def test_longest_deployment_name_owns_the_pod():
    out = target({"pod": "clickview-backend-worker-5c8d7-abcde"}, deployments=DEPS + ["clickview-backend-worker"])
    assert out["deployment"] == "clickview-backend-worker"


@pytest.mark.parametrize("labels, label", [
    ({"namespace": "kube-system"}, "namespace"),
    ({"deployment": "coredns"}, "deployment"),
    ({"pod": "postgres-0"}, "pod"),                                   # a StatefulSet's pod: not a listed Deployment
    ({"pod": "clickview-backend"}, "pod"),                            # no hash and suffix
    ({"deployment": "clickview-backend", "pod": "clickview-frontend-7d4b9c-x2k8p"}, "pod"),
    ({"certificate": "other-tls"}, "certificate"),
    ({"namespace": "staging", "persistentvolumeclaim": "data-postgres-0"}, "namespace"),
])
def test_a_label_outside_the_inventory_stops_the_run_naming_it(labels, label):
    with pytest.raises(AnsibleFilterError, match=r"label %s=" % label):
        target(labels)


def test_a_second_namespace_is_allowed_only_when_listed():
    out = target({"namespace": "clickview-canary", "deployment": "clickview-frontend"}, namespaces=["clickview-canary"])
    assert out["namespace"] == "clickview-canary" and out["deployment"] == "clickview-frontend"


def test_other_claim_is_measured_but_is_not_the_database():
    out = target({"namespace": "clickview", "persistentvolumeclaim": "redis-data-redis-0"})
    assert out["claim"] == "redis-data-redis-0" and not out["database_volume"]
    assert out["text"] == ("deployment/clickview-backend (clickview), claim redis-data-redis-0, from the alert's labels "
                           "namespace=clickview, persistentvolumeclaim=redis-data-redis-0")
    assert target({"persistentvolumeclaim": "data-postgres-0"})["database_volume"]


def test_certificate_label_narrows_the_certificates():
    out = target({"certificate": "api-tls"})
    assert [c["name"] for c in out["certificates"]] == ["api-tls"]


@pytest.mark.parametrize("instance", ["https://api.example.com", "api.example.com:8443", "API.example.com/healthz"])
def test_probe_instance_narrows_endpoints_and_their_certificates(instance):
    out = target({"instance": instance})
    assert out["endpoints"] == [{"host": "api.example.com", "port": 8443}]
    assert [c["name"] for c in out["certificates"]] == ["api-tls"] and not out["notes"]


def test_unknown_instance_keeps_every_endpoint_and_says_so():
    out = target({"instance": "https://evil.example.net"})
    assert out["endpoints"] == ENDPOINTS and out["certificates"] == CERTS
    assert out["notes"] == ["the alert's instance https://evil.example.net is none of the inventory's TLS endpoints: "
                            "all of them are read"]
