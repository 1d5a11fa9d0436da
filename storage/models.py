"""SQLModel tables: cases, core groups, people, the plan, meetings, minutes, reminders, audit.

Every datetime column is an aware UTC datetime (`UTCDateTime`); enum-valued columns are plain
strings so the same schema runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import Field, SQLModel

from storage.audit_chain import GENESIS, HEAD_ID, canonical, link, lock_head, move_head
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    AttendanceStatus,
    AuditKind,
    ConcernState,
    CopyKind,
    DeliveryMethod,
    DeliveryStatus,
    GroupStatus,
    MeetingKind,
    MeetingStatus,
    MinutesStatus,
    OutcomeEventKind,
    OutcomeStatus,
    PlanStatus,
    Platform,
    ReminderStatus,
    Role,
    UpdateState,
    Verdict,
)
from storage.types import EncryptedJSON, EncryptedText, UTCDateTime, label_encrypted_columns


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _enum(default: Any = None, **kw: Any) -> Any:
    if default is None:
        return Field(sa_type=String(32), **kw)
    return Field(default=default, sa_type=String(32), **kw)


def _text(**kw: Any) -> Any:
    return Field(sa_type=Text, **kw)


def _secret(**kw: Any) -> Any:
    """Free text that can hold case information: sealed at rest (storage.types.EncryptedText)."""
    return Field(sa_type=EncryptedText(), **kw)


class Team(SQLModel, table=True):
    """A social-work team; its managers oversee its groups."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)


class Person(SQLModel, table=True):
    """Someone who takes part: a professional or a family member."""

    id: int | None = Field(default=None, primary_key=True)
    # Sealed (a name is case information to a council); `name_index` is its keyed hash
    # (storage.blind_index), for finding a person by a typed name.
    display_name: str = _secret()
    name_index: str | None = Field(default=None, max_length=64, index=True)
    agency: str = Field(default="", max_length=120)
    is_family: bool = False
    timezone: str = Field(default="Europe/London", max_length=64)
    # Contact preferences: direct messages only inside these local hours on working days.
    contact_start_hour: int = 9
    contact_end_hour: int = 17
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    is_team_manager: bool = False
    # Where copies of the minutes go for someone outside the council's chat (a GP practice, a
    # parent without an account); never shown to other members. Sealed; `email_index` is its
    # keyed hash (storage.blind_index), for finding a person by email.
    email: str | None = _secret(default=None)
    email_index: str | None = Field(default=None, max_length=64, index=True)
    outside_chat: bool = False
    created_at: datetime = _utc()


class ChatIdentity(SQLModel, table=True):
    """How a person is known on one chat platform, plus where to reach them privately."""

    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: Platform = _enum()
    user_id: str = Field(max_length=120)
    # The keyed hash (storage.blind_index.name_index) of the first word of the person's name
    # when the identity was made, for finding them by a typed `@handle`; never kept in clear.
    handle_index: str | None = Field(default=None, max_length=64, index=True)
    dm_channel_id: str | None = Field(default=None, max_length=120)
    conversation_ref: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Case(SQLModel, table=True):
    """The child's case: known in chat only by its reference, never by name."""

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40, unique=True)
    initials: str | None = _secret(default=None)  # at most 8 characters (checked on input)
    nation: str = Field(default="england", max_length=32)
    icpc_date: date
    category: str = Field(default="", max_length=60)
    concerns: str = _secret(default="")
    plan_status: PlanStatus = _enum(PlanStatus.ACTIVE)
    conference_chair_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _utc()
    ended_at: datetime | None = _utc(default=None)


class ReviewConference(SQLModel, table=True):
    """A review child protection conference for a case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    held_on: date
    plan_continues: bool = True
    recorded_by: int | None = Field(default=None, foreign_key="person.id")
    recorded_at: datetime = _utc()


class CoreGroup(SQLModel, table=True):
    """The core group for one case, and the private chat space it lives in."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    platform: Platform = _enum(Platform.LOCAL)
    channel_id: str | None = Field(default=None, max_length=120, index=True)
    channel_name: str | None = Field(default=None, max_length=80)
    status: GroupStatus = _enum(GroupStatus.ACTIVE)
    created_at: datetime = _utc()
    closed_at: datetime | None = _utc(default=None)
    # Why the group closed; set by `close`, and kept while a close awaits its confirming click.
    close_reason: str | None = _secret(default=None)


