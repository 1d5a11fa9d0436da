"""Retention: a closed group's working copies are erased or anonymised once their period passes.

The case record itself is the council's case system's job; the bot keeps its working copies
only for a number of months after the group closes (per kind of record, default 6). What stays:
the group, case reference and ids (so the audit log, which holds only ids, still reads), and the
kind and status of each event. Each kind is done once per group, recorded in `Erasure` and in the
audit log by kind and row count only. Once every kind of a group is erased, its case's data keys
are destroyed (crypto-shredding).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, String, cast, delete, exists, func, literal, update
from sqlmodel import Session, SQLModel, col, select

from bot.core.documents.model import safe_stem
from bot.core.sent_messages import queue_group, queue_people
from storage.enums import AuditKind, GroupStatus
from storage.keys import destroy_case_keys
from storage.models import (
    Action,
    ActionEvent,
    Attendance,
    AuditEntry,
    CardCopy,
    Case,
    ChatIdentity,
    Concern,
    CoreGroup,
    Disagreement,
    Distribution,
    Erasure,
    FamilyInvite,
    HeldReply,
    Meeting,
    MeetingSlot,
    Membership,
    MemberUpdate,
    Minutes,
    MinutesReview,
    MinutesVersion,
    Outcome,
    OutcomeEvent,
    Person,
    Reminder,
    ReminderPlanState,
    SlackDelivery,
    SlotChoice,
    TeamsPending,
    UpdateAnswer,
)

ERASED = "[erased]"
FORMER_MEMBER = "Former member"
KINDS = (
    "plan",
    "meetings",
    "updates",
    "minutes",
    "documents",
    "family_invites",
    "messages",
    "identities",
)
DEFAULT_MONTHS = 6


@dataclass(frozen=True)
class RetentionPolicy:
    """Months after a group closes that each kind of working copy is kept."""

    months: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, DEFAULT_MONTHS))
    documents_dir: Path | None = None

    def months_for(self, kind: str) -> int:
        """The period of `kind`."""
        return self.months.get(kind, DEFAULT_MONTHS)


@dataclass(frozen=True)
class Due:
    """One kind of record of one group that has passed its period, and how many rows."""

    group_id: int
    reference: str
    kind: str
    rows: int


def months_before(when: datetime, months: int) -> datetime:
    """`when` moved back by whole calendar months (the 31st becomes the month's last day)."""
    index = when.year * 12 + when.month - 1 - months
    year, month = divmod(index, 12)
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)


# --- what each kind covers ----------------------------------------------------------------------

Where = Callable[[int], Any]  # a group id → the SQL condition on the step's table


@dataclass(frozen=True)
class Step:
    """Rows of one table belonging to a group: anonymised with `values`, or deleted (None)."""

    model: type[SQLModel]
    where: Where
    values: dict[str, Any] | None = None
    counted: bool = True  # False for a step that only unlinks rows another kind covers


def _in(column: Any, query: Any) -> ColumnElement[bool]:
    return col(column).in_(query)


def _meetings(g: int) -> Any:
    return select(Meeting.id).where(Meeting.group_id == g)


def _minutes(g: int) -> Any:
    return select(Minutes.id).where(_in(Minutes.meeting_id, _meetings(g)))


def _versions(g: int) -> Any:
    return select(MinutesVersion.id).where(_in(MinutesVersion.minutes_id, _minutes(g)))


def _updates(g: int) -> Any:
    return select(MemberUpdate.id).where(_in(MemberUpdate.meeting_id, _meetings(g)))


def _actions(g: int) -> Any:
    return select(Action.id).where(Action.group_id == g)


def _case(g: int) -> Any:
    return select(CoreGroup.case_id).where(CoreGroup.id == g)


def _cards(g: int) -> Any:
    return select(literal("action:") + cast(Action.id, String)).where(Action.group_id == g)


