"""AWX schedules as code (extensions/awx/vars/schedules.yml, issue 20), checked without an AWX server.

Every schedule launches a job template of job_templates.yml by its exact name, whose playbook exists; its rrule
parses (dateutil, as AWX itself parses it) within AWX's own limits, with an explicit time zone, and its
occurrences are the runbook's: the health check daily in the morning, the handoff on Mondays at 10:00 UTC, the
escalation sweep every 5 minutes, the WAF purge hourly, a backup every day (full weekly) and a weekly verify
after the full backup. Its extra data are answers the template's survey accepts (the templates take no extra
variables), and configure_awx.yml creates the schedules from that file, after the templates, on each
environment's inventory, enabled or not as the global and the per-schedule flags say - rendered by Ansible."""
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest
import yaml
from dateutil.rrule import DAILY, HOURLY, MINUTELY, WEEKLY, rrulestr

from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import THRESHOLDS

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "extensions" / "awx"
VENV_BIN = Path(sys.executable).parent
UTC = timezone.utc
# AWX's rrule: one DTSTART with a time zone (TZID=<zone>: local time, or a UTC time ending in Z), then one RRULE
AWX_RRULE = re.compile(r"^DTSTART(?:;TZID=(?P<tz>[A-Za-z0-9_/+-]+):(?P<local>\d{8}T\d{6})|:(?P<utc>\d{8}T\d{6})Z) "
                       r"RRULE:(?P<rule>[A-Z0-9=;,-]+)$")
# What the issue (and the runbook) schedules, by playbook.
SCHEDULED = {"health_check.yml", "oncall_handoff.yml", "incident_escalation_sweep.yml", "waf_purge_expired_blocks.yml",
             "backup_run.yml", "backup_verify.yml"}


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schedules_file():
    return load(AWX / "vars" / "schedules.yml")


@pytest.fixture(scope="module")
def schedules(schedules_file):
    return schedules_file["awx_schedules"]


@pytest.fixture(scope="module")
def templates():
    return {t["name"]: t for t in load(AWX / "vars" / "job_templates.yml")["awx_job_templates"]}


def playbook_of(schedule, templates):
    return templates[schedule["template"]]["playbook"]


def by_playbook(schedules, templates, playbook):
    found = [s for s in schedules if playbook_of(s, templates) == playbook]
    assert found, f"no schedule runs {playbook}"
    return found


def rule_parts(rrule):
    match = AWX_RRULE.match(rrule)
    assert match, f"{rrule!r}: not DTSTART;TZID=<zone>:<local time> RRULE:<rule> (AWX's form)"
    parts = dict(part.split("=", 1) for part in match.group("rule").split(";"))
    return match, parts


def occurrences(rrule, days=21, start=None):
    """Occurrences (aware, in UTC) from DTSTART (or `start`) over `days` days, both ends included, as AWX computes
    them (dateutil)."""
    rule = rrulestr(rrule)
    assert rule[0].tzinfo is not None, f"{rrule!r}: naive DTSTART"
    start = start or rule[0]
    return [when.astimezone(UTC) for when in rule.between(start, start + timedelta(days=days), inc=True)]


# four whole weeks, Monday to Sunday, after every DTSTART
WEEKS = (datetime(2026, 2, 2, tzinfo=UTC), 28 - 1 / 86400)


def gaps(times):
    return {later - earlier for earlier, later in zip(times, times[1:])}


# ---- the file -------------------------------------------------------------------------------------------------


def test_schedules_are_on_by_default_and_named_once(schedules_file, schedules):
    assert schedules_file["clickview_awx_schedules_enabled"] is True
    names = [s["name"] for s in schedules]
    assert len(names) == len(set(names)), names
    environments = load(AWX / "vars" / "awx.yml")["awx_environments"]
    for schedule in schedules:
        assert set(schedule) <= {"name", "description", "template", "rrule", "environments", "enabled", "extra_data"}, schedule
        assert schedule["description"].strip() and schedule["enabled"] is True, schedule["name"]
        assert schedule["environments"] and set(schedule["environments"]) <= set(environments), schedule["name"]
        assert len(schedule["environments"]) == len(set(schedule["environments"])), schedule["name"]


def test_every_schedule_launches_an_existing_template_of_an_existing_playbook(schedules, templates):
    for schedule in schedules:
        assert schedule["template"] in templates, f"{schedule['name']}: no job template named {schedule['template']!r}"
        playbook = playbook_of(schedule, templates)
        path = ROOT / playbook if "/" in playbook else ROOT / "playbooks" / playbook
        assert path.is_file(), f"{schedule['name']}: {path} does not exist"
    assert {playbook_of(s, templates) for s in schedules} == SCHEDULED


