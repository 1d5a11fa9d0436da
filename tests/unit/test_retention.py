"""Retention on a frozen clock: exactly the working copies past their period go, once, audited
by kind only; `coregroup retention --dry-run` lists them by case reference."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select

from bot.app import local_chat
from bot.cli import main
from bot.clock import FakeClock
from bot.config import load_settings
from bot.core.context import Locale
from bot.core.retention import ERASED, FORMER_MEMBER, KINDS, RetentionPolicy, due, erase
from bot.core.sent_messages import delete_due
from bot.demo import build_demo
from bot.housekeeping import DailyJob, retention_policy, run_housekeeping
from storage.enums import GroupStatus, MinutesStatus, Platform, Role, Verdict
from storage.models import (
    Action,
    AuditEntry,
    AuditSeal,
    CardCopy,
    Case,
    ChatIdentity,
    Concern,
    CoreGroup,
    Erasure,
    FamilyInvite,
    MemberUpdate,
    Minutes,
    MinutesReview,
    MinutesVersion,
    Outcome,
    Person,
    ProcessedEvent,
    Reminder,
    TeamsSend,
    UpdateAnswer,
)
from tests.factories import GroupData, build_core_group, make_membership, named

CLOSED = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
SIX_MONTHS_ON = datetime(2027, 5, 30, 17, 0, tzinfo=UTC)
TYPED = "Jamie said the boiler is broken again"


class Recorder:
    """A MessageEraser that records what it was asked to delete."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, ref: str) -> bool:
        self.deleted.append(ref)
        return True


def closed_group(session: Session, clock: FakeClock, reference: str, closed: datetime) -> GroupData:
    """A full group with minutes, updates, an invite, a sent reminder and a card, then closed."""
    data = build_core_group(session=session, clock=clock, reference=reference)
    group, chair, meeting = data.group, data.chair, data.meetings[0]
    assert group.id and chair.id and meeting.id
    minutes = Minutes(
        meeting_id=meeting.id,
        status=MinutesStatus.PUBLISHED,
        record_due=date(2026, 10, 1),
        circulate_due=date(2026, 10, 2),
        created_at=clock.now(),
    )
    session.add(minutes)
    session.flush()
    assert minutes.id
    version = MinutesVersion(
        minutes_id=minutes.id, number=1, body=TYPED, created_by=chair.id, created_at=clock.now()
    )
    session.add(version)
    session.flush()
    assert version.id
    session.add(
        MinutesReview(
            version_id=version.id,
            person_id=chair.id,
            verdict=Verdict.APPROVE,
            comment=TYPED,
            at=clock.now(),
        )
    )
    update = MemberUpdate(meeting_id=meeting.id, person_id=chair.id, updated_at=clock.now())
    session.add(update)
    session.flush()
    assert update.id
    answer = UpdateAnswer(
        update_id=update.id, question="worries", answer=TYPED, answered_at=clock.now()
    )
    session.add(answer)
    session.flush()
    session.add(
        Concern(
            group_id=group.id,
            author_id=chair.id,
            update_answer_id=answer.id,
            text=TYPED,
            raised_at=clock.now(),
        )
    )
    parent = data.members[Role.PARENT_CARER]
    assert parent.id
    session.add(
        FamilyInvite(
            group_id=group.id,
            person_id=parent.id,
            code_hash="x",
            created_by=chair.id,
            created_at=clock.now(),
            expires_at=clock.now(),
        )
    )
    session.add(
        Reminder(
            dedup_key=f"r:{reference}",
            kind="action_due",
            group_id=group.id,
            due_at=clock.now(),
            message_ref=f"C-{reference}:1700000000.000100",
            created_at=clock.now(),
        )
    )
    session.add(
        CardCopy(
            card=f"action:{data.actions[0].id}",
            platform=Platform.SLACK,
            place=f"C-{reference}",
            message_id="1700000000.000200",
            sent_at=clock.now(),
        )
    )
    group.status, group.closed_at, group.close_reason = GroupStatus.CLOSED, closed, TYPED
    group.platform, group.channel_id = Platform.SLACK, f"C-{reference}"
    session.add(group)
    session.flush()
    return data


@pytest.fixture
def world(engine: Engine, clock: FakeClock) -> dict[str, GroupData]:
    with Session(engine, expire_on_commit=False) as s:
        old = closed_group(s, clock, "CP-2026-0001", CLOSED)
        later = closed_group(s, clock, "CP-2026-0002", CLOSED + timedelta(days=1))
        still_open = build_core_group(session=s, clock=clock, reference="CP-2026-0003")
        # The old group's school contact is in the open group too: they keep their identity.
        make_membership(
            session=s,
            clock=clock,
            group=still_open.group,
            person=old.members[Role.SCHOOL],
            role=Role.SCHOOL,
        )
        s.commit()
    return {"old": old, "later": later, "open": still_open}


