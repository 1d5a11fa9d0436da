"""The vocabulary stored in the database, as string enums (portable: plain VARCHAR columns)."""

from enum import StrEnum


class Platform(StrEnum):
    LOCAL = "local"
    SLACK = "slack"
    TEAMS = "teams"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class GroupStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class Role(StrEnum):
    """A member's role in the core group (DOMAIN.md, "People and roles")."""

    KEY_WORKER = "key-worker"
    SOCIAL_WORKER = "social-worker"  # another social worker: a group has one key worker
    PARENT_CARER = "parent-carer"
    CHILD = "child"
    SCHOOL = "school"
    HEALTH_VISITOR = "health-visitor"
    SCHOOL_NURSE = "school-nurse"
    GP = "gp"
    POLICE = "police"
    THERAPIST = "therapist"
    ADVOCATE = "advocate"
    INTERPRETER = "interpreter"
    TEAM_MANAGER = "team-manager"
    CONFERENCE_CHAIR = "conference-chair"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Plain-English name of the role."""
        return _ROLE_LABELS[self]

    @property
    def is_family(self) -> bool:
        """Whether people in this role are family rather than professionals."""
        return self in (Role.PARENT_CARER, Role.CHILD)


_ROLE_LABELS = {
    Role.KEY_WORKER: "key worker (social worker)",
    Role.SOCIAL_WORKER: "social worker",
    Role.PARENT_CARER: "parent / carer",
    Role.CHILD: "child / young person",
    Role.SCHOOL: "school safeguarding lead",
    Role.HEALTH_VISITOR: "health visitor",
    Role.SCHOOL_NURSE: "school nurse",
    Role.GP: "GP",
    Role.POLICE: "police",
    Role.THERAPIST: "therapist / counsellor",
    Role.ADVOCATE: "advocate",
    Role.INTERPRETER: "interpreter",
    Role.TEAM_MANAGER: "team manager",
    Role.CONFERENCE_CHAIR: "conference chair",
    Role.OTHER: "other",
}


class OutcomeStatus(StrEnum):
    ACTIVE = "active"
    ACHIEVED = "achieved"
    ENDED = "ended"


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    DECLINED = "declined"
    CANCELLED = "cancelled"

    @property
    def is_closed(self) -> bool:
        """Whether the action needs nothing more from its owner."""
        return self in (ActionStatus.DONE, ActionStatus.DECLINED, ActionStatus.CANCELLED)


class ActionEventKind(StrEnum):
    CREATED = "created"
    STATUS = "status"
    NOTE = "note"
    REASSIGNED = "reassigned"
    DUE_CHANGED = "due-changed"
    DATE_PROPOSED = "date-proposed"
    DATE_DECLINED = "date-declined"
    EDITED = "edited"


class OutcomeEventKind(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    ENDED = "ended"


class MeetingKind(StrEnum):
    FIRST = "first"
    REGULAR = "regular"
    AFTER_REVIEW = "after-review"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class AttendanceStatus(StrEnum):
    INVITED = "invited"
    ATTENDING = "attending"
    APOLOGIES = "apologies"
    ATTENDED = "attended"
    ABSENT = "absent"


class UpdateState(StrEnum):
    NOT_STARTED = "not-started"
    IN_PROGRESS = "in-progress"
    COMPLETE = "complete"


class ConcernState(StrEnum):
    """What the author of text that reads like a new concern said when asked."""

    ASKED = "asked"  # waiting for yes or no
    LATER = "later"  # put aside: the chair is still told by the end of the working day
    YES = "yes"
    NO = "no"

    @property
    def answered(self) -> bool:
        """Whether the author said yes or no."""
        return self in (ConcernState.YES, ConcernState.NO)


class MinutesStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"


class CopyKind(StrEnum):
    """Which version of the minutes a member receives."""

    FULL = "full"
    FAMILY = "family"
    YOUNG_PERSON = "young-person"

    @property
    def label(self) -> str:
        """Plain-English name of the copy."""
        return {
            CopyKind.FULL: "full minutes",
            CopyKind.FAMILY: "family version",
            CopyKind.YOUNG_PERSON: "young person's version",
        }[self]


class DeliveryMethod(StrEnum):
    """How a copy of the minutes reaches a member."""

    CHAT = "chat"
    EMAIL = "email"
    OTHER = "other"


class DeliveryStatus(StrEnum):
    """Where one member's copy of the minutes stands."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    NO_ROUTE = "no-route"  # neither chat nor an email address: the chair sends it another way


class Verdict(StrEnum):
    APPROVE = "approve"
    CHANGE = "change"


class ReminderStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    DROPPED = "dropped"


class AuditKind(StrEnum):
    READ = "read"
    CHANGE = "change"
    DENIED = "denied"
