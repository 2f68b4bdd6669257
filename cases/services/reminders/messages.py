"""Messages: the emails a reminder row becomes, in the recipient's language and time zone.

Built from the deadline as it is when the email goes out (the dispatcher passes the row it has
just re-checked). Everyone told the same thing about one deadline on one day, in one language,
reads the same email but for To, Date and Message-ID, so that email is rendered and serialized
once per round (``MessageCache``) and only those headers are written per recipient.
"""

import base64
import re
import uuid
from dataclasses import dataclass, field
from email.mime.text import MIMEText
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import forbid_multi_line_headers
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import (
    DatePrecision,
    Deadline,
    DeadlineKind,
    PetitionStatus,
    Reminder,
    ReminderKind,
    ReminderStatus,
    UserProfile,
)
from cases.models.dates import format_fuzzy_date, period_end
from cases.selectors import reminders as selectors

from .calendar import deadlines_to_ical
from .common import deadline_passes_at, deadline_version, people_named, profile_of, zone

# Serialized emails one round keeps for reuse (one per deadline, day and language): a bound on
# memory in a round that meets very many deadlines, far above what one day brings.
TEMPLATES_KEPT = 1000
# A petition still waiting for an answer may be marked "no response" when its reply is overdue.
_AWAITING_REPLY = {PetitionStatus.FILED, PetitionStatus.ACKNOWLEDGED, PetitionStatus.UNDER_REVIEW}


@dataclass
class MessageCache:
    """What one round renders or looks up only once: who is assigned to what, each
    deadline's calendar file, each serialized email, the addresses of pages."""

    assignees: dict[int, set[int]] = field(default_factory=dict)
    calendars: dict[tuple, str] = field(default_factory=dict)
    templates: dict[tuple, "_Template"] = field(default_factory=dict)
    urls: dict[tuple, str] = field(default_factory=dict)

    def is_assigned(self, deadline: Deadline, user_id: int) -> bool:
        if deadline.pk not in self.assignees:
            self.look_up_assignees([deadline.pk])
        return user_id in self.assignees[deadline.pk]

    def look_up_assignees(self, deadline_ids) -> None:
        """Who is assigned to each of these deadlines: one query for a whole batch (one per
        deadline was a third of the database time with two recipients per deadline)."""
        wanted = set(deadline_ids) - set(self.assignees)
        if not wanted:
            return
        for deadline_id in wanted:
            self.assignees[deadline_id] = set()
        through = Deadline.assignees.through
        for deadline_id, user_id in through.objects.filter(deadline_id__in=wanted).values_list(
            "deadline_id", "user_id"
        ):
            self.assignees[deadline_id].add(user_id)

    def url(self, name: str, *args) -> str:
        if (name, *args) not in self.urls:
            self.urls[(name, *args)] = getattr(selectors, name)(*args)
        return self.urls[(name, *args)]

    def calendar(self, deadlines: list[Deadline], recipient) -> str:
        """The .ics attachment; the same for everyone unless names are allowed."""
        key = (
            tuple(deadline.pk for deadline in deadlines),
            translation.get_language(),
            recipient.pk if settings.NAMES_IN_NOTIFICATIONS else None,
        )
        if key not in self.calendars:
            self.calendars[key] = deadlines_to_ical(deadlines, for_user=recipient, method="PUBLISH")
        return self.calendars[key]


def _when(deadline: Deadline, days_left: int) -> str:
    """How far away the deadline is, in words; months are counted to their last day."""
    if days_left < 0:
        return ngettext("%(days)d day overdue", "%(days)d days overdue", -days_left) % {
            "days": -days_left
        }
    if deadline.due_precision == DatePrecision.MONTH:
        period = format_fuzzy_date(deadline.due_on, deadline.due_precision)
        return ngettext(
            "%(days)d day left until the end of %(period)s",
            "%(days)d days left until the end of %(period)s",
            days_left,
        ) % {"days": days_left, "period": period}
    if days_left == 0:
        return _("Today")
    if days_left == 1:
        return _("Tomorrow")
    return ngettext("In %(days)d day", "In %(days)d days", days_left) % {"days": days_left}


def days_left_for(deadline: Deadline, profile: UserProfile) -> int:
    """Whole days from the recipient's today to the deadline's last day."""
    today = timezone.now().astimezone(zone(profile.effective_time_zone)).date()
    return (period_end(deadline.due_on, deadline.due_precision) - today).days


