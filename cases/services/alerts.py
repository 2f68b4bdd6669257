"""Urgent alerts: raised when a person's risk becomes imminent or they are put in an exchange
pool, emailed at once through their own outbox, worked through a checklist, closed on record.

Raising (``alerts_for_change``, called by the person services in the same transaction as the
change): one ``Alert`` per case the person is on, its checklist (``CHECKLISTS``), and one
``AlertEmail`` row per recipient, deduplicated: the owning organization's coordinators, the
case's coordinators and the assignees of its open deadlines. Mutes do not apply: an urgent
alert is the one email a muted case still sends (docs/alerts.md).

Sending (``alert_emails_send``) follows the reminders' delivery (cases/services/reminders/):
rows are claimed with a conditional UPDATE under a lease, checked again, sent, and marked sent
one by one. A worker that dies mid-send leaves its rows "sending": it takes them back when it
starts again, or anyone does once the lease runs out; they go out with the same Message-ID.
The one possible duplicate is an email the mail server took in the instant before its row was
marked sent (at-least-once, like the reminders, with a window of one email per process).
"""

import datetime as dt
import logging
import smtplib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import access
from cases.models import (
    CHECKLISTS,
    Alert,
    AlertCheck,
    AlertEmail,
    AlertEmailStatus,
    AlertKind,
    CustodyStatus,
    DeadlineStatus,
    Membership,
    Prisoner,
    RiskLevel,
)
from cases.models.reminders import MAX_ATTEMPTS
from cases.selectors import reminders as reminder_selectors

from .profiles import profile_get
from .reminders.enqueue import send_task_soon
from .reminders.recovery import LEASE, db_retry, this_worker
from .reminders.smtp import smtp_close, smtp_open
from .transitions import save_tracked

log = logging.getLogger(__name__)

SEND_TASK = "cases.send_alert_emails"
BATCH_SIZE = 20
RENEW_EVERY = 15.0  # seconds, as the reminders' dispatcher renews its lease
TIME_BUDGET = dt.timedelta(seconds=120)
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(minutes=30)  # urgent: never wait longer than this between tries


# --- Raising ----------------------------------------------------------------------------------
def alert_kinds_for_change(*, before: dict, prisoner: Prisoner) -> list[str]:
    """The alerts a change calls for: only a move *into* the state, never a save that keeps it
    (``before`` holds the stored ``risk_level`` and ``custody_status``)."""
    kinds = []
    if prisoner.risk_level == RiskLevel.IMMINENT and before["risk_level"] != RiskLevel.IMMINENT:
        kinds.append(AlertKind.IMMINENT_RISK)
    if (
        prisoner.custody_status == CustodyStatus.IN_EXCHANGE_POOL
        and before["custody_status"] != CustodyStatus.IN_EXCHANGE_POOL
    ):
        kinds.append(AlertKind.EXCHANGE_POOL)
    return kinds


def stored_alert_state(prisoner: Prisoner) -> dict:
    """The person's stored risk and custody, locked until the change commits, so two people
    raising the risk at once make one alert, not two."""
    return (
        Prisoner.objects.select_for_update()
        .filter(pk=prisoner.pk)
        .values("risk_level", "custody_status")
        .get()
    )


def alerts_for_change(
    *, before: dict, prisoner: Prisoner, by: AbstractBaseUser | None, reason: str
) -> list[Alert]:
    """Raise what the change calls for (inside the caller's transaction)."""
    alerts = []
    for kind in alert_kinds_for_change(before=before, prisoner=prisoner):
        alerts += alert_raise(prisoner=prisoner, kind=kind, by=by, reason=reason)
    return alerts


