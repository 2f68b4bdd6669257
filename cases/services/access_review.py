"""The weekly access-review email: each organization's coordinators hear of unusual access to
the cases their organization leads (cases/selectors/access_review.py says what is unusual)."""

import datetime as dt
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from cases.models import AccessReviewDigest, Case, Membership, Organization, UserProfile
from cases.selectors.access_review import access_flags

WEEK = dt.timedelta(days=7)


def _week_before(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The seven whole UTC days before ``now``'s day."""
    end = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    return end - WEEK, end


def access_review_weekly(*, now: dt.datetime | None = None) -> int:
    """Email each organization's coordinators the unusual access of the week before, if any.

    Safe to run twice: the (organization, week) row is claimed in the transaction that sends,
    so a second run finds it and sends nothing. Returns how many emails went out.
    """
    since, until = _week_before(now or timezone.now())
    sent = 0
    organizations = Organization.objects.filter(
        memberships__role=Membership.Role.COORDINATOR, memberships__user__is_active=True
    ).distinct()
    for organization in organizations:
        case_ids = Case.objects.filter(lead_organization=organization).values("pk")
        flags = access_flags(case_ids=case_ids, since=since, until=until)
        if not flags:
            continue
        try:
            with transaction.atomic():
                AccessReviewDigest.objects.create(
                    organization=organization, week_start=since.date(), flags=len(flags)
                )
                sent += _send(organization, flags, since, until)
        except IntegrityError:
            continue  # already sent for this week
    return sent


def _send(organization, flags, since, until) -> int:
    coordinators = (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__organization=organization,
            memberships__role=Membership.Role.COORDINATOR,
        )
        .exclude(email="")
    )
    languages = dict(
        UserProfile.objects.filter(user__in=coordinators).values_list("user_id", "language")
    )
    team_url = urljoin(settings.SITE_URL, reverse("cases:team", args=[organization.pk]))
    count = 0
    for user in coordinators:
        language = languages.get(user.pk) or settings.LANGUAGE_CODE
        with translation.override(language), timezone.override(dt.UTC):
            context = {
                "organization": organization.name,
                "flags": [{"label": f.label, "text": f.text, "at": f.at} for f in flags],
                "since": since,
                "until": until - dt.timedelta(days=1),
                "team_url": team_url,
                "LANGUAGE_CODE": language,
            }
            subject = " ".join(
                render_to_string("emails/access_review_subject.txt", context).split()
            )
            text = render_to_string("emails/access_review.txt", context)
            html = render_to_string("emails/access_review.html", context)
        message = EmailMultiAlternatives(subject, text, to=[user.email])
        message.attach_alternative(html, "text/html")
        message.send()
        count += 1
    return count