@pytest.mark.parametrize("schedule", load(AWX / "vars" / "schedules.yml")["awx_schedules"], ids=lambda s: s["name"])
def test_rrule_parses_within_awx_limits_with_an_explicit_time_zone(schedule):
    rrule = schedule["rrule"]
    match, parts = rule_parts(rrule)
    assert match.group("tz") in available_timezones(), f"{schedule['name']}: unknown TZID {match.group('tz')}"
    assert rrule.count("DTSTART") == 1 and rrule.count("RRULE:") == 1
    assert parts["FREQ"] in {"MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}, "AWX has no SECONDLY"
    assert int(parts["INTERVAL"]) >= 1, "AWX requires INTERVAL"
    assert not {"COUNT", "UNTIL"} & set(parts), f"{schedule['name']}: a recurring procedure does not stop"
    assert not {"BYWEEKNO", "BYYEARDAY"} & set(parts), "not supported by AWX"
    assert all(re.fullmatch(r"(MO|TU|WE|TH|FR|SA|SU)", day) for day in parts.get("BYDAY", "MO").split(",")), \
        "AWX takes BYDAY without a numeric prefix"
    rule = rrulestr(rrule)
    zone = ZoneInfo(match.group("tz"))
    assert rule[0].utcoffset() == zone.utcoffset(rule[0].replace(tzinfo=None)), "DTSTART is in the TZID's time"
    assert rule[0] == datetime.strptime(match.group("local"), "%Y%m%dT%H%M%S").replace(tzinfo=zone)


# ---- the runbook's cadence --------------------------------------------------------------------------------------


def test_handoff_is_weekly_on_monday_at_10_utc(schedules, templates):
    (handoff,) = by_playbook(schedules, templates, "oncall_handoff.yml")
    assert rrulestr(handoff["rrule"])._freq == WEEKLY
    times = occurrences(handoff["rrule"])
    assert len(times) >= 3 and gaps(times) == {timedelta(days=7)}
    assert all((t.weekday(), t.hour, t.minute) == (0, 10, 0) for t in times), times
    assert handoff["environments"] == ["production"]
    assert handoff["extra_data"] == {"on_call_handoff_post": "true"}, "the scheduled handoff posts to the incident chat"


def test_escalation_sweep_runs_every_5_minutes(schedules, templates):
    (sweep,) = by_playbook(schedules, templates, "incident_escalation_sweep.yml")
    assert rrulestr(sweep["rrule"])._freq == MINUTELY
    times = occurrences(sweep["rrule"], days=1)
    assert len(times) == 24 * 12 + 1 and gaps(times) == {timedelta(minutes=5)}
    assert set(sweep["environments"]) == {"staging", "production"}


def test_waf_purge_runs_hourly(schedules, templates):
    (purge,) = by_playbook(schedules, templates, "waf_purge_expired_blocks.yml")
    assert rrulestr(purge["rrule"])._freq == HOURLY
    times = occurrences(purge["rrule"], days=2)
    assert len(times) == 49 and gaps(times) == {timedelta(hours=1)}
    assert set(purge["environments"]) == {"staging", "production"}


def test_health_check_runs_daily_in_the_morning(schedules, templates):
    (health,) = by_playbook(schedules, templates, "health_check.yml")
    assert rrulestr(health["rrule"])._freq == DAILY
    times = occurrences(health["rrule"])
    assert len(times) == 22 and gaps(times) == {timedelta(days=1)}
    assert {(t.hour, t.minute) for t in times} == {(8, 0)}, "start of the shift, 08:00 UTC"
    assert "production" in health["environments"]


def test_a_backup_every_day_full_weekly_then_a_weekly_verify(schedules, templates):
    backups = by_playbook(schedules, templates, "backup_run.yml")
    runs = sorted((when, s["extra_data"]["backups_type"]) for s in backups
                  for when in occurrences(s["rrule"], days=WEEKS[1], start=WEEKS[0]))
    days = [when.date() for when, _type in runs]
    assert len(days) == len(set(days)), "one backup a day"
    assert set(days) == {days[0] + timedelta(days=n) for n in range((days[-1] - days[0]).days + 1)}, "no day without one"
    assert len(days) == 28
    assert {when.hour for when, _type in runs} == {1}
    fulls = [when for when, kind in runs if kind == "full"]
    assert len(fulls) == 4 and gaps(fulls) == {timedelta(days=7)} and {f.weekday() for f in fulls} == {6}
    assert {kind for _when, kind in runs} == {"full", "diff"}
    # what the health check's backup freshness expects (it WARNs past these ages)
    assert max(gaps([when for when, _kind in runs])) <= timedelta(hours=THRESHOLDS["backup_incremental_age_hours"]["warn"])
    assert max(gaps(fulls)) <= timedelta(hours=THRESHOLDS["backup_full_age_hours"]["warn"])

    (verify,) = by_playbook(schedules, templates, "backup_verify.yml")
    assert rrulestr(verify["rrule"])._freq == WEEKLY
    checks = occurrences(verify["rrule"], days=WEEKS[1], start=WEEKS[0])
    assert len(checks) == 4 and gaps(checks) == {timedelta(days=7)}
    for check in checks:   # the same day as a full backup, after it
        assert any(full.date() == check.date() and full < check for full in fulls), check
    assert "extra_data" not in verify
    environments = {env for s in backups for env in s["environments"]}
    assert set(verify["environments"]) == environments == {"staging", "production"}
    assert all(set(s["environments"]) == environments for s in backups)


# ---- extra data: survey answers only ----------------------------------------------------------------------------


def test_extra_data_are_answers_the_survey_accepts(schedules, templates):
    answered = 0
    for schedule in schedules:
        questions = {q["variable"]: q for q in templates[schedule["template"]].get("survey", [])}
        for variable, value in schedule.get("extra_data", {}).items():
            assert variable in questions, f"{schedule['name']}: {variable} is not a survey question of {schedule['template']}"
            question = questions[variable]
            if question["type"] in ("multiplechoice",):
                assert value in question["choices"], f"{schedule['name']}: {variable}={value!r} not in {question['choices']}"
            if question["type"] in ("text", "textarea", "multiplechoice", "password"):
                assert isinstance(value, str), f"{schedule['name']}: {variable} must be a string for AWX"
            answered += 1
        # a required question without a default must be answered: AWX would refuse to launch the scheduled job
        for variable, question in questions.items():
            if question.get("required") and "default" not in question:
                assert variable in schedule.get("extra_data", {}), f"{schedule['name']}: {variable} is required"
    assert answered == 3, "the handoff's post and the two backup types"


# ---- the configure playbook -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def play():
    return load(AWX / "configure_awx.yml")[0]


def module_of(task):
    return next((key for key in task if key.startswith("awx.awx.")), None)


def test_configure_creates_the_schedules_from_the_file_after_the_templates(play):
    assert "vars/schedules.yml" in play["vars_files"]
    modules = [module_of(t) for t in play["tasks"]]
    assert modules.count("awx.awx.schedule") == 1
    index = modules.index("awx.awx.schedule")
    assert index > modules.index("awx.awx.job_template") and index > modules.index("awx.awx.workflow_job_template")
    task = play["tasks"][index]
    assert task["loop"] == "{{ awx_schedules | subelements('environments') }}"
    args = task["awx.awx.schedule"]
    assert args["unified_job_template"] == "{{ item.0.template }}"
    assert args["rrule"] == "{{ item.0.rrule }}"
    assert args["organization"] == "{{ awx_organization }}"
    assert args["state"] == "present"
    assert "clickview_awx_schedules_enabled" in args["enabled"] and "item.0.enabled" in args["enabled"]


def render_schedules(tmp_path, *extra):
    """The schedule task's arguments for every loop item, templated by Ansible with the playbook's vars files."""
    play = load(AWX / "configure_awx.yml")[0]
    task = next(t for t in play["tasks"] if module_of(t) == "awx.awx.schedule")
    out = tmp_path / "schedules.json"
    render = [{
        "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(AWX / path) for path in play["vars_files"]],
        "tasks": [
            {"name": "Render", "loop": task["loop"], "vars": {"rendered_args": task["awx.awx.schedule"]},
             "ansible.builtin.set_fact": {"rendered": "{{ rendered | default([]) + [rendered_args] }}"}},
            {"name": "Write", "ansible.builtin.copy": {"content": "{{ rendered | to_json }}", "dest": str(out)}},
        ],
    }]
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump(render))
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + sys.executable, *extra, str(playbook)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {r["name"]: r for r in json.loads(out.read_text())}


