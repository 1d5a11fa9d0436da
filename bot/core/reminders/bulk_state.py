"""The state planning needs, for many groups at once, read as plain Core rows.

`load_states` builds SQLModel objects (with their encrypted text opened) for triage and wording,
which look at one chunk of due reminders. Planning a first start or a change of rules reads every
group: here only the columns the planning rules use are selected, as Core rows that answer the
same attribute names (`meeting.starts_at`, `membership.is_chair`), at a fraction of the cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from sqlalchemy import Row, func, select
from sqlmodel import Session, col

from bot.core.reminders.queries import among_ids, rows_of
from bot.core.reminders.state import GroupState
from storage.enums import ActionStatus, ConcernState, MeetingStatus, OutcomeStatus
from storage.models import (
    Action,
    Case,
    Concern,
    CoreGroup,
    Meeting,
    Membership,
    Minutes,
    Outcome,
    Person,
    ReviewConference,
)

_PERSON = (
    col(Person.id),
    col(Person.timezone),
    col(Person.contact_start_hour),
    col(Person.contact_end_hour),
    col(Person.team_id),
)


def load_plan_states(
    session: Session, group_ids: Iterable[int], *, actions_due_by: date | None = None
) -> dict[int, GroupState]:
    """The planning state of many groups in a fixed number of queries, as plain rows (the same
    groups, members, meetings, actions and dates as `load_states`, without the free text).
    With `actions_due_by` (`Planner.action_horizon`), open actions due later are left out: a
    window ending that early derives nothing from them."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    dialect = session.get_bind().dialect.name

    def among(column: Any, values: list[int]) -> Any:
        return among_ids(dialect, column, values)

    states: dict[int, GroupState] = {}
    for g in rows_of(
        session,
        select(
            col(CoreGroup.id),
            col(CoreGroup.status),
            col(CoreGroup.created_at),
            col(CoreGroup.team_id),
            col(Case.id).label("case_id"),
            col(Case.nation),
            col(Case.icpc_date),
        )
        .join(Case, col(Case.id) == col(CoreGroup.case_id))
        .where(among(col(CoreGroup.id), ids)),
    ):
        case = cast(Case, _CaseRow(g.case_id, g.nation, g.icpc_date))
        states[g.id] = GroupState(cast(CoreGroup, g), case, [], [], [], [], {}, [], [])
    in_batch = among(col(Membership.group_id), ids)
    people = {
        p.id: p
        for p in rows_of(
            session,
            select(*_PERSON).where(
                col(Person.id).in_(
                    select(col(Membership.person_id)).where(
                        in_batch, col(Membership.active).is_(True)
                    )
                )
            ),
        )
    }
    for m in rows_of(
        session,
        select(
            col(Membership.group_id),
            col(Membership.person_id),
            col(Membership.role),
            col(Membership.is_chair),
            col(Membership.is_minute_taker),
            col(Membership.joined_at),
        )
        .where(in_batch, col(Membership.active).is_(True))
        .order_by(col(Membership.id)),
    ):
        states[m.group_id].members.append(cast(tuple[Membership, Person], (m, people[m.person_id])))
    for meeting in rows_of(
        session,
        select(
            col(Meeting.id),
            col(Meeting.group_id),
            col(Meeting.status),
            col(Meeting.starts_at),
            col(Meeting.created_at),
        )
        .where(among(col(Meeting.group_id), ids), col(Meeting.status) != MeetingStatus.CANCELLED)
        .order_by(col(Meeting.starts_at), col(Meeting.id)),
    ):
        states[meeting.group_id].meetings.append(cast(Meeting, meeting))
    closed = [s.value for s in ActionStatus if s.is_closed]
    for action in rows_of(
        session,
        select(
            col(Action.id),
            col(Action.group_id),
            col(Action.owner_id),
            col(Action.status),
            col(Action.due_on),
            col(Action.created_at),
        )
        .where(
            among(col(Action.group_id), ids),
            col(Action.status).not_in(closed),
            *([] if actions_due_by is None else [col(Action.due_on) <= actions_due_by]),
        )
        .order_by(col(Action.id)),
    ):
        states[action.group_id].actions.append(cast(Action, action))
    # Any change to an action, open or closed, is activity on its outcome.
    for touched in rows_of(
        session,
        select(
            col(Action.group_id),
            col(Action.outcome_id),
            func.max(col(Action.updated_at)).label("last"),
        )
        .where(among(col(Action.group_id), ids), col(Action.outcome_id).is_not(None))
        .group_by(col(Action.group_id), col(Action.outcome_id)),
    ):
        states[touched.group_id].touched[touched.outcome_id] = touched.last
    for outcome in rows_of(
        session,
        select(
            col(Outcome.id),
            col(Outcome.group_id),
            col(Outcome.created_at),
            col(Outcome.last_activity_at),
        )
        .where(among(col(Outcome.group_id), ids), col(Outcome.status) == OutcomeStatus.ACTIVE)
        .order_by(col(Outcome.number)),
    ):
        states[outcome.group_id].outcomes.append(cast(Outcome, outcome))
    for minutes in minutes_rows(session, ids):
        states[minutes.group_id].minutes[minutes.meeting_id] = cast(Minutes, minutes)
    for concern in rows_of(
        session,
        select(
            col(Concern.id), col(Concern.group_id), col(Concern.author_id), col(Concern.raised_at)
        )
        .where(
            among(col(Concern.group_id), ids),
            col(Concern.state).in_([ConcernState.ASKED, ConcernState.LATER]),
        )
        .order_by(col(Concern.id)),
    ):
        states[concern.group_id].concerns.append(cast(Concern, concern))
    by_case = {s.case.id: s for s in states.values()}
    for review in rows_of(
        session,
        select(
            col(ReviewConference.case_id),
            col(ReviewConference.held_on),
            col(ReviewConference.plan_continues),
            col(ReviewConference.recorded_at),
        )
        .where(among(col(ReviewConference.case_id), [c for c in by_case if c is not None]))
        .order_by(col(ReviewConference.held_on)),
    ):
        by_case[review.case_id].reviews.append(cast(ReviewConference, review))
    by_team: dict[int, list[GroupState]] = defaultdict(list)
    for state in states.values():
        if state.group.team_id is not None:
            by_team[state.group.team_id].append(state)
    if by_team:
        for person in rows_of(
            session,
            select(*_PERSON)
            .where(among(col(Person.team_id), list(by_team)), col(Person.is_team_manager).is_(True))
            .order_by(col(Person.id)),
        ):
            for state in by_team[person.team_id]:
                state.managers.append(cast(Person, person))
    return states


def minutes_rows(session: Session, group_ids: list[int]) -> list[Row[Any]]:
    """The minutes' deadlines and dates of the groups' meetings, as plain rows with their
    meeting's `group_id` (no free text)."""
    dialect = session.get_bind().dialect.name
    return rows_of(
        session,
        select(
            col(Minutes.meeting_id),
            col(Minutes.record_due),
            col(Minutes.circulate_due),
            col(Minutes.recorded_at),
            col(Minutes.circulated_at),
            col(Minutes.published_at),
            col(Meeting.group_id),
        )
        .join(Meeting, col(Meeting.id) == col(Minutes.meeting_id))
        .where(among_ids(dialect, col(Meeting.group_id), group_ids)),
    )


class _CaseRow:
    """The three things planning asks of a case."""

    __slots__ = ("icpc_date", "id", "nation")

    def __init__(self, case_id: int, nation: str, icpc_date: Any) -> None:
        self.id, self.nation, self.icpc_date = case_id, nation, icpc_date