def count(session: Session, model: type[SQLModel], *where: object) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def matching(
    session: Session, model: type[SQLModel], field: str, value: str, *where: object
) -> int:
    """Rows whose (sealed at rest, so compared once opened) `field` is `value`."""
    return sum(getattr(row, field) == value for row in session.exec(select(model).where(*where)))


def unlike(session: Session, model: type[SQLModel], field: str, value: str, *where: object) -> int:
    """Rows whose sealed `field` is not `value`."""
    return sum(getattr(row, field) != value for row in session.exec(select(model).where(*where)))


def test_nothing_goes_a_minute_before_six_months(engine: Engine, world: dict) -> None:
    with Session(engine) as s:
        assert due(s, RetentionPolicy(), SIX_MONTHS_ON - timedelta(minutes=1)) == []


def test_exactly_what_is_past_its_period_is_erased_once_and_audited(
    engine: Engine, world: dict[str, GroupData]
) -> None:
    old, later = world["old"].group.id, world["later"].group.id
    parent_name = world["old"].members[Role.PARENT_CARER].display_name
    recorder = Recorder()
    with Session(engine) as s:
        erased = erase(s, RetentionPolicy(), SIX_MONTHS_ON)
        s.commit()
    assert {item.group_id for item in erased} == {old}
    delete_due(engine, {Platform.SLACK: recorder}, SIX_MONTHS_ON)
    assert sorted(recorder.deleted) == [
        "C-CP-2026-0001:1700000000.000100",
        "C-CP-2026-0001:1700000000.000200",
    ]
    with Session(engine) as s:
        for group, gone in ((old, True), (later, False)):
            assert matching(s, Outcome, "title", ERASED, Outcome.group_id == group) == (
                3 if gone else 0
            )
            assert unlike(s, Action, "description", ERASED, Action.group_id == group) == (
                0 if gone else 10
            )
            assert count(s, FamilyInvite, FamilyInvite.group_id == group) == (0 if gone else 1)
            assert count(s, Reminder, Reminder.group_id == group) == (0 if gone else 1)
            assert matching(s, Concern, "text", TYPED, Concern.group_id == group) == (
                0 if gone else 1
            )
        assert count(s, UpdateAnswer) == 1 and count(s, MemberUpdate) == 1  # the later group's
        assert matching(s, MinutesVersion, "body", TYPED) == 1
        assert matching(s, MinutesReview, "comment", TYPED) == 1
        assert count(s, CardCopy) == 1
        case = s.exec(select(Case).where(Case.reference == "CP-2026-0001")).one()
        assert case.reference == "CP-2026-0001"  # the reference and ids stay
        group_row = s.get(CoreGroup, old)
        assert group_row is not None and group_row.close_reason is None
        # People of the old group in no open group are anonymised; the school contact is not.
        school = s.get(Person, world["old"].members[Role.SCHOOL].id)
        parent = s.get(Person, world["old"].members[Role.PARENT_CARER].id)
        assert school is not None and school.display_name != FORMER_MEMBER
        assert count(s, ChatIdentity, ChatIdentity.person_id == school.id) == 1
        assert parent is not None and parent.display_name == FORMER_MEMBER
        assert count(s, ChatIdentity, ChatIdentity.person_id == parent.id) == 0
        # The sealed name's index goes with it: the old name no longer finds them.
        assert parent.name_index is None and school.name_index is not None
        gone = count(s, Person, named(s, parent_name), Person.id == parent.id)
        assert parent_name != FORMER_MEMBER and gone == 0
        assert count(s, Person, named(s, school.display_name), Person.id == school.id) == 1
        audits = s.exec(select(AuditEntry).where(AuditEntry.what == "retention:erased")).all()
        # Eight kinds, and the chat messages deleted through the platform.
        assert {a.group_id for a in audits} == {old} and len(audits) == 9
        assert "kind=chat_messages deleted=2 not_deleted=0" in {a.detail for a in audits}
        assert all(TYPED not in a.detail and "Jo" not in a.detail for a in audits)
        # The card and the reminder (and the planner's bookkeeping row, once a planner ran).
        messages = next(a.detail for a in audits if a.detail.startswith("kind=messages "))
        assert messages.endswith(" chat_messages_to_delete=2")
    with Session(engine) as s:  # the next day's run does only the group closed a day later
        again = erase(s, RetentionPolicy(), SIX_MONTHS_ON + timedelta(days=2))
    assert {item.group_id for item in again} == {later} and len(again) == 8


