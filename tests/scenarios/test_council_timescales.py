"""A council's own timescales through the local chat: a 4-weekly council gets 4-weekly deadlines,
warnings and reminders over a simulated quarter, each rule credited to its source, and a change
of policy re-plans the reminders already in the ledger on the next tick."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.context import Locale
from bot.core.policy_book import load_policy_book
from bot.core.reminders import Kind, ReminderSettings
from bot.scheduler import ReminderEngine
from storage.enums import Platform, ReminderStatus
from storage.models import Reminder
from tests.scenarios.conftest import ChatDriver

LONDON = ZoneInfo("Europe/London")
REF = "CP-2026-0142"
NORTH = "North Borough's procedure"
SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup schedule 6/1 10am
clock 2027-01-06 12:00
/coregroup held 1
"""


def four_weekly() -> Locale:
    """A council that meets every four weeks."""
    book = load_policy_book(path=None, env={"POLICY_MEETING_INTERVAL_DAYS": "4 weeks"}, name=NORTH)
    return Locale(policies=book)


def drift_reminders(engine: Engine) -> list[tuple[date, ReminderStatus]]:
    """The ledger's 'no meeting for too long' rows: local due date and status."""
    with Session(engine) as session:
        rows = session.exec(
            select(Reminder)
            .where(Reminder.kind == Kind.DRIFT_MEETING)
            .order_by(col(Reminder.due_at))
        ).all()
        return [(r.due_at.astimezone(LONDON).date(), ReminderStatus(r.status)) for r in rows]


def test_a_four_weekly_council_over_a_quarter(engine: Engine, clock: FakeClock) -> None:
    chat = ChatDriver(engine, clock, locale=four_weekly())
    chat(SETUP)

    out = chat("/coregroup status")
    assert "Next core group by Wed 3 Feb 2027 — not booked yet." in out
    assert (
        f"Rule: Next core group within 4 weeks of the core group on Wed 6 Jan 2027 — {NORTH}."
        in out
    )
    assert (
        "Rule: First review conference within 3 months of the ICPC on Fri 18 Dec 2026 — "
        "statutory guidance default." in out
    )
    # The date is shown as written, not lower-cased.
    assert "Minutes of the meeting on Wed 6 Jan 2027: not written yet" in out

    out = chat("/coregroup schedule 10/2 10am")
    assert (
        "This is after the next core group deadline of Wed 3 Feb 2027 (within 4 weeks of the "
        f"core group on Wed 6 Jan 2027 — {NORTH})." in out
    )
    chat("/coregroup cancel 2")

    # Four weeks on, nothing booked: the chair is told first that it is unbooked, then of drift.
    out = chat("clock 2027-02-04 10:00")
    assert (
        f"must meet by Wed 3 Feb 2027 — within 4 weeks of the meeting on Wed 6 Jan 2027 ({NORTH})"
        in out
    )
    assert "== No meeting for over 4 weeks · CP-2026-0142 ==" in out
    assert f"Core groups should meet at least every 4 weeks ({NORTH})" in out

    # The second meeting on Fri 5 Feb starts a new four weeks: due by Fri 5 Mar, drift after.
    chat("/coregroup schedule 5/2 10am\nclock 2027-02-05 12:00\n/coregroup held 3")
    out = chat("/coregroup status")
    assert "Next core group by Fri 5 Mar 2027 — not booked yet." in out
    out = chat("clock 2027-03-04 10:00")
    assert "No meeting for over 4 weeks" not in out
    out = chat("clock 2027-03-08 10:00")
    assert "== No meeting for over 4 weeks · CP-2026-0142 ==" in out
    assert "last met on Fri 5 Feb 2027 — over 4 weeks ago" in out


def test_the_default_six_weeks_for_comparison(engine: Engine, clock: FakeClock) -> None:
    chat = ChatDriver(engine, clock)
    chat(SETUP)
    out = chat("/coregroup status")
    assert "Next core group by Wed 17 Feb 2027 — not booked yet." in out
    assert "— statutory guidance default." in out
    out = chat("clock 2027-02-04 10:00")
    assert "No meeting for over" not in out
    assert "must meet by Wed 17 Feb 2027 — within 6 weeks of the meeting on Wed 6 Jan 2027" in out


def test_a_change_of_policy_replans_the_ledger_on_the_next_tick(
    engine: Engine, clock: FakeClock
) -> None:
    chat = ChatDriver(engine, clock)  # the statutory six weeks
    chat(SETUP)
    chat("clock 2027-02-02 09:00")
    assert drift_reminders(engine) == []  # six weeks: drift from Thu 18 Feb, not planned yet
    clock.set(datetime(2027, 2, 2, 9, 1, tzinfo=LONDON))
    assert chat.reminders.tick().planned == 0  # nothing changed, nothing re-planned

    # The bot restarts with the council's four-weekly procedure: one tick re-plans the group,
    # and the drift reminder for Thu 4 Feb is in the ledger at once.
    restarted = ReminderEngine(
        engine=engine,
        clock=clock,
        outboxes={Platform.LOCAL: chat.local},
        locale=four_weekly(),
        settings=ReminderSettings(send_workers=1),
    )
    clock.set(datetime(2027, 2, 2, 9, 2, tzinfo=LONDON))
    assert restarted.tick().planned == 1
    assert drift_reminders(engine) == [(date(2027, 2, 4), ReminderStatus.PENDING)]
    # Once only: the next tick under the same rules re-plans nothing more.
    clock.set(datetime(2027, 2, 2, 9, 3, tzinfo=LONDON))
    assert restarted.tick().planned == 0