_EVENT_TEXT = {"old_value": None, "new_value": None, "note": None}
STEPS: dict[str, tuple[Step, ...]] = {
    "plan": (
        Step(Outcome, lambda g: Outcome.group_id == g, {"title": ERASED}),
        Step(
            OutcomeEvent,
            lambda g: _in(OutcomeEvent.outcome_id, select(Outcome.id).where(Outcome.group_id == g)),
            _EVENT_TEXT,
        ),
        Step(Action, lambda g: Action.group_id == g, {"description": ERASED}),
        Step(ActionEvent, lambda g: _in(ActionEvent.action_id, _actions(g)), _EVENT_TEXT),
        Step(
            Disagreement,
            lambda g: Disagreement.group_id == g,
            {"detail": ERASED, "escalated_to": ""},
        ),
        Step(
            Concern, lambda g: Concern.group_id == g, {"text": ERASED, "about": "", "signals": ""}
        ),
        Step(Case, lambda g: _in(Case.id, _case(g)), {"concerns": "", "initials": None}),
        Step(CoreGroup, lambda g: CoreGroup.id == g, {"close_reason": None}),
    ),
    "meetings": (
        Step(
            Meeting,
            lambda g: Meeting.group_id == g,
            {
                "decisions": "",
                "contingency": "",
                "cancel_reason": None,
                "venue": "",
                "call_link": "",
            },
        ),
        Step(Attendance, lambda g: _in(Attendance.meeting_id, _meetings(g)), {"note": ""}),
        Step(MeetingSlot, lambda g: MeetingSlot.group_id == g, {"venue": ""}),
        Step(
            SlotChoice,
            lambda g: _in(
                SlotChoice.slot_id, select(MeetingSlot.id).where(MeetingSlot.group_id == g)
            ),
            {"note": ""},
        ),
    ),
    "updates": (
        Step(Concern, lambda g: Concern.group_id == g, {"update_answer_id": None}, counted=False),
        Step(UpdateAnswer, lambda g: _in(UpdateAnswer.update_id, _updates(g))),
        Step(MemberUpdate, lambda g: _in(MemberUpdate.meeting_id, _meetings(g))),
    ),
    "minutes": (
        Step(
            MinutesVersion,
            lambda g: _in(MinutesVersion.id, _versions(g)),
            {"body": ERASED, "change_note": ""},
        ),
        Step(MinutesReview, lambda g: _in(MinutesReview.version_id, _versions(g)), {"comment": ""}),
        Step(Minutes, lambda g: _in(Minutes.id, _minutes(g)), {"override_reason": None}),
    ),
    "documents": (
        Step(Distribution, lambda g: _in(Distribution.minutes_id, _minutes(g)), {"detail": ""}),
    ),
    "family_invites": (Step(FamilyInvite, lambda g: FamilyInvite.group_id == g),),
    "messages": (
        Step(CardCopy, lambda g: _in(CardCopy.card, _cards(g))),
        Step(Reminder, lambda g: Reminder.group_id == g),
        Step(ReminderPlanState, lambda g: ReminderPlanState.group_id == g),
        Step(SlackDelivery, lambda g: SlackDelivery.group_id == g),
        Step(TeamsPending, lambda g: TeamsPending.group_id == g),
    ),
}


def _leavers(g: int) -> Any:
    """People of group `g` in no open group and no team, not yet anonymised."""
    open_elsewhere = exists().where(
        col(Membership.person_id) == col(Person.id),
        col(Membership.active).is_(True),
        col(Membership.group_id) == col(CoreGroup.id),
        col(CoreGroup.status) == GroupStatus.ACTIVE,
    )
    return select(Person.id).where(
        _in(Person.id, select(Membership.person_id).where(Membership.group_id == g)),
        col(Person.team_id).is_(None),
        col(Person.is_team_manager).is_(False),
        col(Person.name_index).is_not(None),  # anonymising clears it (the name is sealed)
        ~open_elsewhere,
    )


STEPS["identities"] = (
    Step(ChatIdentity, lambda g: _in(ChatIdentity.person_id, _leavers(g))),
    Step(HeldReply, lambda g: _in(HeldReply.person_id, _leavers(g))),
    Step(
        Person,
        lambda g: _in(Person.id, _leavers(g)),
        {"display_name": FORMER_MEMBER, "name_index": None, "email": None, "email_index": None},
    ),
)