def test_rendered_schedules_one_per_environment_on_its_inventory(tmp_path, schedules):
    rendered = render_schedules(tmp_path)
    assert len(rendered) == sum(len(s["environments"]) for s in schedules)
    for schedule in schedules:
        for env in schedule["environments"]:
            args = rendered[f"{schedule['name']} ({env})"]
            assert args["inventory"] == f"clickview-{env}", "a schedule runs on its environment, not the template's default"
            assert args["unified_job_template"] == schedule["template"] and args["rrule"] == schedule["rrule"]
            assert args["extra_data"] == schedule.get("extra_data", {})
            assert args["enabled"] is True and args["organization"] == "ClickView"
    handoff = rendered["Weekly on-call handoff (production)"]
    assert handoff["rrule"] == "DTSTART;TZID=UTC:20260105T100000 RRULE:FREQ=WEEKLY;BYDAY=MO;INTERVAL=1"


def test_rendered_schedules_follow_the_global_and_own_switches(tmp_path, schedules):
    rendered = render_schedules(tmp_path, "-e", "clickview_awx_schedules_enabled=false")
    assert {args["enabled"] for args in rendered.values()} == {False}, "the global switch turns every schedule off"
    one_off = [dict(s, enabled=False) if s["name"] == "Purge expired WAF blocks" else s for s in schedules]
    rendered = render_schedules(tmp_path, "-e", json.dumps({"awx_schedules": one_off}))
    assert {name for name, args in rendered.items() if not args["enabled"]} == \
        {"Purge expired WAF blocks (staging)", "Purge expired WAF blocks (production)"}
