"""plugins/filter/webhook_origins.py: what a reachability check of the webhooks may print."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.webhook_origins import webhook_origins  # noqa: E402


def test_only_scheme_host_and_port_are_kept():
    hooks = {"chat": "https://hooks.example.com/services/T0/B0/s3cr3t?x=1",
             "pager": "http://user:pw@127.0.0.1:18099/pager/tok"}
    out = webhook_origins(hooks)
    assert out == {"chat": {"scheme": "https", "hostname": "hooks.example.com", "port": None},
                   "pager": {"scheme": "http", "hostname": "127.0.0.1", "port": 18099}}
    assert "s3cr3t" not in repr(out) and "tok" not in repr(out) and "pw" not in repr(out)


def test_empty_and_missing_urls():
    assert webhook_origins({"status_page": ""}) == {"status_page": {"scheme": "", "hostname": "", "port": None}}
    assert webhook_origins(None) == {}
