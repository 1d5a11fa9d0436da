"""The update conversations a chunk of reminders opens or nudges, loaded and written at once.

Wording reads these facts and writes nothing: the rows a prompt's answers will land in are made
before it (one insert for the chunk, so whoever gets the prompt can answer it), and what asking
sets on them (in progress, the current question) is written after it, in one statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.core.reminders.changes import table_of
from bot.core.reminders.settings import Kind
from bot.core.reminders.state import GroupState
from bot.core.updates import Asking, Conversation
from storage.db import insert_for
from storage.enums import UpdateState
from storage.models import MemberUpdate, Reminder, UpdateAnswer


@dataclass
class UpdateFacts:
    """Each (meeting, person) update a chunk asks about, its answers, and what asking set."""

    updates: dict[tuple[int, int], MemberUpdate]
    answers: dict[int, dict[str, UpdateAnswer]]
    asked: dict[int, Asking] = field(default_factory=dict)

    def update(self, meeting_id: int, person_id: int) -> MemberUpdate | None:
        """A member's update for a meeting, if it was ever opened."""
        return self.updates.get((meeting_id, person_id))

    def conversation(
        self, session: Session, state: GroupState, update: MemberUpdate, *, tz: ZoneInfo
    ) -> Conversation | None:
        """A member's conversation built from the loaded facts; None when they are no longer a
        member (the caller then loads it the usual way)."""
        member = state.member(update.person_id)
        meeting = state.meeting(update.meeting_id)
        if update.id is None or member is None or meeting is None:
            return None
        membership, person = member
        mine = sorted(
            (a for a in state.actions if a.owner_id == update.person_id),
            key=lambda a: (a.due_on, a.number),
        )
        return Conversation(
            session,
            update,
            meeting,
            person,
            membership,
            state.case.reference,
            tz,
            known_answers=self.answers.get(update.id, {}),
            known_actions=mine,
        )


def _pairs(rows: Iterable[Reminder], kind: Kind) -> set[tuple[int, int]]:
    return {
        (r.subject_id, r.person_id)
        for r in rows
        if r.kind == kind and r.subject_id is not None and r.person_id is not None
    }


def load_update_facts(session: Session, rows: Iterable[Reminder], *, now: datetime) -> UpdateFacts:
    """Make the update rows the chunk's opening questions need (one insert), then load every
    update the chunk asks about and their answers (two queries)."""
    rows = list(rows)
    opening = _pairs(rows, Kind.UPDATE_OPEN)
    wanted = opening | _pairs(rows, Kind.UPDATE_NUDGE)
    if not wanted:
        return UpdateFacts({}, {})
    if opening:
        table = table_of(MemberUpdate)
        stmt = insert_for(session.get_bind().dialect.name)(table).on_conflict_do_nothing()
        state = UpdateState.NOT_STARTED.value
        session.execute(
            stmt,
            [
                {"meeting_id": m, "person_id": p, "state": state, "updated_at": now}
                for m, p in sorted(opening)
            ],
        )
    meetings = {m for m, _ in wanted}
    found = session.exec(
        select(MemberUpdate).where(col(MemberUpdate.meeting_id).in_(meetings))
    ).all()
    updates = {(u.meeting_id, u.person_id): u for u in found}
    updates = {pair: u for pair, u in updates.items() if pair in wanted}
    answers: dict[int, dict[str, UpdateAnswer]] = {u.id: {} for u in updates.values() if u.id}
    if answers:
        for answer in session.exec(
            select(UpdateAnswer).where(col(UpdateAnswer.update_id).in_(list(answers)))
        ).all():
            answers[answer.update_id][answer.question] = answer
    return UpdateFacts(updates, answers)


def record_asked(session: Session, facts: UpdateFacts) -> None:
    """Write what asking set on each update (in progress, the question asked), in one
    statement; the loaded rows say so too, without the session writing them again."""
    if not facts.asked:
        return
    table = table_of(MemberUpdate)
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            state=bindparam("b_state", type_=table.c.state.type),
            current_question=bindparam("b_question", type_=table.c.current_question.type),
            opened_at=bindparam("b_opened", type_=table.c.opened_at.type),
            completed_at=bindparam("b_completed", type_=table.c.completed_at.type),
            updated_at=bindparam("b_updated", type_=table.c.updated_at.type),
        ),
        [
            {
                "b_id": update_id,
                "b_state": UpdateState(a.state).value,
                "b_question": a.current_question,
                "b_opened": a.opened_at,
                "b_completed": a.completed_at,
                "b_updated": a.updated_at,
            }
            for update_id, a in sorted(facts.asked.items())
        ],
    )
    rows = {u.id: u for u in facts.updates.values()}
    for update_id, a in facts.asked.items():
        row = rows[update_id]
        for name, value in (
            ("state", a.state),
            ("current_question", a.current_question),
            ("opened_at", a.opened_at),
            ("completed_at", a.completed_at),
            ("updated_at", a.updated_at),
        ):
            set_committed_value(row, name, value)
