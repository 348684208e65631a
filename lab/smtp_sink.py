"""SMTP sink for the lab: the relay the security email goes through (aiosmtpd), keeping every message.

Every message accepted is appended, as one JSON object per line, to the --log file (lab/.state/smtp-sink/
messages.jsonl under labctl):

    {"time", "peer", "mail_from", "rcpt_tos", "login", "subject", "from", "to", "message_id", "body"}

`login` is the user name of an SMTP AUTH (PLAIN or LOGIN, offered without TLS here: it is a lab), or null.
Any user name and password are accepted; the password is never kept. Nothing is relayed further.

Two recipient domains stand for a relay's refusals, so that tests can see a failed email recorded:
    <anyone>@reject.lab     550, refused for good
    <anyone>@tempfail.lab   451, a temporary failure (a client retries)
"""
import argparse
import email
import email.policy
import json
import signal
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

REJECT_DOMAIN = "@reject.lab"
TEMPFAIL_DOMAIN = "@tempfail.lab"


def accept_any_login(_server, _session, _envelope, _mechanism, auth_data):
    """Every user name and password is good in the lab; the password is not kept."""
    login = getattr(auth_data, "login", b"") or b""
    return AuthResult(success=True, auth_data=login.decode("utf-8", "replace"))


def message_record(envelope, session, now=None):
    """The JSON line kept for one accepted message."""
    parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
    if parsed.is_multipart():
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
    else:
        body = parsed.get_content()
    body = body.replace("\r\n", "\n")
    return {"time": now or time.time(), "peer": list(session.peer or [])[:2], "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos), "login": session.auth_data if session.authenticated else None,
            "subject": str(parsed.get("Subject", "")), "from": str(parsed.get("From", "")),
            "to": str(parsed.get("To", "")), "message_id": str(parsed.get("Message-ID", "")), "body": body}


class Handler:
    def __init__(self, log_path):
        self.log_path = log_path
        self.lock = threading.Lock()

    async def handle_RCPT(self, _server, _session, envelope, address, _rcpt_options):  # pylint: disable=invalid-name
        if address.lower().endswith(REJECT_DOMAIN):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if address.lower().endswith(TEMPFAIL_DOMAIN):
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, session, envelope):  # pylint: disable=invalid-name
        record = message_record(envelope, session)
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        return "250 2.0.0 Message accepted"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18025)
    parser.add_argument("--log", default="messages.jsonl")
    args = parser.parse_args()
    controller = Controller(Handler(args.log), hostname=args.host, port=args.port, authenticator=accept_any_login,
                            auth_require_tls=False, server_hostname="smtp-sink.lab")
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
