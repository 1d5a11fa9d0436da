"""The pre-meeting briefs of a chunk of reminders, their facts loaded for the chunk at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlmodel import Session, col, select

from bot.core.concerns import heard_by
from bot.core.reminders.settings import Kind
from bot.core.reminders.state import GroupState
from bot.core.updates import BriefFacts
from storage.enums import MeetingStatus
from storage.models import (
    Action,
    Attendance,
    Concern,
    Meeting,
    MemberUpdate,
    Reminder,
    UpdateAnswer,
)


def _before(state: GroupState, meeting: Meeting) -> tuple[Meeting | None, Meeting | None]:
    """The last meeting held (if it was before `meeting`) and the last one before it that was
    not cancelled: what the brief and its list of concerns each count from."""
    held = [m for m in state.meetings if m.status == MeetingStatus.HELD]
    last = max(held, key=lambda m: (m.starts_at, m.id or 0), default=None)
    earlier = [m for m in state.meetings if m.starts_at < meeting.starts_at]
    return (
        last if last is not None and last.starts_at < meeting.starts_at else None,
        max(earlier, key=lambda m: m.starts_at, default=None),
    )


def load_brief_facts(
    session: Session, rows: Iterable[Reminder], states: dict[int, GroupState]
) -> dict[int, BriefFacts]:
    """What the briefs among `rows` read, by meeting id: five queries for the whole chunk."""
    meetings: dict[int, tuple[Meeting, GroupState]] = {}
    for row in rows:
        state = states.get(row.group_id or 0)
        meeting = state.meeting(row.subject_id) if state and row.kind == Kind.BRIEF else None
        if state is not None and meeting is not None and meeting.id is not None:
            meetings[meeting.id] = (meeting, state)
    if not meetings:
        return {}
    groups = {state.id for _, state in meetings.values()}
    updates: dict[int, dict[int, MemberUpdate]] = defaultdict(dict)
    for update in session.exec(
        select(MemberUpdate).where(col(MemberUpdate.meeting_id).in_(list(meetings)))
    ).all():
        updates[update.meeting_id][update.person_id] = update
    answers: dict[int, dict[str, UpdateAnswer]] = defaultdict(dict)
    update_ids = [u.id for found in updates.values() for u in found.values()]
    if update_ids:
        for answer in session.exec(
            select(UpdateAnswer).where(col(UpdateAnswer.update_id).in_(update_ids))
        ).all():
            answers[answer.update_id][answer.question] = answer
    attendance: dict[int, dict[int, Attendance]] = defaultdict(dict)
    for present in session.exec(
        select(Attendance).where(col(Attendance.meeting_id).in_(list(meetings)))
    ).all():
        attendance[present.meeting_id][present.person_id] = present
    actions: dict[int, list[Action]] = defaultdict(list)
    for action in session.exec(
        select(Action).where(col(Action.group_id).in_(groups)).order_by(col(Action.number))
    ).all():
        actions[action.group_id].append(action)
    concerns: dict[int, list[Concern]] = defaultdict(list)
    for concern in session.exec(
        select(Concern).where(
            col(Concern.group_id).in_(groups),
            col(Concern.meeting_id).is_(None) | col(Concern.meeting_id).in_(list(meetings)),
        )
    ).all():
        concerns[concern.group_id].append(concern)
    result = {}
    for meeting_id, (meeting, state) in meetings.items():
        held, earlier = _before(state, meeting)
        result[meeting_id] = BriefFacts(
            reference=state.case.reference,
            members=sorted(state.members, key=lambda mp: (not mp[0].is_chair, mp[0].id or 0)),
            updates=updates[meeting_id],
            answers=answers,
            attendance=attendance[meeting_id],
            previous=held,
            outcomes=list(state.outcomes),
            actions=actions[state.id],
            concerns=heard_by(meeting, earlier, concerns[state.id]),
        )
    return result