def alert_recipients(alert: Alert) -> list:
    """Who is told, each once: the owning organization's coordinators, the case's
    coordinators, the assignees of its open deadlines; active, with an email address, and able
    to see the case (the owner's coordinators always: the person is theirs)."""
    User = get_user_model()
    case = alert.case
    owners = set(
        User.objects.filter(
            is_active=True,
            memberships__organization_id=alert.prisoner.owner_id,
            memberships__role=Membership.Role.COORDINATOR,
        ).values_list("pk", flat=True)
    )
    on_case = set(reminder_selectors.case_coordinators(case).values_list("pk", flat=True))
    on_case |= set(
        User.objects.filter(
            is_active=True,
            assigned_deadlines__case=case,
            assigned_deadlines__status=DeadlineStatus.OPEN,
        ).values_list("pk", flat=True)
    )
    candidates = User.objects.filter(pk__in=owners | on_case).exclude(email="").order_by("pk")
    return [
        user
        for user in candidates
        if user.pk in owners or access.cases_visible_to(user).filter(pk=case.pk).exists()
    ]


def alert_raise(
    *, prisoner: Prisoner, kind: str, by: AbstractBaseUser | None, reason: str = ""
) -> list[Alert]:
    """An alert on each case the person is on, with its checklist and its emails (sent by the
    worker once this commits). None if the person is on no case."""
    now = timezone.now()
    alerts = []
    with transaction.atomic():
        for case in prisoner.cases.select_related("lead_organization"):
            alert = Alert(
                case=case, prisoner=prisoner, kind=kind, raised_by=by, raised_at=now, reason=reason
            )
            save_tracked(alert, by=by, reason=reason or str(alert.get_kind_display()))
            for position, (item, _label) in enumerate(CHECKLISTS[kind]):
                save_tracked(
                    AlertCheck(alert=alert, item=item, position=position),
                    by=by,
                    reason="Alert raised",
                )
            AlertEmail.objects.bulk_create(
                [
                    AlertEmail(alert=alert, recipient=user, next_attempt_at=now)
                    for user in alert_recipients(alert)
                ],
                ignore_conflicts=True,
            )
            alerts.append(alert)
        if alerts:
            transaction.on_commit(alert_emails_send_soon)
        else:
            log.warning("Alert %s for person %s: on no case, nobody to tell.", kind, prisoner.pk)
    return alerts


def alert_emails_send_soon() -> None:
    """Ask a worker to send now; beat's sweep every minute sends the rows anyway."""
    # By name: no import of cases.tasks (which imports this), and no need for the task to be
    # registered in this process (a web or shell process never imports it).
    send_task_soon(SEND_TASK)


# --- The checklist and closing ----------------------------------------------------------------
def alert_check_set(*, check: AlertCheck, done: bool, by: AbstractBaseUser) -> AlertCheck:
    """Tick or untick one item; who and when are on the row and in its history."""
    with transaction.atomic():
        check = AlertCheck.objects.select_for_update().select_related("alert").get(pk=check.pk)
        if not check.alert.is_open:
            raise ValidationError(_("This alert is closed."))
        if check.done == done:
            return check
        check.done = done
        check.done_by = by if done else None
        check.done_at = timezone.now() if done else None
        save_tracked(check, by=by, reason="Done" if done else "Not done")
    return check