# --- finding and erasing ------------------------------------------------------------------------


def due(
    session: Session, policy: RetentionPolicy, now: datetime, kinds: Sequence[str] = KINDS
) -> list[Due]:
    """What has passed its period and is not erased yet: per group and kind, with row counts."""
    found = []
    for kind in kinds:
        cutoff = months_before(now, policy.months_for(kind))
        done = select(Erasure.group_id).where(Erasure.kind == kind)
        groups = session.exec(
            select(CoreGroup.id, Case.reference)
            .join(Case, col(Case.id) == CoreGroup.case_id)
            .where(
                CoreGroup.status == GroupStatus.CLOSED,
                col(CoreGroup.closed_at) <= cutoff,
                col(CoreGroup.id).not_in(done),
            )
            .order_by(col(Case.reference))
        ).all()
        for group_id, reference in groups:
            assert group_id is not None
            rows = _count(session, kind, group_id) + len(_files(policy, kind, reference))
            found.append(Due(group_id, reference, kind, rows))
    return found


def erase(
    session: Session,
    policy: RetentionPolicy,
    now: datetime,
    kinds: Sequence[str] = KINDS,
) -> list[Due]:
    """Erase what `due` lists, and audit each kind of each group by kind and count; the bot's
    chat messages are marked due for the running bot to delete (bot.core.sent_messages).
    Returns what was erased."""
    done = []
    for item in due(session, policy, now, kinds):
        queued = _queue_chat(session, item, now)
        for path in _files(policy, item.kind, item.reference):
            path.unlink(missing_ok=True)
        for step in STEPS[item.kind]:
            where = step.where(item.group_id)
            statement = (
                delete(step.model).where(where)
                if step.values is None
                else update(step.model).where(where).values(**step.values)
            )
            session.execute(statement.execution_options(synchronize_session=False))
        session.add(Erasure(group_id=item.group_id, kind=item.kind, erased_at=now, rows=item.rows))
        detail = f"kind={item.kind} rows={item.rows}"
        if item.kind in ("messages", "identities"):
            detail += f" chat_messages_to_delete={queued}"
        session.add(
            AuditEntry(
                at=now,
                actor_id=None,
                group_id=item.group_id,
                kind=AuditKind.CHANGE,
                what="retention:erased",
                detail=detail,
            )
        )
        done.append(item)
    for group_id in dict.fromkeys(item.group_id for item in done):
        _shred_if_finished(session, group_id)
    return done


def _shred_if_finished(session: Session, group_id: int) -> None:
    """Once every kind of a group's working copies is erased, destroy its case's data keys, so
    a copy of its sealed text left anywhere (a backup, a missed row) no longer opens. What the
    erasure left behind (placeholders) is sealed under the shared key and still reads."""
    session.flush()
    kinds = session.exec(
        select(func.count()).select_from(Erasure).where(Erasure.group_id == group_id)
    ).one()
    if kinds < len(KINDS):
        return
    case_id = session.exec(select(CoreGroup.case_id).where(CoreGroup.id == group_id)).one()
    destroy_case_keys(session.connection(), case_id)


def _count(session: Session, kind: str, group_id: int) -> int:
    total = 0
    for step in (s for s in STEPS[kind] if s.counted):
        total += session.exec(
            select(func.count()).select_from(step.model).where(step.where(group_id))
        ).one()
    return total


def _files(policy: RetentionPolicy, kind: str, reference: str) -> list[Path]:
    """Copies of the group's documents the local chat saved (named after the case reference)."""
    folder = policy.documents_dir
    if kind != "documents" or folder is None or not folder.is_dir():
        return []
    return sorted(folder.glob(f"{safe_stem(reference)}-*"))


def _queue_chat(session: Session, item: Due, now: datetime) -> int:
    """Mark the bot's posts for deletion: the group's (messages) or its leavers' DMs
    (identities, before their identities go)."""
    if item.kind == "messages":
        return queue_group(session, item.group_id, now)
    if item.kind == "identities":
        return queue_people(session, _leavers(item.group_id), item.group_id, now)
    return 0
