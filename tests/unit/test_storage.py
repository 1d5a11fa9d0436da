"""The data model on whichever database the fixtures give (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set): migrations match the models, a realistic group round-trips, times stay
aware UTC, constraints hold and the audit log cannot be rewritten."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, inspect
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, SQLModel, col, select

from bot.clock import FakeClock
from storage.db import (
    SchemaOutOfDate,
    alembic_config,
    check_schema,
    current_revision,
    head_revision,
    make_engine,
    session_scope,
    upgrade,
)
from storage.enums import (
    ActionEventKind,
    ActionStatus,
    AttendanceStatus,
    AuditKind,
    MeetingStatus,
    MinutesStatus,
    Platform,
    ReminderStatus,
    Role,
    UpdateState,
    Verdict,
)
from storage.models import (
    Action,
    ActionEvent,
    Attendance,
    AuditEntry,
    AuditLogIsAppendOnly,
    Case,
    ChatIdentity,
    CoreGroup,
    Disagreement,
    Distribution,
    Meeting,
    Membership,
    MemberUpdate,
    Minutes,
    MinutesReview,
    MinutesVersion,
    Outcome,
    Person,
    ProcessedEvent,
    Reminder,
    ReviewConference,
    UpdateAnswer,
)
from tests.factories import (
    GroupData,
    build_core_group,
    make_case,
    make_group,
    make_membership,
    make_person,
)


def _schema_diff(engine: Engine, metadata: MetaData) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


# --- migrations ---------------------------------------------------------------------------------


def test_migrations_create_every_model_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(engine: Engine) -> None:
    # The same check as `alembic check`: a model change without a migration fails here.
    assert _schema_diff(engine, SQLModel.metadata) == []


def test_schema_comparison_notices_a_model_change_without_a_migration(engine: Engine) -> None:
    changed = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["case"].append_column(Column("school_name", String(80)))
    diff = _schema_diff(engine, changed)
    assert [(op[0], op[3].name) for op in diff] == [("add_column", "school_name")]


def test_check_schema_refuses_an_empty_database_and_names_the_fix(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="coregroup db upgrade") as raised:
            check_schema(engine)
        assert "no schema yet" in str(raised.value)
        upgrade(engine)
        check_schema(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_downgrade_removes_every_table(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    with pytest.raises(SchemaOutOfDate):
        check_schema(engine)
    upgrade(engine)
    assert _schema_diff(engine, SQLModel.metadata) == []


# --- a realistic core group round-trips ---------------------------------------------------------


def _add_paperwork(session: Session, clock: FakeClock, data: GroupData) -> None:
    """The rest of a group's life: a review, an update, minutes, a reminder, audit entries."""
    chair, hv, gp = data.chair, data.members[Role.HEALTH_VISITOR], data.members[Role.GP]
    held = data.meetings[1]
    assert held.id is not None and data.group.id is not None and data.case.id is not None
    assert chair.id is not None and hv.id is not None and gp.id is not None
    now = clock.now()
    session.add(ReviewConference(case_id=data.case.id, held_on=date(2027, 2, 19), recorded_at=now))
    update = MemberUpdate(
        meeting_id=held.id,
        person_id=gp.id,
        state=UpdateState.COMPLETE,
        opened_at=now - timedelta(days=2),
        completed_at=now - timedelta(days=1),
        updated_at=now,
    )
    session.add(update)
    session.flush()
    assert update.id is not None
    for question, answer in [
        ("going-well", "Both children attended their immunisations."),
        ("worries", "Jo missed her review appointment on 2 Nov."),
        ("attending", ""),
    ]:
        session.add(
            UpdateAnswer(
                update_id=update.id,
                question=question,
                answer=answer,
                skipped=not answer,
                answered_at=now,
            )
        )
    minutes = Minutes(
        meeting_id=held.id,
        status=MinutesStatus.PUBLISHED,
        record_due=date(2026, 11, 12),
        circulate_due=date(2026, 11, 17),
        published_at=now,
        published_by=chair.id,
        created_at=now,
    )
    session.add(minutes)
    session.flush()
    assert minutes.id is not None
    versions = []
    for number, body in [(1, "Draft minutes."), (2, "Minutes with the GP's update added.")]:
        version = MinutesVersion(
            minutes_id=minutes.id, number=number, body=body, created_by=hv.id, created_at=now
        )
        session.add(version)
        versions.append(version)
    session.flush()
    assert versions[0].id is not None and versions[1].id is not None
    session.add(
        MinutesReview(
            version_id=versions[0].id,
            person_id=gp.id,
            verdict=Verdict.CHANGE,
            comment="Please add my written update.",
            at=now,
        )
    )
    for person in (chair, gp):
        assert person.id is not None
        session.add(
            MinutesReview(
                version_id=versions[1].id, person_id=person.id, verdict=Verdict.APPROVE, at=now
            )
        )
    for person in data.members.values():
        assert person.id is not None
        session.add(Distribution(minutes_id=minutes.id, person_id=person.id, sent_at=now))
    session.add(
        Disagreement(
            group_id=data.group.id,
            meeting_id=held.id,
            raised_by=gp.id,
            detail="Disagrees that the home conditions have improved.",
            escalated_to="Team manager",
            raised_at=now,
        )
    )
    session.add(
        Reminder(
            dedup_key=f"update:{data.meetings[2].id}:{gp.id}",
            kind="update-prompt",
            group_id=data.group.id,
            person_id=gp.id,
            subject_id=data.meetings[2].id,
            due_at=now + timedelta(days=3),
            payload={"meeting": data.meetings[2].id, "questions": ["going-well", "worries"]},
            created_at=now,
        )
    )
    session.add(ProcessedEvent(key="local:evt-1", at=now))
    for kind, what in [(AuditKind.CHANGE, "minutes.publish"), (AuditKind.READ, "group.status")]:
        session.add(
            AuditEntry(at=now, actor_id=chair.id, group_id=data.group.id, kind=kind, what=what)
        )


