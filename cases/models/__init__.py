from .audit import AccessLog
from .base import StatusChangeOutsideServiceError
from .cases import CASE_TRANSITIONS, Case, CaseReferenceCounter, CaseShare, CaseStatus, Priority
from .dates import DatePrecision, format_fuzzy_date
from .deadlines import (
    DEADLINE_TRANSITIONS,
    DEFAULT_REMINDER_DAYS,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
)
from .documents import Document
from .events import Event
from .organizations import Authority, Membership, Organization
from .petitions import (
    PETITION_TRANSITIONS,
    Channel,
    LegalBasis,
    Petition,
    PetitionRequest,
    PetitionStatus,
)
from .prisoners import (
    CUSTODY_TRANSITIONS,
    CustodyStatus,
    Prisoner,
    Registration,
    RiskLevel,
    WishStatus,
)
from .profiles import UserProfile
from .reminders import FailureCause, Reminder, ReminderDelivery, ReminderKind, ReminderStatus
from .timeline import TimelineEntry, TimelineVersion

__all__ = [
    "CASE_TRANSITIONS",
    "CUSTODY_TRANSITIONS",
    "DEADLINE_TRANSITIONS",
    "DEFAULT_REMINDER_DAYS",
    "PETITION_TRANSITIONS",
    "AccessLog",
    "Authority",
    "Case",
    "CaseReferenceCounter",
    "CaseShare",
    "CaseStatus",
    "Channel",
    "CustodyStatus",
    "DatePrecision",
    "Deadline",
    "DeadlineKind",
    "DeadlineStatus",
    "Document",
    "Event",
    "FailureCause",
    "LegalBasis",
    "Membership",
    "Organization",
    "Petition",
    "PetitionRequest",
    "PetitionStatus",
    "Priority",
    "Prisoner",
    "Registration",
    "Reminder",
    "ReminderDelivery",
    "ReminderKind",
    "ReminderStatus",
    "RiskLevel",
    "StatusChangeOutsideServiceError",
    "TimelineEntry",
    "TimelineVersion",
    "UserProfile",
    "WishStatus",
    "format_fuzzy_date",
]
