"""Bad input to k8s_rollout_status and report_files fails naming the parameter, before anything is read or written
(run through ansible-playbook: the messages an operator sees)."""
from conftest import run_tasks


def test_bad_input_is_named_and_nothing_is_written(tmp_path):
    target = tmp_path / "report.md"
    bad_rollout = [
        ({"name": " ", "namespace": "clickview"}, "name must not be empty"),
        ({"name": "web", "namespace": "clickview", "wait_timeout": -1}, "wait_timeout must be 0 or more seconds, got -1"),
        ({"name": "web", "namespace": "clickview", "return_after": -5}, "return_after must be 0"),
        ({"name": "web", "namespace": "clickview", "poll_interval": 0.1}, "poll_interval must be at least 0.5 seconds, got 0.1"),
    ]
    tasks = [{"clickview.runbook.k8s_rollout_status": args, "ignore_errors": True} for args, _msg in bad_rollout]
    files = [{"path": str(target), "content": "a"}, {"path": "relative.md", "content": "b"}]
    tasks.append({"clickview.runbook.report_files": {"files": files}, "ignore_errors": True})
    results = run_tasks(tasks)
    for (args, message), result in zip(bad_rollout, results):
        assert result.get("failed") and message in result["msg"], (args, result)
    assert results[-1].get("failed")
    assert results[-1]["msg"] == "report_files: files[1].path: relative.md is not an absolute path (nothing was written)"
    assert not target.exists()
