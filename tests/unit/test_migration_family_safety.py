"""Migration 0002: professionals' notes and answers already stored stay professionals-only."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.clock import FakeClock
from storage.db import alembic_config, current_revision, head_revision, upgrade
from storage.enums import ActionEventKind
from storage.models import ActionEvent, MemberUpdate, UpdateAnswer
from tests.factories import make_action, make_case, make_group, make_meeting, make_person


def test_notes_and_answers_stored_before_the_migration_are_for_professionals_only(
    engine: Engine, clock: FakeClock
) -> None:
    with Session(engine) as s:
        case = make_case(session=s, clock=clock)
        group = make_group(session=s, clock=clock, case=case)
        school = make_person(session=s, clock=clock, display_name="Priya Shah")
        action = make_action(session=s, clock=clock, group=group, owner=school)
        meeting = make_meeting(session=s, clock=clock, group=group, created_by=school)
        assert action.id is not None and school.id is not None and meeting.id is not None
        s.add(
            ActionEvent(
                action_id=action.id,
                at=clock.now(),
                actor_id=school.id,
                kind=ActionEventKind.NOTE,
                note="Mia told her teacher that dad is back",
            )
        )
        update = MemberUpdate(meeting_id=meeting.id, person_id=school.id, updated_at=clock.now())
        s.add(update)
        s.flush()
        assert update.id is not None
        s.add(
            UpdateAnswer(
                update_id=update.id,
                question="worries",
                answer="dad is back",
                answered_at=clock.now(),
            )
        )
        s.commit()

    # Back to the schema before this branch (the columns go), then forward again.
    command.downgrade(alembic_config(engine), "0003_documents")
    assert current_revision(engine) == "0003_documents"
    upgrade(engine)
    assert current_revision(engine) == head_revision()

    with engine.connect() as conn:  # through the sealed column types, which open the text
        notes = conn.execute(select(ActionEvent.note, ActionEvent.shared_with_family)).all()
        answers = conn.execute(select(UpdateAnswer.answer, UpdateAnswer.shared_with_family)).all()
    assert ("Mia told her teacher that dad is back", False) in [(n, bool(v)) for n, v in notes]
    assert [(a, bool(v)) for a, v in answers] == [("dad is back", False)]
