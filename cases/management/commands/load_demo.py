"""Load the reference scenario (shared/scenario.md) as demo data, in our own words.

Only public facts from the news report of 5 January 2026 are used; the two men are known only
as POW-A and POW-B. Running the command twice changes nothing.
"""

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases import services
from cases.models import (
    Authority,
    Case,
    CaseShare,
    CaseStatus,
    Channel,
    CustodyStatus,
    DatePrecision,
    DeadlineKind,
    Event,
    LegalBasis,
    Membership,
    Organization,
    PetitionRequest,
    PetitionStatus,
    Prisoner,
    Registration,
    RiskLevel,
    WishStatus,
)
from cases.services.petitions import RequestSpec

PETITION_FILED_ON = dt.date(2026, 1, 3)  # Saturday before the Monday announcement
ANNOUNCED_AFTER = dt.timedelta(days=2)  # the Monday announcement, the latest past event
CASE_TITLE = "Two North Korean soldiers held in Ukraine: no forced repatriation"

COALITION = "Association of Civil Society Organizations for North Korean Human Rights"
COMMITTEE = "Emergency Committee for the Free Repatriation of North Korean Soldiers"
UKRAINIAN_NGO = "International Human Rights Protection Committee"

COORDINATION_HQ = "Coordination Headquarters for the Treatment of Prisoners of War"
SBU = "Security Service of Ukraine"
MOFA = "Ministry of Foreign Affairs of the Republic of Korea"
ICRC = "International Committee of the Red Cross"
UNHCR = "Office of the UN High Commissioner for Refugees"

# username, organization, role, staff
DEMO_USERS = [
    ("admin", COMMITTEE, Membership.Role.COORDINATOR, True),
    ("coordinator", COMMITTEE, Membership.Role.COORDINATOR, False),
    ("editor", COMMITTEE, Membership.Role.EDITOR, False),
    ("viewer", COMMITTEE, Membership.Role.VIEWER, False),
    ("partner", UKRAINIAN_NGO, Membership.Role.EDITOR, False),
]


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def shift_for(today: dt.date) -> tuple[dt.timedelta, int]:
    """How far --shift-to-today moves the story: days by whole weeks, so that the petition
    was filed on the latest Saturday whose Monday announcement lies in the past (the
    follow-up visit is then the Thursday after, within three days either side of today);
    months by whole months, as many as the filing moved ("March 2025" stays a month, and
    stays before the filing)."""
    latest = today - ANNOUNCED_AFTER
    filed = latest - dt.timedelta(days=(latest.weekday() - PETITION_FILED_ON.weekday()) % 7)
    months = (filed.year - PETITION_FILED_ON.year) * 12 + filed.month - PETITION_FILED_ON.month
    return filed - PETITION_FILED_ON, months


