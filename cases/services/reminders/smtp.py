"""SMTP for reminders: opening and closing a connection, handing it one email, what an error
means, and sending over several connections at once (``SmtpLanes``).

A 5xx reply for a recipient or a message is a refusal for good; a 4xx reply is "not now"; no
answer at all (refused connection, timeout, dropped connection, 421) is an unreachable server.
After a 4xx or 5xx reply smtplib resets the transaction and the connection carries on.
"""

import logging
import smtplib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.translation import gettext as _

from cases.models import FailureCause

log = logging.getLogger(__name__)


def mail_backend():
    """A new, unopened connection of the configured mail backend."""
    return get_connection(fail_silently=False)


def connections_at_once() -> int:
    """SMTP connections one batch sends over at once: ``REMINDER_SMTP_CONNECTIONS`` with
    Django's own SMTP backend; any other backend (the tests' in-memory outbox, the console,
    files) gets one email at a time."""
    if type(mail_backend()) is not SmtpBackend:
        return 1
    return settings.REMINDER_SMTP_CONNECTIONS


def smtp_send(mail, email, sender: str) -> Exception | None:
    """Hand one message to the mail server; the error, if it did not take it.

    With Django's own SMTP backend the email goes out as the bytes that backend would send,
    on the connection it opened (``email.as_bytes()``); any other backend gets Django's email.
    """
    try:
        data = email.as_bytes() if type(mail) is SmtpBackend else None
        if data is not None:
            mail.connection.sendmail(sender, [email.to], data)
            return None
        message = email.message()
        message.connection = mail
        if mail.send_messages([message]) != 1:
            return RuntimeError(_("The mail backend did not accept the message."))
    except (OSError, smtplib.SMTPException) as exc:
        return exc
    except Exception as exc:
        log.exception("Could not send an email.")
        return exc
    return None


def smtp_open(mail) -> Exception | None:
    try:
        mail.open()
    except (OSError, smtplib.SMTPException) as exc:
        return exc
    return None


def smtp_close(mail) -> None:
    try:
        mail.close()
    except (OSError, smtplib.SMTPException):
        log.debug("Closing the mail connection failed.", exc_info=True)


