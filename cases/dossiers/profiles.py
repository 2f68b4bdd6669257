"""Audience profiles: declared once, here. The export form shows them, the content builder
obeys them, and tests/test_dossiers.py checks every field of a case against them.

A profile is a set of *facets* it keeps; anything not kept is left out of the data before
rendering (never drawn over). Three facets are need-to-know on top of that (``IDENTITY``):
they are kept for a person only when the profile keeps them AND the exporter may see that
person's identity (``cases.access.may_see_identity``).

What every profile shows: the case's reference, title, summary, status and priority, its
lead and partner organizations, the people's codes with custody status, wish, risk and
ICRC/UNHCR registration status, capture date and place, the detaining authority, petitions
(title, addressee, filing date, status, kinds of request, legal bases), events and petitions
on the timeline, open deadlines (title, kind, date).
"""

from dataclasses import dataclass

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _


class Facet:
    LEGAL_NAME = "legal_name"
    PERSON_NOTES = "person_notes"
    HEALTH_NOTES = "health_notes"
    PERSON_DETAILS = "person_details"
    PLACES_OF_DETENTION = "places_of_detention"
    REFERENCES = "references"
    SOURCES = "sources"
    INTERNAL_NOTES = "internal_notes"
    STAFF_NAMES = "staff_names"
    PETITION_TEXTS = "petition_texts"
    DOCUMENTS = "documents"
    FULL_TIMELINE = "full_timeline"


# Facets that also need the exporter's right to see the person's identity.
IDENTITY = frozenset({Facet.LEGAL_NAME, Facet.PERSON_NOTES, Facet.HEALTH_NOTES})

FACET_LABELS = {
    Facet.LEGAL_NAME: _("Legal names of people of concern (if you may see them)"),
    Facet.PERSON_NOTES: _("Notes on people of concern (if you may see their identity)"),
    Facet.HEALTH_NOTES: _("Health notes (if you may see the person's identity)"),
    Facet.PERSON_DETAILS: _("Nationality, birth year, rank and unit"),
    Facet.PLACES_OF_DETENTION: _("Places of detention, and changes of them"),
    Facet.REFERENCES: _("ICRC and UNHCR reference numbers"),
    Facet.SOURCES: _("Sources: of events, of a person's wish"),
    Facet.INTERNAL_NOTES: _("Internal notes: reasons given for changes, deadline notes"),
    Facet.STAFF_NAMES: _("User names of the team: who logged or recorded what"),
    Facet.PETITION_TEXTS: _("Petition summaries, request texts, responses received"),
    Facet.DOCUMENTS: _("The list of documents with their SHA-256 (and annexes, if chosen)"),
    Facet.FULL_TIMELINE: _(
        "The full timeline: event descriptions, every status change and change of a person"
    ),
}
ALL_FACETS = frozenset(FACET_LABELS)


@dataclass(frozen=True)
class Profile:
    key: str
    label: str
    description: str
    keeps: frozenset[str]
    # Sending this outside the team is a decision for the case's lead organization
    # (cases.access.may_export).
    external: bool

    @property
    def hides(self) -> frozenset[str]:
        return ALL_FACETS - self.keeps

    def keeps_label_list(self) -> list[str]:
        return [str(FACET_LABELS[f]) for f in FACET_LABELS if f in self.keeps]

    def hides_label_list(self) -> list[str]:
        return [str(FACET_LABELS[f]) for f in FACET_LABELS if f not in self.keeps]


_f = Facet
PROFILES: dict[str, Profile] = {
    p.key: p
    for p in [
        Profile(
            key="internal",
            label=_("Internal"),
            description=_("For your own team: everything you may see."),
            keeps=ALL_FACETS,
            external=False,
        ),
        Profile(
            key="partner",
            label=_("Partner organization"),
            description=_(
                "For an organization working on the case with you: the work, not identities."
            ),
            keeps=ALL_FACETS - {_f.LEGAL_NAME, _f.PERSON_NOTES, _f.HEALTH_NOTES},
            external=False,
        ),
        Profile(
            key="authority",
            label=_("Authority"),
            description=_(
                "For the authority a petition is addressed to: no identities, no sources, "
                "no internal notes, no health notes, no names of the team."
            ),
            keeps=frozenset(
                {
                    _f.PERSON_DETAILS,
                    _f.PLACES_OF_DETENTION,
                    _f.REFERENCES,
                    _f.PETITION_TEXTS,
                    _f.DOCUMENTS,
                    _f.FULL_TIMELINE,
                }
            ),
            external=True,
        ),
        Profile(
            key="icrc_unhcr",
            label=_("ICRC / UNHCR"),
            description=_(
                "For a protection mandate: identities and health notes if you may see them; "
                "no internal notes, sources or names of the team."
            ),
            keeps=frozenset(
                {
                    _f.LEGAL_NAME,
                    _f.HEALTH_NOTES,
                    _f.PERSON_DETAILS,
                    _f.PLACES_OF_DETENTION,
                    _f.REFERENCES,
                    _f.PETITION_TEXTS,
                    _f.DOCUMENTS,
                    _f.FULL_TIMELINE,
                }
            ),
            external=True,
        ),
        Profile(
            key="public",
            label=_("Public / donor"),
            description=_(
                "For publication or a donor: codes only, no places of detention, the "
                "timeline as events and petitions with everything else counted."
            ),
            keeps=frozenset(),
            external=True,
        ),
    ]
}
DEFAULT_PROFILE = "internal"


def profile_choices() -> list[tuple[str, str]]:
    return [(p.key, p.label) for p in PROFILES.values()]


def get_profile(key: str) -> Profile:
    try:
        return PROFILES[key]
    except KeyError:
        raise ValueError(f"No audience profile {key!r}.") from None


profile_label = lazy(lambda key: str(PROFILES[key].label) if key in PROFILES else key, str)