def test_a_realistic_core_group_round_trips(engine: Engine, clock: FakeClock) -> None:
    with session_scope(engine) as session:
        data = build_core_group(session=session, clock=clock, reference="CP-2026-0142")
        _add_paperwork(session, clock, data)
        group_id = data.group.id

    with Session(engine) as session:
        group = session.exec(select(CoreGroup).where(CoreGroup.id == group_id)).one()
        case = session.get(Case, group.case_id)
        assert case is not None and case.reference == "CP-2026-0142"
        assert case.icpc_date == date(2026, 9, 7)

        members = session.exec(
            select(Membership, Person)
            .join(Person, col(Person.id) == Membership.person_id)
            .where(Membership.group_id == group_id)
        ).all()
        roles = {m.role: p for m, p in members}
        assert len(members) == 6
        assert set(roles) == {
            Role.KEY_WORKER,
            Role.PARENT_CARER,
            Role.SCHOOL,
            Role.HEALTH_VISITOR,
            Role.GP,
            Role.POLICE,
        }
        assert [m.role for m, _ in members if m.is_chair] == [Role.KEY_WORKER]
        assert [m.role for m, _ in members if m.is_minute_taker] == [Role.HEALTH_VISITOR]
        assert roles[Role.PARENT_CARER].is_family and not roles[Role.GP].is_family
        assert roles[Role.SCHOOL].agency == "Oakfield Primary School"
        identities = session.exec(select(ChatIdentity)).all()
        assert {i.platform for i in identities} == {Platform.LOCAL}
        assert len(identities) == 6

        outcomes = session.exec(
            select(Outcome).where(Outcome.group_id == group_id).order_by(col(Outcome.number))
        ).all()
        assert [o.number for o in outcomes] == [1, 2, 3]

        actions = session.exec(
            select(Action).where(Action.group_id == group_id).order_by(col(Action.number))
        ).all()
        assert [a.number for a in actions] == list(range(1, 11))
        assert {a.outcome_id for a in actions} == {o.id for o in outcomes}
        first = actions[0]
        assert first.status == ActionStatus.DONE
        history = session.exec(
            select(ActionEvent)
            .where(ActionEvent.action_id == first.id)
            .order_by(col(ActionEvent.id))
        ).all()
        assert [(e.kind, e.old_value, e.new_value) for e in history] == [
            (ActionEventKind.CREATED, None, first.description),
            (ActionEventKind.STATUS, "open", "in-progress"),
            (ActionEventKind.STATUS, "in-progress", "done"),
        ]
        assert len(session.exec(select(ActionEvent)).all()) == 10 + 4 + 3

        meetings = session.exec(
            select(Meeting).where(Meeting.group_id == group_id).order_by(col(Meeting.starts_at))
        ).all()
        assert [m.status for m in meetings] == [
            MeetingStatus.HELD,
            MeetingStatus.HELD,
            MeetingStatus.SCHEDULED,
        ]
        assert meetings[0].starts_at == datetime(2026, 9, 15, 9, 0, tzinfo=UTC)  # 10:00 BST
        apologies = session.exec(
            select(Attendance).where(Attendance.status == AttendanceStatus.APOLOGIES)
        ).all()
        assert len(apologies) == 2 and {a.person_id for a in apologies} == {roles[Role.GP].id}
        assert len(session.exec(select(Attendance)).all()) == 18

        update = session.exec(select(MemberUpdate)).one()
        answers = session.exec(
            select(UpdateAnswer).where(UpdateAnswer.update_id == update.id)
        ).all()
        assert update.state == UpdateState.COMPLETE and len(answers) == 3
        assert [a.question for a in answers if a.skipped] == ["attending"]

        minutes = session.exec(select(Minutes)).one()
        assert minutes.meeting_id == meetings[1].id
        versions = session.exec(select(MinutesVersion).order_by(col(MinutesVersion.number))).all()
        assert [v.number for v in versions] == [1, 2]
        reviews = session.exec(select(MinutesReview)).all()
        assert sorted((r.version_id, r.verdict) for r in reviews) == sorted(
            [
                (versions[0].id, Verdict.CHANGE),
                (versions[1].id, Verdict.APPROVE),
                (versions[1].id, Verdict.APPROVE),
            ]
        )
        assert len(session.exec(select(Distribution)).all()) == 6
        assert session.exec(select(Disagreement)).one().escalated_to == "Team manager"
        assert len(session.exec(select(ReviewConference)).all()) == 1

        reminder = session.exec(select(Reminder)).one()
        assert reminder.status == ReminderStatus.PENDING
        assert reminder.payload == {
            "meeting": meetings[2].id,
            "questions": ["going-well", "worries"],
        }
        audit = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        assert [(a.kind, a.what) for a in audit] == [
            (AuditKind.CHANGE, "minutes.publish"),
            (AuditKind.READ, "group.status"),
        ]


