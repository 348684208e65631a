"""plugins/module_utils/smtp_mail.py: the security email's message, SMTP session and retries, with fake clients."""
import smtplib
import socket
import ssl

import pytest

from ansible_collections.clickview.runbook.plugins.module_utils import smtp_mail as m


class FakeSMTP:
    """Records the session; features and failures as given."""

    sessions = []

    def __init__(self, host, port, timeout=None, context=None, features=("starttls", "auth"), fail=None):
        self.calls = [("connect", host, port, timeout)]
        self.features, self.fail = features, fail or {}
        FakeSMTP.sessions.append(self)
        if "connect" in self.fail:
            raise self.fail["connect"]

    def ehlo(self):
        self.calls.append(("ehlo",))

    def has_extn(self, name):
        return name in self.features

    def starttls(self, context=None):
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user))
        if "login" in self.fail:
            raise self.fail["login"]

    def send_message(self, msg):
        self.calls.append(("send", msg["To"]))
        if "send" in self.fail:
            raise self.fail["send"]
        return self.fail.get("refused", {})

    def quit(self):
        self.calls.append(("quit",))

    def close(self):
        self.calls.append(("close",))


def factory(**kwargs):
    return lambda host, port, timeout=None, context=None: FakeSMTP(host, port, timeout, context, **kwargs)


def message():
    return m.build_message("Runbook <runbook@clickview.app>", ["security@clickview.app"], "[SECURITY P1] SEC-1\n- Data breach",
                           "body", headers={"X-Clickview-Incident": "SEC-1"})


def test_message_headers():
    msg = message()
    assert msg["Subject"] == "[SECURITY P1] SEC-1 - Data breach"   # one line
    assert msg["To"] == "security@clickview.app" and msg["X-Clickview-Incident"] == "SEC-1"
    assert msg["Message-ID"].endswith("@clickview.app>") and msg.get_content().strip() == "body"


@pytest.mark.parametrize("kwargs,name", [
    (dict(sender="nobody"), "sender"), (dict(to="security@clickview.app"), "to"), (dict(to=[]), "to"),
    (dict(to=["a@b\nBcc: x@y"]), "to"), (dict(subject=" "), "subject"), (dict(headers={"Bad: name": "x"}), "headers")])
def test_bad_input_names_the_argument(kwargs, name):
    args = dict(sender="runbook@clickview.app", to=["security@clickview.app"], subject="s", body="b")
    args.update(kwargs)
    with pytest.raises(m.MailError, match=name):
        m.build_message(**args)


def test_session_with_starttls_and_login():
    FakeSMTP.sessions = []
    assert m.send_once(message(), "relay", 587, 5, starttls=True, username="u", password="p", smtp_class=factory()) == {}
    calls = FakeSMTP.sessions[-1].calls
    assert calls[0] == ("connect", "relay", 587, 5)
    assert [c[0] for c in calls] == ["connect", "ehlo", "starttls", "ehlo", "login", "send", "quit"]


def test_no_starttls_offered_is_refused_not_sent_in_the_clear():
    FakeSMTP.sessions = []
    with pytest.raises(m.MailError, match="STARTTLS"):
        m.send_once(message(), "relay", 587, 5, starttls=True, smtp_class=factory(features=("auth",)))
    assert ("send", "security@clickview.app") not in FakeSMTP.sessions[-1].calls


def test_plain_session_without_login_and_implicit_tls():
    FakeSMTP.sessions = []
    m.send_once(message(), "relay", 25, 5, starttls=False, smtp_class=factory(features=()))
    assert [c[0] for c in FakeSMTP.sessions[-1].calls] == ["connect", "ehlo", "send", "quit"]
    m.send_once(message(), "relay", 465, 5, tls=True, starttls=True, smtps_class=factory(features=()))
    assert "starttls" not in [c[0] for c in FakeSMTP.sessions[-1].calls]


@pytest.mark.parametrize("exc,retry", [
    (ConnectionRefusedError(111, "Connection refused"), True),
    (socket.timeout("timed out"), True),
    (smtplib.SMTPServerDisconnected("gone"), True),
    (smtplib.SMTPResponseException(451, b"try later"), True),
    (smtplib.SMTPResponseException(554, b"no"), False),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
    (smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy")}), True),
    (smtplib.SMTPRecipientsRefused({"a@x": (550, b"unknown")}), False),
    (ssl.SSLError("certificate verify failed"), False),
    (m.MailError("no STARTTLS"), False),
])
def test_classify(exc, retry):
    assert m.classify(exc, 5)[0] is retry


def test_deliver_retries_transient_failures_with_backoff():
    outcomes = [ConnectionRefusedError(111, "Connection refused"), smtplib.SMTPResponseException(451, b"later"), {}]
    slept = []

    def attempt():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result = m.deliver(attempt, retries=2, backoff=1.0, sleep=slept.append, rng=lambda: 0.5)
    assert result == {"delivered": True, "attempts": 3, "error": None, "refused": {}, "waits": [0.5, 1.0]}
    assert slept == [0.5, 1.0]


def test_deliver_gives_up_and_says_why():
    def refused():
        raise ConnectionRefusedError(111, "Connection refused")
    result = m.deliver(refused, retries=1, sleep=lambda s: None, rng=lambda: 0)
    assert result["delivered"] is False and result["attempts"] == 2 and result["error"] == "cannot connect: Connection refused"

    def bad_login():
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials")
    result = m.deliver(bad_login, retries=3, sleep=lambda s: None)
    assert result["attempts"] == 1 and result["error"] == "login refused: 535 5.7.8 bad credentials"


def test_some_recipients_refused_is_not_delivered_and_not_retried():
    result = m.deliver(lambda: {"x@reject.lab": (550, b"mailbox unavailable")}, retries=3, sleep=lambda s: None)
    assert result["delivered"] is False and result["attempts"] == 1
    assert result["refused"] == {"x@reject.lab": "550 mailbox unavailable"}


def test_the_password_is_in_no_text():
    FakeSMTP.sessions = []
    fail = {"login": smtplib.SMTPAuthenticationError(535, b"authentication failed")}

    def attempt():
        return m.send_once(message(), "relay", 587, 5, username="u", password="hunter2-secret",
                           smtp_class=factory(fail=fail))
    result = m.deliver(attempt, retries=0)
    assert "hunter2" not in repr(result) and "hunter2" not in repr(FakeSMTP.sessions[-1].calls)
