"""The weekly digest to each team manager: missed and coming deadlines of the team's groups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.core.calendar import format_day
from bot.core.groups import open_deadlines
from bot.core.oversight import MinutesDue
from bot.core.policy import (
    circulate_deadline,
    record_deadline,
)
from bot.core.reminders.bulk_state import minutes_rows
from bot.core.reminders.message import (
    Part,
)
from bot.core.reminders.plan import Planner
from bot.core.reminders.queries import among_ids, rows_of
from bot.messages import (
    Block,
    Bullets,
    Context,
    Heading,
    Text,
)
from storage.enums import (
    ActionStatus,
    GroupStatus,
    MeetingStatus,
)
from storage.models import (
    Action,
    Case,
    CoreGroup,
    Meeting,
    Minutes,
    Person,
    ReviewConference,
)


@dataclass
class Watched:
    """What a team manager's digest needs about one group: much less than its full state."""

    case: Case
    meetings: list[Meeting] = field(default_factory=list)  # not cancelled, by start
    reviews: list[date] = field(default_factory=list)
    minutes: dict[int, Minutes] = field(default_factory=dict)
    overdue: int = 0


def load_watched(
    session: Session, *, team_ids: Iterable[int], today: date
) -> dict[int, list[Watched]]:
    """The open groups of the teams (of the digests in a chunk of reminders) for their digests,
    in five queries, by team and then case reference. A digest reads a few dates of each of a
    team's groups and none of their free text: they are read as plain Core rows that answer
    the same attribute names (`case.reference`, `meeting.starts_at`), not as ORM objects."""
    teams = set(team_ids)
    if not teams:
        return {}
    dialect = session.get_bind().dialect.name
    groups: dict[int, Watched] = {}
    team_of: dict[int, int] = {}
    for row in rows_of(
        session,
        select(
            col(CoreGroup.id).label("group_id"),
            col(CoreGroup.team_id),
            col(Case.id),
            col(Case.reference),
            col(Case.nation),
            col(Case.icpc_date),
        )
        .join(Case, col(Case.id) == col(CoreGroup.case_id))
        .where(col(CoreGroup.team_id).in_(teams), col(CoreGroup.status) == GroupStatus.ACTIVE),
    ):
        groups[row.group_id], team_of[row.group_id] = Watched(cast(Case, row)), row.team_id
    ids = list(groups)
    for meeting in rows_of(
        session,
        select(col(Meeting.id), col(Meeting.group_id), col(Meeting.starts_at))
        .where(
            among_ids(dialect, col(Meeting.group_id), ids),
            col(Meeting.status) != MeetingStatus.CANCELLED,
        )
        .order_by(col(Meeting.starts_at)),
    ):
        groups[meeting.group_id].meetings.append(cast(Meeting, meeting))
    for minutes in minutes_rows(session, ids):
        groups[minutes.group_id].minutes[minutes.meeting_id] = cast(Minutes, minutes)
    by_case = {w.case.id: w for w in groups.values()}
    cases = [c for c in by_case if c is not None]
    for review in rows_of(
        session,
        select(col(ReviewConference.case_id), col(ReviewConference.held_on))
        .where(among_ids(dialect, col(ReviewConference.case_id), cases))
        .order_by(col(ReviewConference.held_on)),
    ):
        by_case[review.case_id].reviews.append(review.held_on)
    closed = [s.value for s in ActionStatus if s.is_closed]
    for late in rows_of(
        session,
        select(col(Action.group_id), func.count().label("overdue"))
        .where(
            among_ids(dialect, col(Action.group_id), ids),
            col(Action.status).not_in(closed),
            col(Action.due_on) < today,
        )
        .group_by(col(Action.group_id)),
    ):
        groups[late.group_id].overdue = late.overdue
    result: dict[int, list[Watched]] = {team: [] for team in teams}
    for gid, watched in groups.items():
        result[team_of[gid]].append(watched)
    for found in result.values():
        found.sort(key=lambda w: w.case.reference)
    return result


def _minutes_owed(w: Watched, planner: Planner, now: datetime) -> list[MinutesDue]:
    """Minutes not yet recorded or sent, and the latest meeting's if nobody has drafted them."""
    cal, policy = planner.calendar(w.case), planner.policy(w.case)
    found = []
    started = [m for m in w.meetings if m.starts_at <= now]
    for m in started:
        minutes = w.minutes.get(m.id or 0)
        day = planner.local_date(m.starts_at)
        if minutes is not None and (minutes.recorded_at is None or minutes.circulated_at is None):
            found.append(MinutesDue(m, day, minutes, minutes.record_due, minutes.circulate_due))
        elif minutes is None and m is started[-1]:
            record = record_deadline(meeting=day, calendar=cal, policy=policy).due
            send = circulate_deadline(meeting=day, calendar=cal, policy=policy).due
            found.append(MinutesDue(m, day, None, record, send))
    return found


def _digest_lines(
    w: Watched, *, planner: Planner, now: datetime, horizon: date
) -> tuple[list[str], list[str]]:
    """One group's missed deadlines, and those coming up by `horizon`."""
    today = planner.local_date(now)
    dates = [(planner.local_date(m.starts_at), m.starts_at <= now) for m in w.meetings]
    deadlines = open_deadlines(
        icpc=w.case.icpc_date,
        held=sorted(d for d, past in dates if past),
        booked=sorted(d for d, past in dates if not past),
        reviews=w.reviews,
        today=today,
        calendar=planner.calendar(w.case),
        policy=planner.policy(w.case),
    )
    minutes = _minutes_owed(w, planner, now)
    missed = [d.describe() for d in deadlines if d.overdue]
    missed += [
        f"Minutes of the meeting on {format_day(m.day)}: {why}"
        for m in minutes
        if (why := m.late(today))
    ]
    if w.overdue:
        missed.append(f"{w.overdue} overdue action{'s' if w.overdue != 1 else ''}")
    coming = [d.describe() for d in deadlines if not d.overdue and d.deadline.due <= horizon]
    coming += [
        f"Minutes of the meeting on {format_day(m.day)}: {m.todo()}"
        for m in minutes
        if today <= min(m.record_due, m.circulate_due) <= horizon
    ]
    return missed, coming


def digest_part(
    *, person: Person, planner: Planner, now: datetime, watched: dict[int, list[Watched]]
) -> Part | None:
    """A team manager's digest, from their team's groups as loaded for the chunk."""
    if person.team_id is None:
        return None
    today = planner.local_date(now)
    watched_here = watched.get(person.team_id, [])
    if not watched_here:
        return None
    days = planner.settings.digest_coming_days
    count = len(watched_here)
    blocks: list[Block] = [
        Heading("Weekly digest · your team's core groups"),
        Text(
            f"{count} open group{'s' if count != 1 else ''}: deadlines missed, and those coming "
            f"up in the next {days} days."
        ),
    ]
    missed_total = 0
    for w in watched_here:
        horizon = today + timedelta(days=days)
        missed, coming = _digest_lines(w, planner=planner, now=now, horizon=horizon)
        missed_total += len(missed)
        if missed or coming:
            lines = [f"Missed: {line}" for line in missed] + [f"Coming up: {c}" for c in coming]
            blocks += [Text(f"{w.case.reference}:"), Bullets(tuple(lines))]
    if len(blocks) == 2:
        blocks.append(Text("Nothing missed, and nothing due in that time."))
    reference = watched_here[0].case.reference
    blocks.append(Context(f"Look into one group with `/coregroup status {reference}`."))
    summary = f"Weekly digest: {count} open groups, {missed_total} missed deadline(s)"
    return Part(summary, tuple(blocks), None)
