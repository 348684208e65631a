# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Send one plain-text email through an SMTP relay, with a timeout on every step and retries of transient failures.

Nothing here needs AnsibleModule: ``build_message`` makes the message, ``send_once`` is one SMTP session (the client
classes are parameters, so tests use fakes), ``classify`` says whether a failure is worth another attempt and how to
report it, and ``deliver`` retries with the same full-jitter backoff as the webhooks. No text returned holds the
password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import smtplib
import socket
import ssl
import time

from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from ansible_collections.clickview.runbook.plugins.module_utils.webhook import backoff_delay


class MailError(ValueError):
    """Bad input or a relay that cannot do what is asked (no STARTTLS, no AUTH): not retried."""


def _address(value, name):
    text = str(value or '').strip()
    _phrase, addr = parseaddr(text)
    if not addr or '@' not in addr or any(c in text for c in '\r\n'):
        raise MailError('%s: not an email address: %r' % (name, value))
    return text


def build_message(sender, to, subject, body, headers=None):
    """The message: From, To, Subject (one line), Date (UTC), Message-ID (the sender's domain), extra headers, body."""
    sender = _address(sender, 'sender')
    if isinstance(to, str) or not to:
        raise MailError('to: a non-empty list of email addresses, got %r' % (to,))
    recipients = [_address(addr, 'to') for addr in to]
    subject = ' '.join(str(subject or '').split())
    if not subject:
        raise MailError('subject: empty')
    msg = EmailMessage()
    msg['From'] = sender
    msg['To'] = ', '.join(recipients)
    msg['Subject'] = subject
    msg['Date'] = formatdate(usegmt=True)
    msg['Message-ID'] = make_msgid(domain=parseaddr(sender)[1].rpartition('@')[2] or None)
    for key, value in sorted((headers or {}).items()):
        if not str(key) or any(c in str(key) for c in ' \t\r\n:'):
            raise MailError('headers: %r is not a header name' % (key,))
        msg[str(key)] = ' '.join(str(value).split())
    msg.set_content(str(body or ''))
    return msg


def tls_context(validate_certs=True, ca_path=None):
    context = ssl.create_default_context(cafile=ca_path or None)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def send_once(msg, host, port, timeout, starttls=True, tls=False, username=None, password=None, context=None,
              smtp_class=smtplib.SMTP, smtps_class=smtplib.SMTP_SSL):
    """One SMTP session: connect (implicit TLS with ``tls``), EHLO, STARTTLS when asked (refused when the relay does not
    offer it: the login and the message are never sent in the clear by surprise), AUTH when a username is given, send.
    Every socket operation is bounded by ``timeout`` seconds. Returns the recipients refused ({} when all accepted)."""
    if tls:
        client = smtps_class(host, port, timeout=timeout, context=context)
    else:
        client = smtp_class(host, port, timeout=timeout)
    try:
        client.ehlo()
        if starttls and not tls:
            if not client.has_extn('starttls'):
                raise MailError('the relay %s:%s does not offer STARTTLS (starttls is on)' % (host, port))
            client.starttls(context=context)
            client.ehlo()
        if username:
            if not client.has_extn('auth'):
                raise MailError('the relay %s:%s does not offer AUTH (a username is given)' % (host, port))
            client.login(username, password or '')
        return client.send_message(msg) or {}
    finally:
        try:
            client.quit()
        except Exception:  # the session is over either way
            client.close()


def _text(value):
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)


def classify(exc, timeout=None):
    """(retryable, text) of an SMTP or network failure: a temporary (4xx) answer, a dropped or refused connection and a
    timeout are retried; a permanent (5xx) answer, a refused login and a TLS failure are not."""
    if isinstance(exc, MailError):
        return False, str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        text = 'recipients refused: ' + '; '.join(
            '%s (%s %s)' % (addr, code, _text(msg)) for addr, (code, msg) in sorted(exc.recipients.items()))
        return bool(codes) and all(400 <= code < 500 for code in codes), text
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False, 'login refused: %s %s' % (exc.smtp_code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500, 'SMTP %s %s' % (exc.smtp_code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True, 'the relay closed the connection: %s' % exc
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False, 'the relay does not support it: %s' % exc
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        return False, 'TLS failed: %s' % exc
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return True, 'no answer within %s s' % timeout if timeout else 'no answer (timed out)'
    if isinstance(exc, smtplib.SMTPException):
        return False, 'SMTP error: %s' % exc
    if isinstance(exc, OSError):
        return True, 'cannot connect: %s' % (exc.strerror or exc)
    return False, '%s: %s' % (type(exc).__name__, exc)


def deliver(attempt, retries=2, backoff=1.0, max_backoff=30.0, timeout=None, sleep=time.sleep, rng=random.random):
    """Call ``attempt`` (one session, returning the recipients refused) until the relay takes the message, a failure
    that is not worth retrying, or ``retries`` retries are spent.

    Returns {delivered, attempts, error (None when delivered), refused ({address: 'code text'}), waits}. A message the
    relay took for some recipients but refused for others is not delivered and not retried (the others have it)."""
    waits = []
    attempts = 0
    while True:
        attempts += 1
        try:
            refused = attempt()
        except Exception as exc:  # smtplib, socket and ssl errors; classified below
            retryable, text = classify(exc, timeout)
            if not retryable or attempts > retries:
                return dict(delivered=False, attempts=attempts, error=text, refused={}, waits=waits)
            delay = backoff_delay(attempts - 1, backoff, max_backoff, rng)
            waits.append(round(delay, 3))
            sleep(delay)
            continue
        refused = dict((addr, '%s %s' % (code, _text(msg))) for addr, (code, msg) in sorted((refused or {}).items()))
        if refused:
            return dict(delivered=False, attempts=attempts, refused=refused, waits=waits,
                        error='refused for %s' % ', '.join('%s (%s)' % item for item in sorted(refused.items())))
        return dict(delivered=True, attempts=attempts, error=None, refused={}, waits=waits)
