"""SMTP for reminders: opening and closing a connection, and what an error means.

A 5xx reply for a recipient or a message is a refusal for good; a 4xx reply is "not now"; no
answer at all (refused connection, timeout, dropped connection, 421) is an unreachable server.
After a 4xx or 5xx reply smtplib resets the transaction and the connection carries on.
"""

import logging
import smtplib

from cases.models import FailureCause

log = logging.getLogger(__name__)


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