def test_a_longer_period_for_one_kind_keeps_it(engine: Engine, world: dict) -> None:
    months = {"minutes": 12}
    with Session(engine) as s:
        kinds = {item.kind for item in due(s, RetentionPolicy(months=months), SIX_MONTHS_ON)}
    assert "minutes" not in kinds and "updates" in kinds
    settings = load_settings(retention_minutes_months=12, retention_months=6)
    assert retention_policy(settings).months["minutes"] == 12
    assert retention_policy(settings).months["plan"] == 6


def test_dry_run_lists_counts_per_kind_by_case_reference(
    engine: Engine,
    world: dict,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["retention", "--dry-run"]) == 0  # today (2026) nothing is six months closed
    assert capsys.readouterr().out == "Nothing has passed its retention period.\n"
    monkeypatch.setenv("RETENTION_MONTHS", "1")
    monkeypatch.setattr("bot.clock.SystemClock.now", lambda self: SIX_MONTHS_ON)
    assert main(["retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Would erase:"
    assert out.splitlines()[1].startswith("  CP-2026-0001: plan ")
    assert "family invites 1" in out and "messages " in out
    assert "CP-2026-0003" not in out and TYPED not in out and "Jo Reed" not in out
    with Session(engine) as s:
        assert count(s, AuditEntry, AuditEntry.what == "retention:erased") == 0


def test_the_daily_job_seals_and_erases(
    engine: Engine, world: dict, database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url=database_url,
        audit_key=base64.b64encode(b"a" * 32).decode(),
        documents_dir=tmp_path,
    )
    saved = tmp_path / "CP-2026-0001-meeting-1-minutes-v1.docx"
    saved.write_bytes(b"docx")
    (tmp_path / "CP-2026-0002-meeting-1-minutes-v1.docx").write_bytes(b"docx")
    run_housekeeping(engine=engine, clock=FakeClock(SIX_MONTHS_ON), settings=settings)
    assert not saved.exists() and (tmp_path / "CP-2026-0002-meeting-1-minutes-v1.docx").exists()
    with Session(engine) as s:
        assert count(s, AuditEntry, AuditEntry.what == "retention:erased") == 8
        assert count(s, Reminder, Reminder.group_id == world["old"].group.id) == 0


def test_the_daily_job_forgets_delivery_records_only_once_a_week_old(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url=database_url,
        audit_key=base64.b64encode(b"a" * 32).decode(),
        documents_dir=tmp_path,
    )
    now = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    week = timedelta(days=7)
    with Session(engine) as s:
        for key, at in (("trigger:old", now - week - timedelta(minutes=1)), ("trigger:new", now)):
            s.add(ProcessedEvent(key=key, at=at))
        for key, at in (("meeting:old", now - week - timedelta(minutes=1)), ("meeting:new", now)):
            s.add(TeamsSend(key=key, conversation="19:c", started_at=at))
        s.commit()
    run_housekeeping(engine=engine, clock=FakeClock(now), settings=settings)
    with Session(engine) as s:
        assert [e.key for e in s.exec(select(ProcessedEvent))] == ["trigger:new"]
        assert [t.key for t in s.exec(select(TeamsSend))] == ["meeting:new"]


def test_the_local_chat_runs_the_daily_job_as_its_clock_passes_each_day(
    engine: Engine, world: dict[str, GroupData], database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url=database_url,
        audit_key=base64.b64encode(b"a" * 32).decode(),
        documents_dir=tmp_path,
    )
    clock = FakeClock(SIX_MONTHS_ON - timedelta(days=1))
    daily = DailyJob(engine=engine, clock=clock, settings=settings)
    chat = local_chat(
        engine=engine, clock=clock, locale=Locale(), out=io.StringIO(), echo=False, daily=daily
    )
    old = world["old"].group.id

    def erased() -> int:
        with Session(engine) as s:
            return count(s, Erasure, Erasure.group_id == old)

    chat.feed("clock +1h")  # the first move runs it: nothing is six months closed yet
    assert daily.last == SIX_MONTHS_ON - timedelta(hours=23) and erased() == 0
    chat.feed("clock +23h")  # not yet a day since the last run
    assert erased() == 0
    chat.feed("clock +1h")  # a day since the last run, and six months since the close
    assert erased() == 8
    chat.feed("clock +2h")
    assert daily.last == SIX_MONTHS_ON + timedelta(hours=1)  # not again within the day


def test_the_demo_erases_its_closed_group_when_its_clock_passes_the_period(
    tmp_path: Path,
) -> None:
    chat = build_demo(
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        out=io.StringIO(),
        echo=False,
        show_seed=False,
        files_dir=tmp_path / "documents",
    )
    chat.run(["/coregroup close the plan ended confirm", "clock 2027-07-01 09:00"])
    with Session(chat.dispatcher.engine) as s:
        kinds = set(s.exec(select(Erasure.kind)).all())
        assert count(s, AuditSeal) > 0
    chat.dispatcher.engine.dispose()
    assert kinds == set(KINDS)