def demo_password(username: str) -> str:
    """A per-installation password: derived from SECRET_KEY, so stable across runs but not
    guessable on an installation whose secret key is secret."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo:{username}".encode(), hashlib.sha256)
    return f"demo-{digest.hexdigest()[:12]}"


class Command(BaseCommand):
    help = "Load the reference case (two North Korean soldiers held in Ukraine) as demo data."

    def add_arguments(self, parser):
        parser.add_argument(
            "--shift-to-today",
            action="store_true",
            help="Move the dates to the present: days by whole weeks (the story's Saturday, "
            "Monday and Thursday stay so), months by whole months, so that the petition was "
            "filed on the latest Saturday that leaves its Monday announcement in the past.",
        )
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="With --shift-to-today: the day to count from (YYYY-MM-DD; default: today).",
        )

    def handle(self, *args, shift_to_today: bool, today: dt.date | None, **options):
        if today is not None and not shift_to_today:
            raise CommandError("--today only makes sense with --shift-to-today.")
        self.offset, self.months = dt.timedelta(0), 0
        if shift_to_today:
            self.offset, self.months = shift_for(today or timezone.localdate())
        self.actor = services.system_actor("load_demo")
        with transaction.atomic():
            orgs = self._organizations()
            authorities = self._authorities()
            prisoners = self._prisoners(orgs[COMMITTEE])
            users = self._users(orgs)
            case = Case.objects.filter(title=CASE_TITLE, lead_organization=orgs[COMMITTEE]).first()
            if case is None:
                case = self._case(orgs, authorities, prisoners, users)
                done = f"Loaded the reference case {case.reference}."
                self.stdout.write(self.style.SUCCESS(done))
            else:
                self.stdout.write(f"The reference case is already loaded ({case.reference}).")
        self._print_users()

    # --- helpers ------------------------------------------------------------------------------
    def d(self, year: int, month: int, day: int) -> dt.date:
        """A scenario day, moved by the --shift-to-today offset (whole weeks)."""
        return dt.date(year, month, day) + self.offset

    def m(self, year: int, month: int) -> dt.date:
        """A scenario month (its first day), moved by whole months."""
        return add_months(dt.date(year, month, 1), self.months)

    def month(self, year: int, month: int) -> str:
        """A scenario month as the story's text names it ("March 2025"), moved with it."""
        return self.m(year, month).strftime("%B %Y")

    def _get_or_create(self, model, lookup: dict, **defaults):
        instance = model.objects.filter(**lookup).first()
        if instance is None:
            instance = model(**lookup, **defaults)
            instance.full_clean()
            services.transitions.save_tracked(instance, by=self.actor, reason="Demo data")
        return instance

    def _organizations(self) -> dict[str, Organization]:
        coalition = self._get_or_create(
            Organization,
            {"name": COALITION},
            short_name="NK Human Rights Coalition",
            kind=Organization.Kind.COALITION,
            country="Republic of Korea",
        )
        committee = self._get_or_create(
            Organization,
            {"name": COMMITTEE},
            short_name="Emergency Committee",
            kind=Organization.Kind.NGO,
            country="Republic of Korea",
            parent=coalition,
            notes=f"Affiliate of the coalition; co-filed the {self.month(2026, 1)} petition.",
        )
        partner = self._get_or_create(
            Organization,
            {"name": UKRAINIAN_NGO},
            short_name="IHRPC",
            kind=Organization.Kind.PARTNER_NGO,
            country="Ukraine",
            notes="Ukrainian partner; follows up with the authorities in Kyiv in person.",
        )
        return {COALITION: coalition, COMMITTEE: committee, UKRAINIAN_NGO: partner}

    def _authorities(self) -> dict[str, Authority]:
        specs = [
            (COORDINATION_HQ, "Coordination HQ", Authority.Kind.GOVERNMENT_BODY, "Ukraine"),
            (SBU, "SBU", Authority.Kind.SECURITY_SERVICE, "Ukraine"),
            (MOFA, "ROK MOFA", Authority.Kind.MINISTRY, "Republic of Korea"),
            (ICRC, "ICRC", Authority.Kind.INTERNATIONAL, ""),
            (UNHCR, "UNHCR", Authority.Kind.INTERNATIONAL, ""),
        ]
        return {
            name: self._get_or_create(
                Authority, {"name": name}, short_name=short, kind=kind, country=country
            )
            for name, short, kind, country in specs
        }

    def _prisoners(self, owner: Organization) -> dict[str, Prisoner]:
        """The two men, registered by the committee that leads the case."""
        common = {
            "nationality": "Democratic People's Republic of Korea",
            "captured_on": self.m(2025, 1),
            "captured_on_precision": DatePrecision.MONTH,
            "captured_where": "Kursk region, Russia",
            "place_of_detention": "Kyiv (exact place not public)",
            "health_notes": "Wounded when captured.",
            "custody_status": CustodyStatus.DETAINED,
            "wish_destination": "Republic of Korea",
            "icrc_registration": Registration.REQUESTED,
            "unhcr_registration": Registration.REQUESTED,
            "risk_level": RiskLevel.HIGH,
            "notes": "Name not public. At risk of severe punishment if returned to the DPRK "
            f"via Russia. Not under ICRC or UNHCR protection as of {self.month(2026, 1)}.",
        }
        pow_a = self._get_or_create(
            Prisoner,
            {"code": "POW-A", "owner": owner},
            wish_status=WishStatus.CLEARLY_STATED,
            wish_expressed_on=self.m(2025, 3),
            wish_expressed_on_precision=DatePrecision.MONTH,
            wish_source="Said clearly to a visiting South Korean lawmaker; repeated in a "
            f"handwritten letter released in {self.month(2025, 12)}.",
            **common,
        )
        pow_b = self._get_or_create(
            Prisoner,
            {"code": "POW-B", "owner": owner},
            wish_status=WishStatus.CLEARLY_STATED,
            wish_expressed_on=self.m(2025, 12),
            wish_expressed_on_precision=DatePrecision.MONTH,
            wish_source=f"Handwritten letter attributed to him, released in "
            f"{self.month(2025, 12)}; in {self.month(2025, 3)} he had told a visiting lawmaker "
            "he was still considering.",
            **common,
        )
        return {"POW-A": pow_a, "POW-B": pow_b}

    def _users(self, orgs) -> dict[str, object]:
        user_model = get_user_model()
        users = {}
        for username, org_name, role, staff in DEMO_USERS:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(
                    username=username,
                    email=f"{username}@example.org",
                    is_staff=staff,
                    is_superuser=staff,
                )
                user.set_password(demo_password(username))
                user.save()
            self._get_or_create(
                Membership, {"user": user, "organization": orgs[org_name]}, role=role
            )
            users[username] = user
        return users

    def _event(self, case, kind, when, precision, title, description="", **related):
        return services.event_log(
            case=case,
            by=self.actor,
            kind=kind,
            occurred_on=when,
            occurred_on_precision=precision,
            title=title,
            description=description,
            source=related.pop("source", ""),
            reason="Demo data",
            **related,
        )

    def _case(self, orgs, authorities, prisoners, users) -> Case:
        both = list(prisoners.values())
        case = services.case_create(
            by=self.actor,
            title=CASE_TITLE,
            lead_organization=orgs[COMMITTEE],
            summary=(
                "Two North Korean soldiers, captured by Ukrainian forces in Russia's Kursk "
                f"region in {self.month(2025, 1)}, are held in Kyiv as prisoners of war. Both "
                "have said "
                "they wish to go to South Korea. Returned to North Korea through Russia, they "
                "could face severe punishment. The coalition asks Ukraine not to include them "
                "in any prisoner exchange, to apply non-refoulement, to guarantee lawyer "
                "access and to involve the ICRC and UNHCR."
            ),
            priority="urgent",
            opened_on=self.d(2025, 1, 11),
            prisoners=both,
            reason="Demo data",
        )
        services.case_share(
            case=case,
            organization=orgs[UKRAINIAN_NGO],
            level=CaseShare.Level.EDIT,
            by=self.actor,
            reason="Ukrainian partner follows up in Kyiv",
        )
        services.case_share(
            case=case,
            organization=orgs[COALITION],
            level=CaseShare.Level.READ,
            by=self.actor,
            reason="Parent coalition follows the case",
        )

        self._event(
            case,
            Event.Kind.REPORT,
            self.m(2025, 1),
            DatePrecision.MONTH,
            "Captured by Ukrainian forces in Russia's Kursk region",
            "Both men were wounded when captured.",
            prisoners=both,
        )
        self._event(
            case,
            Event.Kind.STATEMENT,
            self.d(2025, 1, 11),
            DatePrecision.DAY,
            "Ukraine's president publishes photographs of the two men",
            prisoners=both,
        )
        self._event(
            case,
            Event.Kind.TRANSFER,
            self.m(2025, 1),
            DatePrecision.MONTH,
            "Transferred to Kyiv and questioned by the SBU",
            prisoners=both,
            authorities=[authorities[SBU]],
        )
        self._event(
            case,
            Event.Kind.VISIT,
            self.m(2025, 3),
            DatePrecision.MONTH,
            "South Korean lawmaker meets both men in Ukraine",
            "Yoo Yong-won (People Power Party) met both men during a visit to Ukraine. One said "
            "clearly that he wants to go to South Korea; the other said he was still "
            "considering.",
            prisoners=both,
        )
        self._event(
            case,
            Event.Kind.STATEMENT,
            self.m(2025, 11),
            DatePrecision.MONTH,
            "Foreign Ministry: the two are South Korean citizens under the Constitution",
            "Seoul accepts all who ask to come, has told Ukraine so through diplomatic "
            "channels, and urges that no one be repatriated by force.",
            authorities=[authorities[MOFA]],
        )
        self._event(
            case,
            Event.Kind.LETTER,
            self.m(2025, 12),
            DatePrecision.MONTH,
            "Coalition releases handwritten letters from the two men",
            "Letters attributed to both men express the wish to go to South Korea.",
            prisoners=both,
            organizations=[orgs[COALITION]],
        )
        self._event(
            case,
            Event.Kind.STATEMENT,
            self.d(2026, 1, 5),
            DatePrecision.DAY,
            "Coalition announces the petition; Foreign Ministry repeats its position",
            organizations=[orgs[COALITION], orgs[COMMITTEE]],
            authorities=[authorities[MOFA]],
        )

        petition = services.petition_create(
            case=case,
            by=self.actor,
            title="Protection of the two North Korean prisoners of war",
            addressed_to=authorities[COORDINATION_HQ],
            filed_by=[orgs[COMMITTEE], orgs[UKRAINIAN_NGO]],
            filed_on=self.d(2026, 1, 3),
            status=PetitionStatus.FILED,
            channel=Channel.THROUGH_PARTNER,
            legal_bases=[
                LegalBasis.NON_REFOULEMENT,
                LegalBasis.GC3_LAWYER_ACCESS,
                LegalBasis.GC3_ICRC_ACCESS,
                LegalBasis.REFUGEE_LAW,
            ],
            summary=(
                "Asks the Coordination Headquarters to register both men for protection, to "
                "keep them out of any exchange with Russia, and to open international "
                "protection through the ICRC and UNHCR. A reply is awaited; none was promised "
                "by a date."
            ),
            requests=[
                RequestSpec(
                    PetitionRequest.Kind.REGISTRATION,
                    "Register both men officially for protection and start international "
                    "protection procedures.",
                ),
                RequestSpec(
                    PetitionRequest.Kind.EXCHANGE_EXCLUSION,
                    "Do not include them in any prisoner exchange with Russia.",
                ),
                RequestSpec(
                    PetitionRequest.Kind.NON_REFOULEMENT,
                    "Apply the principle of non-refoulement under international humanitarian "
                    "and human rights law.",
                ),
                RequestSpec(
                    PetitionRequest.Kind.LAWYER_ACCESS,
                    "Guarantee lawyer visits and legal assistance under the Third Geneva "
                    "Convention.",
                ),
                RequestSpec(
                    PetitionRequest.Kind.ICRC,
                    "Take immediate steps through the ICRC.",
                ),
                RequestSpec(
                    PetitionRequest.Kind.UNHCR,
                    "Take immediate steps through UNHCR.",
                ),
            ],
            reason="Demo data: filed on the Saturday before the announcement",
        )
        services.case_change_status(
            case=case,
            to=CaseStatus.ACTIVE_ADVOCACY,
            by=self.actor,
            reason="Petition filed with the Coordination Headquarters",
            happened_on=self.d(2026, 1, 3),
        )

        services.deadline_create(
            case=case,
            petition=petition,
            by=self.actor,
            kind=DeadlineKind.FOLLOW_UP_VISIT,
            title="Partner visits the Coordination Headquarters about the petition",
            notes="Confirm the petition's status and seek talks on practical protection "
            "(registration, coordination through international organizations).",
            due_on=self.d(2026, 1, 8),
            due_precision=DatePrecision.DAY,
            assignees=[users["partner"], users["coordinator"]],
            reason="Demo data",
        )
        services.deadline_create(
            case=case,
            by=self.actor,
            kind=DeadlineKind.EXCHANGE_WINDOW,
            title="Prisoner-exchange arrangements between Kyiv and Moscow",
            notes=f"Reported aim: arrangements completed by {self.m(2026, 4):%B}. Only the "
            "month is known.",
            due_on=self.m(2026, 4),
            due_precision=DatePrecision.MONTH,
            assignees=[users["coordinator"]],
            reason="Demo data",
        )
        return case

    def _print_users(self) -> None:
        if not settings.DEBUG:
            self.stdout.write(
                "Demo users: " + ", ".join(name for name, *_ in DEMO_USERS) + ". Their "
                "passwords are shown only when DEBUG is on; set one with "
                "`manage.py changepassword <user>`."
            )
            return
        self.stdout.write("\nSign in at " + settings.SITE_URL + "/ with one of these demo users:")
        for username, org_name, role, staff in DEMO_USERS:
            what = "staff, all access" if staff else f"{role.label.lower()}, {org_name}"
            self.stdout.write(f"  {username:<12} {demo_password(username):<18} ({what})")
