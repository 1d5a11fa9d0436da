"""The state a group's reminders are derived from, loaded for many groups at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlmodel import Session, col, func, select

from bot.core.reminders.queries import among_ids
from bot.core.working_hours import (
    Hours,
    person_hours,
)
from storage.enums import (
    ActionStatus,
    ConcernState,
    GroupStatus,
    MeetingStatus,
    OutcomeStatus,
    Role,
)
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


@dataclass
class GroupState:
    """Everything about one group that decides its reminders."""

    group: CoreGroup
    case: Case
    members: list[tuple[Membership, Person]]
    meetings: list[Meeting]  # not cancelled, by start
    actions: list[Action]  # open ones
    outcomes: list[Outcome]  # active
    minutes: dict[int, Minutes]  # by meeting id
    reviews: list[ReviewConference]
    managers: list[Person]  # the team's managers
    touched: dict[int, datetime] = field(default_factory=dict)  # outcome: latest action change
    concerns: list[Concern] = field(default_factory=list)  # not answered yes or no

    # Derivation asks these many times per group: worked out once (after loading).
    @cached_property
    def id(self) -> int:
        """The group's id."""
        assert self.group.id is not None
        return self.group.id

    @cached_property
    def _by_person(self) -> dict[int | None, tuple[Membership, Person]]:
        return {p.id: (m, p) for m, p in self.members}

    @cached_property
    def _hours(self) -> dict[int | None, Hours]:
        people = [p for _, p in self.members] + self.managers
        return {p.id: person_hours(p) for p in people}

    def hours(self, person: Person) -> Hours:
        """When a member (or one of the team's managers) takes direct messages."""
        return self._hours.get(person.id) or person_hours(person)

    def member(self, person_id: int) -> tuple[Membership, Person] | None:
        """A current member's membership and person."""
        return self._by_person.get(person_id)

    @cached_property
    def _meetings(self) -> dict[int | None, Meeting]:
        return {m.id: m for m in self.meetings}

    @cached_property
    def _actions(self) -> dict[int | None, Action]:
        return {a.id: a for a in self.actions}

    def meeting(self, meeting_id: int | None) -> Meeting | None:
        """One of the group's meetings (not cancelled)."""
        return self._meetings.get(meeting_id)

    def action(self, action_id: int | None) -> Action | None:
        """One of the group's open actions."""
        return self._actions.get(action_id)

    def outcome(self, outcome_id: int | None) -> Outcome | None:
        """One of the group's active outcomes."""
        return next((o for o in self.outcomes if o.id == outcome_id), None)

    def concern(self, concern_id: int | None) -> Concern | None:
        """One of the group's questions about a concern still waiting for yes or no."""
        return next((c for c in self.concerns if c.id == concern_id), None)

    @cached_property
    def chairs(self) -> list[Person]:
        """The current chairs."""
        return [p for m, p in self.members if m.is_chair]

    @cached_property
    def writers(self) -> list[Person]:
        """Who answers for the minutes: the chairs and the minute-takers."""
        return [p for m, p in self.members if m.is_chair or m.is_minute_taker]

    def overseers(self) -> list[Person]:
        """Chairs, the team's managers and members in the team-manager role, each once."""
        found: dict[int, Person] = {}
        roles = [p for m, p in self.members if m.role == Role.TEAM_MANAGER]
        for person in [*self.chairs, *self.managers, *roles]:
            assert person.id is not None
            found.setdefault(person.id, person)
        return list(found.values())


# The parts of a group's state besides the group, its case and its members.
PARTS = frozenset(
    {"meetings", "actions", "touched", "outcomes", "minutes", "concerns", "reviews", "managers"}
)