class Membership(SQLModel, table=True):
    """A person's place in a core group; chairing and minuting can be shared."""

    __table_args__ = (UniqueConstraint("group_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: Role = _enum()
    agency: str = Field(default="", max_length=120)
    is_chair: bool = False
    is_minute_taker: bool = False
    # A child's age in years, set by the key worker: from 8 they get their own web page.
    age: int | None = None
    active: bool = True
    joined_at: datetime = _utc()
    left_at: datetime | None = _utc(default=None)


class Outcome(SQLModel, table=True):
    """One line of the plan: what needs to change."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    number: int
    title: str = _secret()
    status: OutcomeStatus = _enum(OutcomeStatus.ACTIVE)
    shared_with_family: bool = True
    created_at: datetime = _utc()
    last_activity_at: datetime = _utc()
    ended_at: datetime | None = _utc(default=None)


class OutcomeEvent(SQLModel, table=True):
    """One change to an outcome's wording or status, kept forever (the plan as it was agreed)."""

    id: int | None = Field(default=None, primary_key=True)
    outcome_id: int = Field(foreign_key="outcome.id", index=True)
    at: datetime = _utc()
    actor_id: int = Field(foreign_key="person.id")
    kind: OutcomeEventKind = _enum()
    old_value: str | None = _secret(default=None)
    new_value: str | None = _secret(default=None)
    note: str | None = _secret(default=None)


class Action(SQLModel, table=True):
    """Who does what by when, under an outcome."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    number: int
    outcome_id: int | None = Field(default=None, foreign_key="outcome.id", index=True)
    owner_id: int = Field(foreign_key="person.id", index=True)
    description: str = _secret()
    due_on: date = Field(index=True)
    status: ActionStatus = _enum(ActionStatus.OPEN, index=True)
    shared_with_family: bool = True
    created_by: int = Field(foreign_key="person.id")
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class ActionEvent(SQLModel, table=True):
    """One change to an action, kept forever: who, when, what from, what to."""

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True)
    at: datetime = _utc()
    actor_id: int = Field(foreign_key="person.id")
    kind: ActionEventKind = _enum()
    old_value: str | None = _secret(default=None)
    new_value: str | None = _secret(default=None)
    note: str | None = _secret(default=None)
    # A professional's note reaches the family only once its author or the chair shares it.
    shared_with_family: bool = False


class Meeting(SQLModel, table=True):
    """A core group meeting."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    kind: MeetingKind = _enum()
    starts_at: datetime = _utc(index=True)
    duration_minutes: int = 60
    venue: str = _secret(default="")  # an address can locate a family
    call_link: str = Field(default="", max_length=400)
    status: MeetingStatus = _enum(MeetingStatus.SCHEDULED, index=True)
    decisions: str = _secret(default="")
    contingency: str = _secret(default="")
    cancel_reason: str | None = _secret(default=None)
    created_by: int = Field(foreign_key="person.id")
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class Attendance(SQLModel, table=True):
    """Whether a member is coming to, came to, or sent apologies for a meeting."""

    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    status: AttendanceStatus = _enum(AttendanceStatus.INVITED)
    note: str = _secret(default="")
    updated_at: datetime = _utc()


class MemberUpdate(SQLModel, table=True):
    """A member's pre-meeting update conversation; answers live in UpdateAnswer."""

    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    state: UpdateState = _enum(UpdateState.NOT_STARTED)
    current_question: str | None = Field(default=None, max_length=60)
    opened_at: datetime | None = _utc(default=None)
    completed_at: datetime | None = _utc(default=None)
    updated_at: datetime = _utc()


class UpdateAnswer(SQLModel, table=True):
    """One answer in an update conversation, saved as soon as it is given."""

    __table_args__ = (UniqueConstraint("update_id", "question"),)

    id: int | None = Field(default=None, primary_key=True)
    update_id: int = Field(foreign_key="memberupdate.id", index=True)
    question: str = Field(max_length=60)
    answer: str = _secret(default="")
    skipped: bool = False
    answered_at: datetime = _utc()
    # A professional's answer reaches the family only once its author or the chair shares it.
    shared_with_family: bool = False


class Minutes(SQLModel, table=True):
    """The written record of a meeting; its text lives in MinutesVersion."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", unique=True)
    status: MinutesStatus = _enum(MinutesStatus.DRAFT)
    record_due: date
    circulate_due: date
    published_at: datetime | None = _utc(default=None)
    published_by: int | None = Field(default=None, foreign_key="person.id")
    override_reason: str | None = _secret(default=None)
    recorded_at: datetime | None = _utc(default=None)
    circulated_at: datetime | None = _utc(default=None)
    created_at: datetime = _utc()


class MinutesVersion(SQLModel, table=True):
    """One version of the minutes text; every version is kept."""

    __table_args__ = (UniqueConstraint("minutes_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    minutes_id: int = Field(foreign_key="minutes.id", index=True)
    number: int
    body: str = _secret()
    change_note: str = _secret(default="")
    created_by: int = Field(foreign_key="person.id")
    created_at: datetime = _utc()


class MinutesReview(SQLModel, table=True):
    """A member's approval of, or requested change to, one version of the minutes."""

    __table_args__ = (UniqueConstraint("version_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="minutesversion.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    verdict: Verdict = _enum()
    comment: str = _secret(default="")
    at: datetime = _utc()


class Distribution(SQLModel, table=True):
    """One member's copy of the published minutes: which copy, how, when, and whether it arrived."""

    __table_args__ = (
        UniqueConstraint("minutes_id", "person_id"),
        # The sender's query: copies waiting to go, oldest first.
        Index("ix_distribution_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    minutes_id: int = Field(foreign_key="minutes.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    version_id: int | None = Field(default=None, foreign_key="minutesversion.id")
    copy_kind: CopyKind = _enum(CopyKind.FULL)
    method: DeliveryMethod = _enum(DeliveryMethod.CHAT)
    status: DeliveryStatus = _enum(DeliveryStatus.DELIVERED)
    # When the copy was queued, then when it was last tried or logged.
    sent_at: datetime = _utc()
    attempts: int = 0
    # A claim's lease while sending, or the earliest retry after a temporary failure.
    claimed_until: datetime | None = _utc(default=None)
    message_ref: str | None = Field(default=None, max_length=200)
    # What happened, in words fit for the chair: a mail server's refusal, or how the chair
    # said, in their own words, they gave the copy ("by post to …"). Sealed.
    detail: str = _secret(default="")


class Disagreement(SQLModel, table=True):
    """A recorded disagreement or dissent, and to whom it was escalated."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    raised_by: int = Field(foreign_key="person.id")
    detail: str = _secret()
    escalated_to: str = _secret(default="")
    raised_at: datetime = _utc()
    # When a team manager and the conference chair were told: None until one is known, when
    # the disagreement is forwarded to them.
    manager_told_at: datetime | None = _utc(default=None)
    chair_told_at: datetime | None = _utc(default=None)


class Concern(SQLModel, table=True):
    """Free text that reads like a new concern or a disclosure, and what its author said of it.

    The text is kept here as it was given (the answer it came from may be changed later), so an
    unanswered question never loses it; `state` is asked, later (put aside), yes or no.
    """

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    author_id: int = Field(foreign_key="person.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    action_event_id: int | None = Field(default=None, foreign_key="actionevent.id")
    update_answer_id: int | None = Field(default=None, foreign_key="updateanswer.id")
    text: str = _secret()
    about: str = Field(default="", max_length=200)  # where it was written: "a note on action 2"
    signals: str = _secret(default="")  # the phrases it matched, so as private as the text
    state: ConcernState = _enum(ConcernState.ASKED, index=True)
    raised_at: datetime = _utc()
    answered_at: datetime | None = _utc(default=None)


class Prompt(SQLModel, table=True):
    """A sent message that takes a reply, by the platform's id for it: what a reply answers."""

    __table_args__ = (UniqueConstraint("platform", "message_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: Platform = _enum()
    message_ref: str = Field(max_length=200)
    expects: str = Field(max_length=200)
    sent_at: datetime = _utc()


class HeldReply(SQLModel, table=True):
    """A message that could answer two things, kept while its author says which."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    text: str = _secret()
    held_at: datetime = _utc()
    used_at: datetime | None = _utc(default=None)


class Reminder(SQLModel, table=True):
    """The reminder ledger: one row per (what, whom, which occurrence), sent at most once."""

    # The scheduler's hot query: pending rows that are due, oldest first.
    __table_args__ = (Index("ix_reminder_status_due_at", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40, index=True)
    group_id: int | None = Field(default=None, foreign_key="coregroup.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    subject_id: int | None = None
    due_at: datetime = _utc(index=True)
    not_after: datetime | None = _utc(default=None)
    status: ReminderStatus = _enum(ReminderStatus.PENDING, index=True)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = _utc(default=None)
    sent_at: datetime | None = _utc(default=None)
    message_ref: str | None = Field(default=None, max_length=200)
    last_error: str | None = _text(default=None)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = _utc()
    # The idempotency key of the message this row went out in (several rows share one when
    # merged); stored before sending so a restart can ask the platform whether it arrived.
    batch_key: str | None = Field(default=None, max_length=200, index=True)


class ReminderPlanState(SQLModel, table=True):
    """The reminder planner's place for one group: bumped on each change, re-planned when due."""

    group_id: int = Field(foreign_key="coregroup.id", primary_key=True)
    changes: int = 0
    next_plan_at: datetime = _utc(index=True)
    planned_until: datetime | None = _utc(default=None)


class PlanningBasis(SQLModel, table=True):
    """The rules reminders were last planned under, per nation (timescales, closure days, time
    zone, as a hash), so a change of settings re-plans that nation's groups once."""

    key: str = Field(primary_key=True, max_length=40)
    fingerprint: str = Field(max_length=64)
    changed_at: datetime = _utc()


class ProcessedEvent(SQLModel, table=True):
    """Inbound platform events already handled, so a retried delivery has one effect."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    at: datetime = _utc()


class CardCopy(SQLModel, table=True):
    """One copy of a live card the bot posted (an action card in the group and in a DM), so a
    click on any copy can replace them all."""

    __table_args__ = (UniqueConstraint("platform", "place", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    card: str = Field(max_length=100, index=True)  # e.g. "action:42"
    platform: Platform = _enum()
    place: str = Field(max_length=300)  # the Teams conversation id or the Slack channel id
    message_id: str = Field(max_length=200)  # the Teams activity id or the Slack message ts
    service_url: str | None = Field(default=None, max_length=300)  # Teams: where to send
    sent_at: datetime = _utc()


class FamilyInvite(SQLModel, table=True):
    """A personal web link for one family member of one group, with the code sent separately.

    Only hashes are kept: `token_hash` of the signed link, `code_hash` of the six-digit code
    (salted PBKDF2). A new invite for the same person revokes the old one.
    """

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    code_hash: str = Field(max_length=200)
    failed_tries: int = 0
    locked_at: datetime | None = _utc(default=None)
    created_by: int = Field(foreign_key="person.id")
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None)
    last_used_at: datetime | None = _utc(default=None)


class MeetingSlot(SQLModel, table=True):
    """A time (and place) the chair proposes for the next meeting, for the family to rank."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    starts_at: datetime = _utc()
    venue: str = _secret(default="")
    proposed_by: int = Field(foreign_key="person.id")
    proposed_at: datetime = _utc()
    # Set once the chair books a slot (this one or another) or proposes a new set.
    closed_at: datetime | None = _utc(default=None)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")


class SlotChoice(SQLModel, table=True):
    """One member's ranking of one proposed slot, and whether its venue feels right."""

    __table_args__ = (UniqueConstraint("slot_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="meetingslot.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    rank: int | None = None  # 1 is best; None: can't make it
    venue_ok: bool | None = None
    note: str = _secret(default="")
    at: datetime = _utc()


class SlackDelivery(SQLModel, table=True):
    """Slack work that Slack deferred (HTTP 429): a post, a group's channel still to create, or
    a person's name still to look up (their Slack username stands in until then).

    Kept until it is done, and retried by the Slack runtime after Slack's Retry-After, so neither
    a rate limit nor a restart loses it. A post for a group whose channel does not exist yet has
    no `channel` until it does.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # "post", "channel" or "name" (a stand-in name to refresh)
    group_id: int | None = Field(default=None, foreign_key="coregroup.id", index=True)
    channel: str | None = Field(default=None, max_length=120)
    thread_ts: str | None = Field(default=None, max_length=40)
    # post: {"posts": [chat.postMessage arguments…], "key", "card", "expects"};
    # channel: {} (the group's name, topic and members are read when it is retried);
    # name: {"user_id", "stand_in"}
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(EncryptedJSON(), nullable=False)
    )
    attempts: int = 0
    created_at: datetime = _utc()
    next_try_at: datetime = _utc(index=True)
    done_at: datetime | None = _utc(default=None, index=True)
    last_error: str | None = Field(default=None, max_length=100)


class SlackChannelPace(SQLModel, table=True):
    """When the next post to a Slack channel may go (Slack allows about one a second), shared by
    every process of the bot so their posts to one channel are spaced too."""

    channel: str = Field(primary_key=True, max_length=120)
    next_at: datetime = _utc()


class TeamsSend(SQLModel, table=True):
    """A keyed proactive message to Teams, recorded as being sent (`sent_at` empty) before the Bot
    Connector call and as sent, with its reference, once the call answers.

    The Bot Connector cannot be asked whether a message arrived, so after a crash this is what
    tells a reminder that went out (sent) from one that may have (still sending: sent again, so
    at most the messages in flight at the crash can arrive twice)."""

    key: str = Field(primary_key=True, max_length=200)
    conversation: str = Field(max_length=200)
    ref: str | None = Field(default=None, max_length=300)
    started_at: datetime = _utc()
    sent_at: datetime | None = _utc(default=None)


class TeamsPending(SQLModel, table=True):
    """Teams work waiting on a group chat: a removal Microsoft Graph refused (retried until the
    person is out or back in the group), and the group's posts held meanwhile, sent in order
    once no removal is pending (so someone removed never sees what comes after)."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # "removal" or "post"
    group_id: int = Field(foreign_key="coregroup.id", index=True)
    chat: str = Field(max_length=200)  # the group chat's id
    # removal: {"person_id", "aad_id"}; post: {"activities": [...], "key", "card", "expects"}
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(EncryptedJSON(), nullable=False)
    )
    attempts: int = 0
    created_at: datetime = _utc()
    next_try_at: datetime = _utc(index=True)
    done_at: datetime | None = _utc(default=None, index=True)
    last_error: str | None = Field(default=None, max_length=100)


class AuditEntry(SQLModel, table=True):
    """Append-only record of who read or changed what in which group."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc(index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    group_id: int | None = Field(default=None, foreign_key="coregroup.id", index=True)
    kind: AuditKind = _enum()
    what: str = Field(max_length=80)
    detail: str = _text(default="")
    # The hash chain (storage.audit_chain): the row's place, and its and its predecessor's hash.
    seq: int = Field(default=0, unique=True, index=True)
    prev_hash: str = Field(default="", max_length=64)
    row_hash: str = Field(default="", max_length=64)

    def content(self) -> bytes:
        """The canonical bytes its hash covers."""
        return canonical(
            at=self.at,
            actor=self.actor_id,
            group=self.group_id,
            kind=self.kind,
            what=self.what,
            detail=self.detail,
        )


class AuditChain(SQLModel, table=True):
    """The end of the audit hash chain (one row): locked by each writer while it appends."""

    id: int = Field(default=HEAD_ID, primary_key=True)
    seq: int = 0
    last_hash: str = Field(default=GENESIS, max_length=64)


class AuditSeal(SQLModel, table=True):
    """A day's seal: an HMAC under AUDIT_KEY over the last hash of that UTC day's rows."""

    day: date = Field(primary_key=True)
    last_seq: int
    last_hash: str = Field(max_length=64)
    mac: str = Field(max_length=64)
    sealed_at: datetime = _utc()


class SentMessage(SQLModel, table=True):
    """A message the bot posted in a group's space or a person's direct messages, by the
    platform's id for it, so the retention job can delete it later (and retry until it can).

    `erase_from` is set when retention makes it due; `erased_at` once the platform deleted it
    (or it was already gone); `last_error` is Slack's or Teams's short reason when refused."""

    __table_args__ = (UniqueConstraint("platform", "place", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: Platform = _enum()
    place: str = Field(max_length=300, index=True)  # the Slack channel or Teams conversation
    message_id: str = Field(max_length=200)  # the Slack message ts or the Teams activity id
    service_url: str | None = Field(default=None, max_length=300)  # Teams: where to call
    sent_at: datetime = _utc()
    group_id: int | None = Field(default=None, foreign_key="coregroup.id", index=True)
    erase_from: datetime | None = _utc(default=None, index=True)
    erased_at: datetime | None = _utc(default=None)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=100)


class Erasure(SQLModel, table=True):
    """One kind of a closed group's working copies erased under the retention policy."""

    group_id: int = Field(foreign_key="coregroup.id", primary_key=True)
    kind: str = Field(max_length=32, primary_key=True)
    erased_at: datetime = _utc()
    rows: int = 0


class DataKey(SQLModel, table=True):
    """A data key, only ever stored wrapped (AES-GCM) by a key-encryption key from DATA_KEY;
    `kek_id` is that KEK's fingerprint, so a rotation knows which keys it has re-wrapped.
    `case_id` is the case whose rows it seals (None: the shared key of rows of no case); once
    retention erases that case, `wrapped` is emptied and `destroyed_at` set (crypto-shredding)."""

    id: int | None = Field(default=None, primary_key=True)
    wrapped: str = Field(max_length=200)
    kek_id: str = Field(max_length=32, index=True)
    created_at: datetime = _utc()
    rewrapped_at: datetime | None = _utc(default=None)
    case_id: int | None = Field(default=None, index=True)
    destroyed_at: datetime | None = _utc(default=None)
    # "seal" for data keys; "index" for the one key of the blind indexes (storage.blind_index).
    purpose: str = Field(default="seal", max_length=16)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_audit_change(*_: object) -> None:
    raise AuditLogIsAppendOnly("the audit log is append-only")


# New audit entries wait in the session until it commits, then are chained and inserted last:
# the chain head is locked only for the commit's final flush, after the transaction's other
# writes, so writers never hold it while waiting for other rows (no deadlock, little waiting).
_HELD, _CHAINING = "audit_entries_held", "audit_chaining"


@event.listens_for(Session, "before_flush")
def _hold_new_entries(session: Session, _context: object, _instances: object) -> None:
    """Keep new audit entries out of ordinary flushes, in the order they were added."""
    if session.info.get(_CHAINING):
        return
    new = [obj for obj in session.new if isinstance(obj, AuditEntry)]
    new.sort(key=lambda entry: inspect(entry).insert_order)
    for entry in new:
        session.expunge(entry)
    if new:
        session.info.setdefault(_HELD, []).extend(new)


@event.listens_for(Session, "before_commit")
def _chain_held_entries(session: Session) -> None:
    """Flush everything else, then lock the chain head, chain the held entries and insert them
    (in one executemany, however many a request wrote)."""
    session.flush()
    held: list[AuditEntry] = session.info.pop(_HELD, [])
    if not held:
        return
    session.info[_CHAINING] = True
    try:
        conn = session.connection()
        seq, last = lock_head(conn)
        for entry in held:
            seq += 1
            entry.seq, entry.prev_hash = seq, last
            entry.row_hash = last = link(last, entry.content())
        move_head(conn, seq, last)
        table = AuditEntry.__table__  # type: ignore[attr-defined]
        names = [c.name for c in table.columns if c.name != "id"]
        conn.execute(table.insert(), [{n: getattr(e, n) for n in names} for e in held])
    finally:
        session.info.pop(_CHAINING, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_held_entries(session: Session, transaction: SessionTransaction) -> None:
    """Entries still held when the transaction ends (rolled back, or the session closed) go
    with it."""
    if transaction.parent is None:
        session.info.pop(_HELD, None)


# Every sealed column, as "table.column" (docs/data-protection.md lists them).
ENCRYPTED_COLUMNS = label_encrypted_columns(SQLModel.metadata)
import storage.blind_index  # noqa: E402, F401  (keeps person's blind indexes in step)
import storage.case_keys  # noqa: E402, F401  (seals each row's values under its case's key)

__all__ = [
    "Action",
    "ActionEvent",
    "Attendance",
    "AuditChain",
    "AuditEntry",
    "AuditSeal",
    "Case",
    "ChatIdentity",
    "Concern",
    "CoreGroup",
    "DataKey",
    "Disagreement",
    "Distribution",
    "Erasure",
    "FamilyInvite",
    "HeldReply",
    "Meeting",
    "MeetingSlot",
    "MemberUpdate",
    "Membership",
    "Minutes",
    "MinutesReview",
    "MinutesVersion",
    "Outcome",
    "OutcomeEvent",
    "Person",
    "ProcessedEvent",
    "Prompt",
    "Reminder",
    "ReminderPlanState",
    "ReviewConference",
    "SlotChoice",
    "Team",
    "UpdateAnswer",
]
