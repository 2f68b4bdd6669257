from .audit import AccessLog, AuditChainHead, PasswordResetRequest
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
    IDENTITY_FIELDS,
    CustodyStatus,
    Prisoner,
    Registration,
    RiskLevel,
    WishStatus,
)
from .profiles import UserProfile
from .reminders import Reminder, ReminderKind, ReminderStatus
from .timeline import TimelineEntry, TimelineVersion
from .tokens import ApiIdempotencyKey, ApiToken

__all__ = [
    "CASE_TRANSITIONS",
    "CUSTODY_TRANSITIONS",
    "DEADLINE_TRANSITIONS",
    "DEFAULT_REMINDER_DAYS",
    "IDENTITY_FIELDS",
    "PETITION_TRANSITIONS",
    "AccessLog",
    "ApiIdempotencyKey",
    "ApiToken",
    "AuditChainHead",
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
    "LegalBasis",
    "Membership",
    "Organization",
    "PasswordResetRequest",
    "Petition",
    "PetitionRequest",
    "PetitionStatus",
    "Priority",
    "Prisoner",
    "Registration",
    "Reminder",
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