def failure_cause(error: Exception) -> str:
    """What an SMTP error means for the row: refused for good, deferred, or no answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return FailureCause.REFUSED
        return FailureCause.DEFERRED
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return FailureCause.UNREACHABLE
    if isinstance(error, smtplib.SMTPResponseException):
        if error.smtp_code == 421:  # the server is closing the connection
            return FailureCause.UNREACHABLE
        if isinstance(error, smtplib.SMTPDataError) and 500 <= error.smtp_code < 600:
            return FailureCause.REFUSED  # this message, for this recipient
        return FailureCause.DEFERRED
    if isinstance(error, OSError):  # refused connection, timeout, reset (after SMTP's own)
        return FailureCause.UNREACHABLE
    return FailureCause.OTHER


def connection_lost(error: Exception) -> bool:
    """Whether the SMTP connection is unusable after this error. After a reply (4xx or 5xx)
    smtplib resets the transaction and the connection carries on; 421 closes it."""
    if isinstance(error, smtplib.SMTPResponseException) and not isinstance(
        error, smtplib.SMTPConnectError
    ):
        return error.smtp_code == 421
    return not isinstance(error, smtplib.SMTPRecipientsRefused)


@dataclass
class Outcome:
    """What became of one email handed to a lane: ``error`` is None if the server took it;
    ``tried`` is False if it never reached a server (its lane could not open)."""

    item: Any
    error: Exception | None
    tried: bool = True


class SmtpLanes:
    """Up to ``size`` SMTP connections sending at once, one email per connection at a time.

    Sending one email is four round trips (MAIL, RCPT, DATA, the message) during which the
    sender only waits, and a server without pipelining takes them one at a time: on one
    connection the worker spent most of each email waiting. With several connections, each
    used by a thread of its own, emails are on their way while the next ones are checked and
    built. The threads only talk SMTP; every database step stays with the caller, and so does
    all the bookkeeping here (``submit``, ``outcomes``, ``close`` run in the caller's thread).

    The first connection opens at once (``open``; an error means the server is unreachable),
    the others when there is an email for them, in their thread. A connection that cannot open
    (a server limiting connections per client, or gone) is given up: its email comes back
    untried, and no more connections are opened; once none is left, ``broken`` says why. A
    connection lost after a reply is opened again for its next email. ``connect`` makes an
    unopened Django mail backend; with ``size`` 1 every email is sent in the caller's thread.
    """

    def __init__(self, connect: Callable[[], Any], size: int):
        self.connect = connect
        self.size = max(1, size)
        self.lanes = 0  # connections open or being opened
        self.idle: list[tuple[Any, bool]] = []  # (backend, open)
        self.busy: dict[Future, Any] = {}  # emails on their way: future -> backend
        self.done: list[tuple[Any, Outcome, str]] = []  # sent in the caller's thread
        self.broken: Exception | None = None
        self.pool = ThreadPoolExecutor(self.size, "smtp") if self.size > 1 else None

    def open(self) -> Exception | None:
        """Open the first connection; the error if the server does not answer."""
        mail = self.connect()
        self.broken = smtp_open(mail)
        if self.broken is None:
            self.idle.append((mail, True))
            self.lanes = 1
        return self.broken

    def free(self) -> int:
        """How many emails could be handed over now."""
        if self.broken is not None:
            return 0
        return len(self.idle) + self.size - self.lanes

    def in_flight(self) -> int:
        return len(self.busy) + len(self.done)

    def submit(self, item, send: Callable[[Any], Exception | None]) -> None:
        """Send one email on a free connection: ``send(backend)`` returns the server's error,
        None if it took the email."""
        if self.idle:
            mail, is_open = self.idle.pop()
        else:
            mail, is_open = self.connect(), False
            self.lanes += 1
        if self.pool is None:
            self.done.append((mail, *_send_on(mail, is_open, item, send)))
        else:
            self.busy[self.pool.submit(_send_on, mail, is_open, item, send)] = mail

    def outcomes(self, *, wait: bool = True) -> list[Outcome]:
        """The emails finished since last asked (waiting for one, if any is on its way).

        A lane's thread that raised (not an SMTP error: those are outcomes) raises here, once
        the other finished emails are kept for the next call: none of them is lost.
        """
        finished, self.done = self.done, []
        raised = None
        if not finished and self.busy:
            ready, _pending = wait_for(
                list(self.busy), timeout=None if wait else 0, return_when=FIRST_COMPLETED
            )
            for future in ready:
                mail = self.busy.pop(future)
                try:
                    finished.append((mail, *future.result()))
                except BaseException as exc:
                    smtp_close(mail)
                    self.lanes -= 1
                    raised = raised or exc
        settled = [self._settle(mail, outcome, state) for mail, outcome, state in finished]
        if raised is not None:
            self.done = [(None, outcome, "settled") for outcome in settled]
            raise raised
        return settled

    def _settle(self, mail, outcome: Outcome, state: str) -> Outcome:
        if state == "settled":
            pass
        elif state == "unopened":
            self.lanes -= 1
            self.size = max(self.lanes, 1)  # the server takes no more connections than that
            if not self.lanes:
                self.broken = outcome.error
        else:
            self.idle.append((mail, state == "open"))
        return outcome

    def close(self) -> list[Outcome]:
        """Wait for every email on its way, close every connection; their outcomes. What a
        lane's thread raised is raised again after that."""
        found, raised = [], None
        if self.busy:
            wait_for(list(self.busy))
        while self.busy or self.done:
            try:
                found += self.outcomes()
            except BaseException as exc:
                raised = raised or exc
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        for mail, is_open in self.idle:
            if is_open:
                smtp_close(mail)
        self.idle = []
        if raised is not None:
            raise raised
        return found


def _send_on(mail, is_open: bool, item, send) -> tuple[Outcome, str]:
    """One email on one connection (in a lane's thread): its outcome, and the connection's
    state after it ("open", "closed" if it was lost, "unopened" if it could not open)."""
    if not is_open:
        error = smtp_open(mail)
        if error is not None:
            smtp_close(mail)
            return Outcome(item, error, tried=False), "unopened"
    try:
        error = send(mail)
    except Exception as exc:  # reported to the caller like any failure
        log.exception("Could not send an email.")
        error = exc
    if error is not None and connection_lost(error):
        smtp_close(mail)
        return Outcome(item, error), "closed"
    return Outcome(item, error), "open"