def alert_close(*, alert: Alert, by: AbstractBaseUser, reason: str) -> Alert:
    """Close an open alert, with the reason on record."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the alert is closed: it is kept on record.")})
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if not alert.is_open:
            raise ValidationError(_("This alert is closed."))
        alert.closed_at = timezone.now()
        alert.closed_by = by
        alert.close_reason = reason
        save_tracked(alert, by=by, reason=reason)
    return alert


# --- Sending ----------------------------------------------------------------------------------
@dataclass
class AlertSendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    recovered: int = 0


def _backoff(attempts: int) -> dt.timedelta:
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def alert_emails_recover(*, now: dt.datetime | None = None) -> int:
    """Rows whose sender died mid-send go back to the queue once their lease ran out (with
    their Message-ID); after ``MAX_ATTEMPTS`` they fail instead."""
    now = now or timezone.now()
    expired = AlertEmail.objects.filter(status=AlertEmailStatus.SENDING, lease_expires_at__lte=now)
    expired.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=AlertEmailStatus.FAILED,
        claim_token=None,
        lease_expires_at=None,
        last_error=_("A worker stopped while sending; delivery is unknown."),
        updated_at=now,
    )
    return expired.update(
        status=AlertEmailStatus.PENDING,
        claim_token=None,
        lease_expires_at=None,
        next_attempt_at=now,
        updated_at=now,
    )


def alert_emails_recover_worker(*, worker: str, started_at: dt.datetime) -> int:
    """A worker starting again takes back at once the rows it held when it stopped."""
    now = timezone.now()
    recovered = AlertEmail.objects.filter(
        status=AlertEmailStatus.SENDING, claimed_by=worker, claimed_at__lt=started_at
    ).update(
        status=AlertEmailStatus.PENDING,
        claim_token=None,
        lease_expires_at=None,
        next_attempt_at=now,
        updated_at=now,
    )
    if recovered:
        log.warning("Took back %s alert email(s) that %s held when it stopped.", recovered, worker)
        alert_emails_send_soon()
    return recovered


def _claim(*, worker: str, limit: int) -> tuple[uuid.UUID, list[AlertEmail]]:
    """Take due rows for this sender: locked rows are skipped, so two senders never share one."""
    token = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            AlertEmail.objects.select_for_update(skip_locked=True)
            .filter(status=AlertEmailStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            AlertEmail.objects.filter(pk__in=ids, status=AlertEmailStatus.PENDING).update(
                status=AlertEmailStatus.SENDING,
                claim_token=token,
                claimed_by=worker,
                claimed_at=now,
                lease_expires_at=now + LEASE,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
    rows = list(
        AlertEmail.objects.filter(claim_token=token, status=AlertEmailStatus.SENDING)
        .select_related("alert__case", "alert__prisoner", "recipient")
        .order_by("pk")
    )
    return token, rows


def _finish(row: AlertEmail, token: uuid.UUID, **values) -> bool:
    """Record an outcome, only while the row is still this claim's."""
    return bool(
        db_retry(
            lambda: AlertEmail.objects.filter(
                pk=row.pk, claim_token=token, status=AlertEmailStatus.SENDING
            ).update(claim_token=None, lease_expires_at=None, updated_at=timezone.now(), **values)
        )
    )


def _still_ours(row: AlertEmail, token: uuid.UUID) -> bool:
    return db_retry(
        lambda: AlertEmail.objects.filter(
            pk=row.pk, claim_token=token, status=AlertEmailStatus.SENDING
        ).exists()
    )


def _reason_not_to_send(row: AlertEmail) -> str:
    alert, recipient = row.alert, row.recipient
    if Alert.objects.filter(pk=alert.pk, closed_at__isnull=False).exists():
        return _("The alert was closed before its email went out.")
    if not recipient.is_active:
        return _("The recipient's account is inactive.")
    if not recipient.email:
        return _("The recipient has no email address.")
    owner = Membership.objects.filter(
        user=recipient, organization_id=alert.prisoner.owner_id
    ).exists()
    if not owner and not access.cases_visible_to(recipient).filter(pk=alert.case_id).exists():
        return _("The recipient can no longer see this case.")
    return ""


def alert_email_message(row: AlertEmail) -> EmailMultiAlternatives:
    """The email, in the recipient's language: the kind of alert and a link, never who.

    No code, name or case title (docs/security.md): "a person on case <reference>". Who may
    not see the case (an owner's coordinator, on a partner's case) gets the person's page.
    """
    alert, recipient = row.alert, row.recipient
    may_see_case = access.cases_visible_to(recipient).filter(pk=alert.case_id).exists()
    if may_see_case:
        url = settings.SITE_URL + reverse("cases:case-detail", args=[alert.case_id])
    else:
        url = settings.SITE_URL + reverse("cases:prisoner-detail", args=[alert.prisoner_id])
    profile = profile_get(recipient)
    with translation.override(profile.language or settings.LANGUAGE_CODE):
        context = {
            "LANGUAGE_CODE": translation.get_language(),
            "kind": alert.get_kind_display(),
            "imminent": alert.kind == AlertKind.IMMINENT_RISK,
            "reference": alert.case.reference if may_see_case else "",
            "url": url,
            "items": [str(label) for _key, label in CHECKLISTS[alert.kind]],
        }
        subject = " ".join(render_to_string("emails/alert_subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("emails/alert.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient.email],
            headers={
                "Message-ID": row.message_id,
                "Auto-Submitted": "auto-generated",
                "X-Auto-Response-Suppress": "All",
                "Importance": "high",
            },
        )
        message.attach_alternative(render_to_string("emails/alert.html", context), "text/html")
    return message