def load_states(
    session: Session,
    group_ids: Iterable[int],
    *,
    reads: Mapping[int, Collection[str]] | None = None,
) -> dict[int, GroupState]:
    """The state of many groups at once, in a fixed number of queries. With `reads` (by group,
    names from `PARTS`), each group gets only those parts besides its group, case and members;
    the others are left empty. Without it, every part."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}

    dialect = session.get_bind().dialect.name

    def among(column: Any, values: list[int]) -> Any:
        return among_ids(dialect, column, values)

    def wanting(part: str) -> list[int]:
        return ids if reads is None else [i for i in ids if part in reads.get(i, ())]

    states: dict[int, GroupState] = {}
    for group, case in session.exec(
        select(CoreGroup, Case)
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .where(among(col(CoreGroup.id), ids))
    ).all():
        assert group.id is not None
        states[group.id] = GroupState(group, case, [], [], [], [], {}, [], [])
    for membership, person in session.exec(
        select(Membership, Person)
        .join(Person, col(Person.id) == Membership.person_id)
        .where(among(col(Membership.group_id), ids), col(Membership.active).is_(True))
        .order_by(col(Membership.id))
    ).all():
        states[membership.group_id].members.append((membership, person))
    if some := wanting("meetings"):
        for meeting in session.exec(
            select(Meeting)
            .where(among(col(Meeting.group_id), some), Meeting.status != MeetingStatus.CANCELLED)
            .order_by(col(Meeting.starts_at), col(Meeting.id))
        ).all():
            states[meeting.group_id].meetings.append(meeting)
    if some := wanting("actions"):
        closed = [s.value for s in ActionStatus if s.is_closed]
        for action in session.exec(
            select(Action)
            .where(among(col(Action.group_id), some), col(Action.status).not_in(closed))
            .order_by(col(Action.id))
        ).all():
            states[action.group_id].actions.append(action)
    if some := wanting("touched"):
        # Any change to an action, open or closed, is activity on its outcome.
        for group_id, outcome_id, last in session.exec(
            select(Action.group_id, Action.outcome_id, func.max(Action.updated_at))
            .where(among(col(Action.group_id), some), col(Action.outcome_id).is_not(None))
            .group_by(col(Action.group_id), col(Action.outcome_id))
        ).all():
            if outcome_id is not None:
                states[group_id].touched[outcome_id] = last
    if some := wanting("outcomes"):
        for outcome in session.exec(
            select(Outcome)
            .where(among(col(Outcome.group_id), some), Outcome.status == OutcomeStatus.ACTIVE)
            .order_by(col(Outcome.number))
        ).all():
            states[outcome.group_id].outcomes.append(outcome)
    if some := wanting("minutes"):
        for minutes, group_id in session.exec(
            select(Minutes, Meeting.group_id)
            .join(Meeting, col(Meeting.id) == Minutes.meeting_id)
            .where(among(col(Meeting.group_id), some))
        ).all():
            states[group_id].minutes[minutes.meeting_id] = minutes
    if some := wanting("concerns"):
        for concern in session.exec(
            select(Concern)
            .where(
                among(col(Concern.group_id), some),
                col(Concern.state).in_([ConcernState.ASKED, ConcernState.LATER]),
            )
            .order_by(col(Concern.id))
        ).all():
            states[concern.group_id].concerns.append(concern)
    if some := wanting("reviews"):
        by_case = {states[i].case.id: states[i] for i in some if i in states}
        for review in session.exec(
            select(ReviewConference)
            .where(among(col(ReviewConference.case_id), [c for c in by_case if c is not None]))
            .order_by(col(ReviewConference.held_on))
        ).all():
            by_case[review.case_id].reviews.append(review)
    by_team: dict[int, list[GroupState]] = defaultdict(list)
    for i in wanting("managers"):
        state = states.get(i)
        if state is not None and state.group.team_id is not None:
            by_team[state.group.team_id].append(state)
    if by_team:
        for person in session.exec(
            select(Person)
            .where(col(Person.team_id).in_(list(by_team)), col(Person.is_team_manager).is_(True))
            .order_by(col(Person.id))
        ).all():
            for state in by_team[person.team_id or 0]:
                state.managers.append(person)
    return states


def digest_managers(session: Session) -> list[Person]:
    """Team managers whose team has at least one open group."""
    teams = select(CoreGroup.team_id).where(CoreGroup.status == GroupStatus.ACTIVE)
    return list(
        session.exec(
            select(Person)
            .where(col(Person.is_team_manager).is_(True), col(Person.team_id).in_(teams))
            .order_by(col(Person.id))
        ).all()
    )