def _deadline_context(deadline: Deadline, recipient, profile: UserProfile, round_) -> dict:
    days_left = days_left_for(deadline, profile)
    names = settings.NAMES_IN_NOTIFICATIONS
    petition = deadline.petition
    return {
        "deadline": deadline,
        "reference": deadline.case.reference,
        "title": deadline.title,
        "kind": deadline.get_kind_display(),
        "due": deadline.due_display,
        "month_precision": deadline.due_precision == DatePrecision.MONTH,
        "days_left": days_left,
        "when": _when(deadline, days_left),
        "case_url": round_.url("case_url", deadline.case),
        "case_title": deadline.case.title if names else "",
        "people": people_named(deadline, recipient),
        "suggest_no_response": deadline.kind == DeadlineKind.REPLY_DUE
        and petition is not None
        and petition.status in _AWAITING_REPLY,
    }


def _render(name: str, context: dict, round_) -> tuple[str, str, str]:
    context.setdefault("LANGUAGE_CODE", translation.get_language())
    context.setdefault("settings_url", round_.url("settings_url"))
    subject = render_to_string(f"emails/{name}_subject.txt", context)
    subject = " ".join(subject.split())
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    return subject, text, html


def _ics_part(ical: str) -> MIMEText:
    part = MIMEText(ical, "calendar", "utf-8")
    part.set_param("method", "PUBLISH")
    part.add_header("Content-Disposition", "attachment", filename="deadline.ics")
    return part


# Each email of a template has its own To, Date and Message-ID; everything else is the
# template's.
# Values that go into those headers and the SMTP envelope as they are: ASCII, no spaces, no
# line breaks, nothing to encode or quote. Anything else takes Django's path, which checks.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_PLAIN_MESSAGE_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+>")


@dataclass
class _Template:
    """An email as everyone told the same thing reads it: subject, text, HTML, calendar file.

    Serializing the MIME message was the costliest step of sending a reminder
    (bench/reminders_delivery.py), and everyone reminded of one deadline on one day, in one
    language, gets the same message but for To, Date and Message-ID. So a template is
    serialized once, by Django, without those three headers (``serialized``), and each email
    puts its own in front (``_Email.as_bytes``).
    """

    subject: str
    text: str
    html: str
    ical: str
    _serialized: bytes | None = None

    def message(self, *, to: str, message_id: str) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=self.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={
                "Message-ID": message_id,
                "Auto-Submitted": "auto-generated",
                "X-Auto-Response-Suppress": "All",
            },
        )
        message.attach_alternative(self.html, "text/html")
        message.attach(_ics_part(self.ical))
        return message

    def serialized(self) -> bytes:
        """The message as it goes on the wire, less the headers of each email.

        The same MIME tree and headers as Django's message (``message()``), written out
        directly, every part in base64: Python's email generator took 1 to 2 ms per message,
        the costliest step of an email to one or two people (bench/reminders_delivery.py).
        Header values go through Django's own checks and encoding.
        """
        if self._serialized is None:
            mixed, alternative = (f"==============={uuid.uuid4().hex}==" for _ in range(2))
            head = [
                f'Content-Type: multipart/mixed; boundary="{mixed}"',
                "MIME-Version: 1.0",
                _header("Subject", self.subject),
                _header("From", settings.DEFAULT_FROM_EMAIL),
                "Auto-Submitted: auto-generated",
                "X-Auto-Response-Suppress: All",
                "",
                f"--{mixed}",
                f'Content-Type: multipart/alternative; boundary="{alternative}"',
                "MIME-Version: 1.0",
                "",
                f"--{alternative}",
                _part(self.text, 'text/plain; charset="utf-8"'),
                f"--{alternative}",
                _part(self.html, 'text/html; charset="utf-8"'),
                f"--{alternative}--",
                "",
                f"--{mixed}",
                _part(
                    self.ical,
                    'text/calendar; charset="utf-8"; method="PUBLISH"',
                    'Content-Disposition: attachment; filename="deadline.ics"',
                ),
                f"--{mixed}--",
                "",
            ]
            self._serialized = "\r\n".join(head).encode("ascii")
        return self._serialized


def _header(name: str, value: str) -> str:
    """A header as Django's email writes it (no line breaks; encoded if not ASCII)."""
    name, value = forbid_multi_line_headers(name, value, settings.DEFAULT_CHARSET)
    return f"{name}: {value}".replace("\r\n", "\n").replace("\n", "\r\n")


def _part(content: str, content_type: str, *headers: str) -> str:
    """One leaf of the MIME tree, base64-encoded (no line is ever too long, 8-bit or not)."""
    body = base64.encodebytes(content.encode("utf-8")).decode("ascii").replace("\n", "\r\n")
    return "\r\n".join(
        (
            f"Content-Type: {content_type}",
            "MIME-Version: 1.0",
            "Content-Transfer-Encoding: base64",
            *headers,
            "",
            body,
        )
    )