def _send_batch(rows: list[AlertEmail], token: uuid.UUID, result: AlertSendResult) -> None:
    mail = get_connection(fail_silently=False)
    broken = smtp_open(mail)
    renewed = timezone.now()
    untried = [row.pk for row in rows]
    try:
        for index, row in enumerate(rows):
            untried = [other.pk for other in rows[index + 1 :]]
            if (timezone.now() - renewed).total_seconds() >= RENEW_EVERY:
                db_retry(
                    lambda: AlertEmail.objects.filter(
                        claim_token=token, status=AlertEmailStatus.SENDING
                    ).update(lease_expires_at=timezone.now() + LEASE)
                )
                renewed = timezone.now()
            reason = db_retry(lambda row=row: _reason_not_to_send(row))
            if reason:
                if _finish(
                    row,
                    token,
                    status=AlertEmailStatus.CANCELLED,
                    cancelled_reason=reason[:200],
                    attempts=F("attempts") - 1,
                ):
                    result.cancelled += 1
                continue
            if not _still_ours(row, token):
                continue  # another sender took it after our lease ran out
            error = broken
            if error is None:
                try:
                    message = alert_email_message(row)
                    message.connection = mail
                    if mail.send_messages([message]) != 1:
                        error = RuntimeError("The mail backend did not accept the message.")
                except (OSError, smtplib.SMTPException) as exc:
                    error = exc
            if error is None:
                # Marked at once, one by one: alerts are few, and this keeps the window in
                # which a killed worker could send one twice to this single email.
                if _finish(row, token, status=AlertEmailStatus.SENT, sent_at=timezone.now()):
                    result.sent += 1
                log.info("Sent alert email %s to %s.", row.pk, row.recipient.email)
                continue
            _record_failure(row, token, error, result)
            if not isinstance(error, smtplib.SMTPRecipientsRefused):
                smtp_close(mail)
                broken = smtp_open(mail)
        untried = []
    finally:
        smtp_close(mail)
        if untried:  # stopped on an error before trying these: hand them back untouched
            db_retry(
                lambda: AlertEmail.objects.filter(
                    pk__in=untried, claim_token=token, status=AlertEmailStatus.SENDING
                ).update(
                    status=AlertEmailStatus.PENDING,
                    claim_token=None,
                    lease_expires_at=None,
                    attempts=F("attempts") - 1,
                    next_attempt_at=timezone.now(),
                )
            )


def _record_failure(
    row: AlertEmail, token: uuid.UUID, error: Exception, result: AlertSendResult
) -> None:
    text = f"{type(error).__name__}: {error}"[:2000]
    refused = isinstance(error, smtplib.SMTPRecipientsRefused) and all(
        500 <= code < 600 for code, _message in error.recipients.values()
    )
    if refused or row.attempts >= MAX_ATTEMPTS:
        if _finish(row, token, status=AlertEmailStatus.FAILED, last_error=text):
            result.failed += 1
            log.error("Alert email %s failed after %s attempt(s): %s", row.pk, row.attempts, text)
        return
    retry_at = timezone.now() + _backoff(row.attempts)
    if _finish(
        row, token, status=AlertEmailStatus.PENDING, next_attempt_at=retry_at, last_error=text
    ):
        result.retrying += 1
        log.warning("Alert email %s not sent (attempt %s): %s", row.pk, row.attempts, text)


def alert_emails_send(
    *, worker: str = "", batch_size: int = BATCH_SIZE, time_budget: dt.timedelta = TIME_BUDGET
) -> AlertSendResult:
    """One round: take back what dead senders left, then send every due alert email once."""
    result = AlertSendResult()
    worker = worker or this_worker()
    stop_at = timezone.now() + time_budget
    result.recovered = db_retry(alert_emails_recover)
    while timezone.now() < stop_at:
        token, rows = db_retry(lambda: _claim(worker=worker, limit=batch_size))
        if not rows:
            break
        _send_batch(rows, token, result)
    return result