# --- time ---------------------------------------------------------------------------------------


def test_datetimes_come_back_aware_utc(engine: Engine, clock: FakeClock) -> None:
    summer = datetime(2026, 7, 1, 10, 30, tzinfo=ZoneInfo("Europe/London"))  # BST, UTC+1
    winter = datetime(2026, 12, 1, 10, 30, tzinfo=ZoneInfo("America/New_York"))  # UTC-5
    with session_scope(engine) as session:
        group = make_group(session=session, clock=clock)
        chair = make_person(session=session, clock=clock)
        assert group.id is not None and chair.id is not None
        for starts_at in (winter, summer):
            session.add(
                Meeting(
                    group_id=group.id,
                    kind="regular",
                    starts_at=starts_at,
                    created_by=chair.id,
                    created_at=clock.now(),
                    updated_at=clock.now(),
                )
            )

    with Session(engine) as session:
        times = session.exec(select(Meeting.starts_at).order_by(col(Meeting.starts_at))).all()
        created = session.exec(select(Person.created_at)).one()
    assert times == [summer, winter]  # ordered by the instant, not the wall-clock text
    assert [t.tzinfo for t in times] == [UTC, UTC]
    assert [t.hour for t in times] == [9, 15]
    assert created == clock.now() and created.tzinfo is UTC


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Person(display_name="Naive", created_at=datetime(2026, 11, 23, 9, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


# --- constraints --------------------------------------------------------------------------------


def _duplicate_reminder(session: Session, clock: FakeClock) -> None:
    for _ in range(2):
        session.add(
            Reminder(
                dedup_key="nudge:7:3:2026-11-24",
                kind="nudge",
                due_at=clock.now(),
                created_at=clock.now(),
            )
        )
        session.flush()


def _duplicate_membership(session: Session, clock: FakeClock) -> None:
    group = make_group(session=session, clock=clock)
    person = make_person(session=session, clock=clock)
    for role in (Role.GP, Role.OTHER):
        make_membership(session=session, clock=clock, group=group, person=person, role=role)


def _duplicate_identity(session: Session, clock: FakeClock) -> None:
    make_person(session=session, clock=clock, platform=Platform.SLACK, user_id="U0SAME")
    make_person(session=session, clock=clock, platform=Platform.SLACK, user_id="U0SAME")


def _duplicate_reference(session: Session, clock: FakeClock) -> None:
    make_case(session=session, clock=clock, reference="CP-2026-0142")
    make_case(session=session, clock=clock, reference="CP-2026-0142")


def _missing_parent(session: Session, clock: FakeClock) -> None:
    session.add(
        Membership(group_id=999_999, person_id=999_999, role=Role.GP, joined_at=clock.now())
    )
    session.flush()


@pytest.mark.parametrize(
    "violate",
    [
        _duplicate_reminder,
        _duplicate_membership,
        _duplicate_identity,
        _duplicate_reference,
        _missing_parent,
    ],
    ids=lambda f: f.__name__.lstrip("_"),
)
def test_constraints_hold(
    engine: Engine, clock: FakeClock, violate: Callable[[Session, FakeClock], None]
) -> None:
    with Session(engine) as session, pytest.raises(IntegrityError):
        violate(session, clock)


# --- the audit log ------------------------------------------------------------------------------


def test_the_audit_log_refuses_update_and_delete(engine: Engine, clock: FakeClock) -> None:
    with session_scope(engine) as session:
        entry = AuditEntry(at=clock.now(), kind=AuditKind.READ, what="group.status")
        session.add(entry)
    with Session(engine) as session:
        stored = session.exec(select(AuditEntry)).one()
        stored.what = "something else"
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
        session.delete(session.exec(select(AuditEntry)).one())
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
    with Session(engine) as session:
        assert session.exec(select(AuditEntry.what)).all() == ["group.status"]


# --- the fixtures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_starts_with_an_empty_database_and_ids_from_one(
    engine: Engine, clock: FakeClock, attempt: int
) -> None:
    with session_scope(engine) as session:
        assert session.exec(select(Person)).all() == []
        person = make_person(session=session, clock=clock, display_name=f"Run {attempt}")
        group = make_group(session=session, clock=clock)
    assert (person.id, group.id, group.case_id) == (1, 1, 1)
