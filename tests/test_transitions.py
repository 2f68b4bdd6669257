"""Every allowed and every refused status transition, for each tracked status.

Each allowed move leaves a history row naming who and why; each refused one changes nothing.
"""

import pytest
from django.core.exceptions import ValidationError

from cases import models, services
from tests import factories


def _petition_at(status, *, case, by):
    petition = factories.make_petition(case=case, by=by)
    # Walk the shortest allowed path from "filed" (or stay a draft) to reach ``status``.
    paths = {
        models.PetitionStatus.DRAFT: None,
        models.PetitionStatus.FILED: [],
        models.PetitionStatus.NO_RESPONSE: ["no_response"],
        models.PetitionStatus.PARTLY_GRANTED: ["partly_granted"],
    }
    if paths.get(status, ...) is None:
        return factories.make_petition(case=case, by=by, status=models.PetitionStatus.DRAFT)
    for step in paths.get(status, [status]):
        services.petition_change_status(petition=petition, to=step, by=by, reason="setup")
    return petition


def _deadline_at(status, *, case, by):
    deadline = factories.make_deadline(case=case, by=by)
    if status != models.DeadlineStatus.OPEN:
        services.deadline_change_status(deadline=deadline, to=status, by=by, reason="setup")
    return deadline


def _case_at(status, *, case, by):
    if status != models.CaseStatus.OPEN:
        services.case_change_status(case=case, to=status, by=by, reason="setup")
    return case


def _prisoner_at(status, *, case, by):
    return factories.PrisonerFactory(custody_status=status)


KINDS = {
    "petition": (
        models.PetitionStatus.values,
        models.PETITION_TRANSITIONS,
        _petition_at,
        lambda obj, to, by, reason: services.petition_change_status(
            petition=obj, to=to, by=by, reason=reason
        ),
    ),
    "deadline": (
        models.DeadlineStatus.values,
        models.DEADLINE_TRANSITIONS,
        _deadline_at,
        lambda obj, to, by, reason: services.deadline_change_status(
            deadline=obj, to=to, by=by, reason=reason
        ),
    ),
    "case": (
        models.CaseStatus.values,
        models.CASE_TRANSITIONS,
        _case_at,
        lambda obj, to, by, reason: services.case_change_status(
            case=obj, to=to, by=by, reason=reason
        ),
    ),
    "custody": (
        models.CustodyStatus.values,
        models.CUSTODY_TRANSITIONS,
        _prisoner_at,
        lambda obj, to, by, reason: services.prisoner_change_custody(
            prisoner=obj, to=to, by=by, reason=reason
        ),
    ),
}

PAIRS = [
    pytest.param(kind, source, target, id=f"{kind}:{source}->{target}")
    for kind, (values, _t, _m, _c) in KINDS.items()
    for source in values
    for target in values
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "source", "target"), PAIRS)
def test_every_transition_is_allowed_or_refused_as_declared(kind, source, target, case, editor):
    _values, transitions, make, change = KINDS[kind]
    obj = make(source, case=case, by=editor)
    assert getattr(obj, obj.status_field) == source
    history_before = obj.history.count()
    allowed = target in transitions[source]

    if allowed:
        change(obj, target, editor, f"moving {source} to {target}")
        obj.refresh_from_db()
        assert getattr(obj, obj.status_field) == target
        latest = obj.history.first()
        assert latest.history_user == editor
        assert latest.history_change_reason == f"moving {source} to {target}"
        assert getattr(latest, obj.status_field) == target
    else:
        with pytest.raises(ValidationError) as refused:
            change(obj, target, editor, "should be refused")
        assert "to" in refused.value.message_dict
        obj.refresh_from_db()
        assert getattr(obj, obj.status_field) == source
        assert obj.history.count() == history_before


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_status_change_needs_a_reason(case, editor, reason):
    petition = factories.make_petition(case=case, by=editor)
    with pytest.raises(ValidationError) as refused:
        services.petition_change_status(
            petition=petition, to=models.PetitionStatus.ACKNOWLEDGED, by=editor, reason=reason
        )
    assert "reason" in refused.value.message_dict
    petition.refresh_from_db()
    assert petition.status == models.PetitionStatus.FILED


@pytest.mark.django_db
def test_status_cannot_change_around_the_service(case, editor):
    petition = factories.make_petition(case=case, by=editor)
    with pytest.raises(models.StatusChangeOutsideServiceError):
        models.Petition.objects.filter(pk=petition.pk).update(status="granted")
    petition.status = models.PetitionStatus.GRANTED
    with pytest.raises(models.StatusChangeOutsideServiceError):
        petition.save()
    assert models.Petition.objects.get(pk=petition.pk).status == models.PetitionStatus.FILED
    # Other fields may still be bulk-updated (no status in them).
    assert models.Petition.objects.filter(pk=petition.pk).update(summary="edited") == 1


@pytest.mark.django_db
def test_closing_a_case_dates_it_and_reopening_clears_the_date(case, coordinator):
    services.case_change_status(case=case, to="closed", by=coordinator, reason="resettled")
    assert case.closed_on is not None
    services.case_change_status(case=case, to="monitoring", by=coordinator, reason="new facts")
    case.refresh_from_db()
    assert case.closed_on is None


@pytest.mark.django_db
def test_done_deadline_records_completion_time_and_reopening_clears_it(case, editor):
    deadline = factories.make_deadline(case=case, by=editor)
    services.deadline_change_status(deadline=deadline, to="done", by=editor, reason="visited")
    assert deadline.completed_at is not None
    services.deadline_change_status(deadline=deadline, to="open", by=editor, reason="mistake")
    deadline.refresh_from_db()
    assert deadline.completed_at is None


@pytest.mark.django_db
def test_filing_a_draft_gives_it_a_filing_date_and_answers_carry_a_response(case, editor):
    import datetime as dt

    draft = factories.make_petition(case=case, by=editor, status="draft")
    assert draft.filed_on is None
    services.petition_change_status(
        petition=draft, to="filed", by=editor, reason="sent", filed_on=dt.date(2026, 1, 3)
    )
    assert draft.filed_on == dt.date(2026, 1, 3)
    services.petition_change_status(
        petition=draft,
        to="partly_granted",
        by=editor,
        reason="letter received",
        response_received_on=dt.date(2026, 2, 1),
        response_summary="Lawyer access granted; exchange question left open.",
    )
    draft.refresh_from_db()
    assert draft.response_received_on == dt.date(2026, 2, 1)
    assert "Lawyer access" in draft.response_summary
    # A response before the filing date is refused by the database rule, and nothing changes.
    with pytest.raises(ValidationError):
        services.petition_change_status(
            petition=draft,
            to="granted",
            by=editor,
            reason="typo",
            response_received_on=dt.date(2025, 12, 1),
        )
    draft.refresh_from_db()
    assert draft.status == "partly_granted"
