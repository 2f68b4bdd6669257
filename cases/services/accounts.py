"""Emails asked for by someone who is not signed in (a password reset): the same answer, in
the same time, whatever the address, and sent by the worker, never inside the request."""

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.models import PasswordResetRequest

# At most this many reset emails per address and per client address in RESET_WINDOW. Past
# them the page answers as always, and nothing is sent.
RESET_LIMIT_PER_EMAIL = 3
RESET_LIMIT_PER_IP = 10
RESET_WINDOW = dt.timedelta(hours=1)
RESET_KEEP = dt.timedelta(days=1)


def _digest(email: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def password_reset_request(*, email: str, ip: str | None) -> bool:
    """Record a reset request and queue the email (after commit) when within the limits.

    The request does the same work for a known and an unknown address: looking the address
    up and sending happen in the worker (cases.tasks.send_password_reset). Returns whether an
    email was queued.
    """
    now = timezone.now()
    digest = _digest(email)
    recent = PasswordResetRequest.objects.filter(at__gte=now - RESET_WINDOW, sent=True)
    within = recent.filter(email_digest=digest).count() < RESET_LIMIT_PER_EMAIL and (
        ip is None or recent.filter(ip=ip).count() < RESET_LIMIT_PER_IP
    )
    PasswordResetRequest.objects.create(email_digest=digest, ip=ip, sent=within)
    PasswordResetRequest.objects.filter(at__lt=now - RESET_KEEP).delete()
    if within:
        from cases.tasks import send_password_reset

        send_password_reset.delay_on_commit(email)
    return within


def password_reset_send(*, email: str) -> int:
    """Send the reset email to each active account with this address (none: nothing).
    Runs in the worker. Returns how many were sent."""
    from urllib.parse import urlsplit

    from django.contrib.auth.forms import PasswordResetForm

    site = urlsplit(settings.SITE_URL)
    form = PasswordResetForm(data={"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(form.cleaned_data["email"]))
    if users:
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            subject_template_name="registration/password_reset_subject.txt",
            email_template_name="registration/password_reset_email.html",
        )
    return len(users)
