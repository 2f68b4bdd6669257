from .alerts import (
    CHECKLISTS,
    Alert,
    AlertCheck,
    AlertEmail,
    AlertEmailStatus,
    AlertKind,
)
from .audit import (
    AccessLog,
    AccessReviewDigest,
    AuditChainHead,
    CaseViewSession,
    PasswordResetRequest,
)
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
from .developments import (
    UNDO_WINDOW,
    DeadlineMove,
    DeadlineMoveItem,
    DeadlineMoveNotice,
    Development,
    DevelopmentKind,
    DevelopmentLink,
)
from .documents import Document
from .events import Event
from .exports import EXPORT_TRANSITIONS, Export, ExportStatus
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
    PersonLinkRequest,
    Prisoner,
    Registration,
    RiskLevel,
    WishStatus,
)
from .profiles import UserProfile
from .reminders import FailureCause, Reminder, ReminderDelivery, ReminderKind, ReminderStatus
from .team import Invitation, UserSession
from .timeline import TimelineEntry, TimelineVersion
from .tokens import ApiIdempotencyKey, ApiToken

__all__ = [
    "CASE_TRANSITIONS",
    "CHECKLISTS",
    "CUSTODY_TRANSITIONS",
    "DEADLINE_TRANSITIONS",
    "DEFAULT_REMINDER_DAYS",
    "EXPORT_TRANSITIONS",
    "IDENTITY_FIELDS",
    "PETITION_TRANSITIONS",
    "UNDO_WINDOW",
    "AccessLog",
    "AccessReviewDigest",
    "Alert",
    "AlertCheck",
    "AlertEmail",
    "AlertEmailStatus",
    "AlertKind",
    "ApiIdempotencyKey",
    "ApiToken",
    "AuditChainHead",
    "Authority",
    "Case",
    "CaseReferenceCounter",
    "CaseShare",
    "CaseStatus",
    "CaseViewSession",
    "Channel",
    "CustodyStatus",
    "DatePrecision",
    "Deadline",
    "DeadlineKind",
    "DeadlineMove",
    "DeadlineMoveItem",
    "DeadlineMoveNotice",
    "DeadlineStatus",
    "Development",
    "DevelopmentKind",
    "DevelopmentLink",
    "Document",
    "Event",
    "Export",
    "ExportStatus",
    "FailureCause",
    "Invitation",
    "LegalBasis",
    "Membership",
    "Organization",
    "PasswordResetRequest",
    "PersonLinkRequest",
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
    "UserSession",
    "WishStatus",
    "format_fuzzy_date",
]