@dataclass(frozen=True)
class _Email:
    """One email: a template, and who it goes to under which Message-ID."""

    template: _Template
    to: str
    message_id: str

    def message(self) -> EmailMultiAlternatives:
        """The email as a Django message, for any mail backend."""
        return self.template.message(to=self.to, message_id=self.message_id)

    def as_bytes(self) -> bytes | None:
        """The email as it goes on the wire, or None if its headers need Django's checks.

        The same bytes as ``message().message().as_bytes(linesep="\r\n")`` but for the order
        of the headers and the MIME boundaries.
        """
        if not (_PLAIN_ADDRESS.fullmatch(self.to) and _PLAIN_MESSAGE_ID.fullmatch(self.message_id)):
            return None
        date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        own = f"To: {self.to}\r\nDate: {date}\r\nMessage-ID: {self.message_id}\r\n"
        return own.encode("ascii") + self.template.serialized()


def build_email(row: Reminder, round_: "MessageCache"):
    """A callable building the row's email in the recipient's language and time zone."""

    def build() -> _Email:
        recipient = row.recipient
        profile = profile_of(recipient)
        language = profile.language or settings.LANGUAGE_CODE
        deadline = row.deadline
        # Everyone told about this deadline today, in the same language, reads the same email
        # (no names in it): render and serialize it once per round, and only then switch to
        # the reader's language and time zone.
        name = "overdue" if row.kind == ReminderKind.OVERDUE else "reminder"
        assigned = round_.is_assigned(deadline, recipient.pk)
        late = row.kind == ReminderKind.OVERDUE and recorded_late(row)
        key = (
            name,
            deadline.pk,
            deadline_version(deadline),  # read again just before sending if it changed
            late,
            language,
            days_left_for(deadline, profile),
            assigned,
            recipient.pk if settings.NAMES_IN_NOTIFICATIONS else None,
        )
        if key not in round_.templates:
            if len(round_.templates) >= TEMPLATES_KEPT:
                round_.templates.clear()
            with (
                translation.override(language),
                timezone.override(zone(profile.effective_time_zone)),
            ):
                context = _deadline_context(deadline, recipient, profile, round_)
                context["assigned"] = assigned
                context["recorded_late"] = late
                round_.templates[key] = _Template(
                    *_render(name, context, round_), ical=round_.calendar([deadline], recipient)
                )
        return _Email(round_.templates[key], to=recipient.email, message_id=row.message_id)

    return build


def recorded_late(row: Reminder) -> bool:
    """Whether an overdue notice is about a deadline that had already passed when it was
    entered or moved there: it goes out once, on purpose, and says so."""
    return row.created_at is not None and row.created_at >= deadline_passes_at(row.deadline)


def build_digest(rows: list[Reminder], message_id: str, round_: "MessageCache"):
    def build() -> _Email:
        recipient = rows[0].recipient
        profile = profile_of(recipient)
        with (
            translation.override(profile.language or settings.LANGUAGE_CODE),
            timezone.override(zone(profile.effective_time_zone)),
        ):
            items = []
            for row in sorted(rows, key=lambda row: (row.deadline.due_on, row.pk)):
                item = _deadline_context(row.deadline, recipient, profile, round_)
                item["overdue"] = row.kind == ReminderKind.OVERDUE
                items.append(item)
            context = {
                "recipient": recipient,
                "items": items,
                "count": len(items),
                "today": timezone.localdate(),
            }
            deadlines = list({row.deadline_id: row.deadline for row in rows}.values())
            template = _Template(
                *_render("digest", context, round_), ical=round_.calendar(deadlines, recipient)
            )
            return _Email(template, to=recipient.email, message_id=message_id)

    return build


def build_failure_summary(rows: list[Reminder], message_id: str, round_: "MessageCache"):
    """One email telling a coordinator every reminder that could not be delivered, each with
    where it stands now (a reminder retried by itself may have gone out in the end)."""

    def build() -> _Email:
        recipient = rows[0].recipient
        profile = profile_of(recipient)
        with (
            translation.override(profile.language or settings.LANGUAGE_CODE),
            timezone.override(zone(profile.effective_time_zone)),
        ):
            items = []
            for row in sorted(rows, key=lambda row: (row.deadline.due_on, row.pk)):
                failed = row.about
                failed.refresh_from_db(fields=["status", "attempts", "last_error", "sent_at"])
                item = _deadline_context(row.deadline, recipient, profile, round_)
                item.update(
                    failed_recipient=failed.recipient.get_full_name() or failed.recipient.username,
                    failed_email=failed.recipient.email,
                    failed_error=failed.last_error,
                    failed_attempts=failed.attempts,
                    delivered_late=failed.status == ReminderStatus.SENT,
                    state=failed.get_status_display(),
                )
                items.append(item)
            context = {"recipient": recipient, "items": items, "count": len(items)}
            deadlines = list({row.deadline_id: row.deadline for row in rows}.values())
            template = _Template(
                *_render("failure_report", context, round_),
                ical=round_.calendar(deadlines, recipient),
            )
            return _Email(template, to=recipient.email, message_id=message_id)

    return build
