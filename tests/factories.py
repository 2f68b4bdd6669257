"""factory_boy factories. Rows with rules are made through the services, as the app does."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from cases import models, services

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Organization {n}")
    kind = models.Organization.Kind.NGO


class AuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Authority
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Authority {n}")
    kind = models.Authority.Kind.GOVERNMENT_BODY
    country = "Ukraine"


class PrisonerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Prisoner

    owner = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"POW-{n:03d}")
    custody_status = models.CustodyStatus.DETAINED


def member(organization, role: str, **user_fields):
    user = UserFactory(**user_fields)
    models.Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    return user


def make_case(*, lead_organization=None, by=None, **fields):
    lead_organization = lead_organization or OrganizationFactory()
    by = by or UserFactory()
    fields.setdefault("title", "A case")
    return services.case_create(by=by, lead_organization=lead_organization, **fields)


def make_petition(*, case, by, status=models.PetitionStatus.FILED, **fields):
    fields.setdefault("title", "A petition")
    fields.setdefault("addressed_to", AuthorityFactory())
    fields.setdefault("filed_by", [case.lead_organization])
    if status != models.PetitionStatus.DRAFT:
        fields.setdefault("filed_on", dt.date(2026, 1, 3))
    return services.petition_create(case=case, by=by, status=status, **fields)


def make_deadline(*, case, by, **fields):
    fields.setdefault("kind", models.DeadlineKind.FOLLOW_UP_VISIT)
    fields.setdefault("title", "Follow-up visit")
    fields.setdefault("due_on", dt.date(2026, 1, 8))
    return services.deadline_create(case=case, by=by, **fields)
