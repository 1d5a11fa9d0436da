"""Issue 10, rules a chair relies on: the team view lists first meetings due soon and any group
whose next statutory meeting is unbooked or booked too late; the chairs are reminded before
those dates, a meeting booked too late included."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.clock import FakeClock
from storage.enums import Platform
from tests.factories import in_team
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_meetings import REF

SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup schedule 6/1 10am
clock 2027-01-06 12:00
/coregroup held 1
"""


def dm(out: str, who: str) -> str:
    """Everything sent to `who` privately in this stretch of transcript."""
    parts = out.split(f"[DM to {who}]")[1:]
    return "\n".join(part.split("\n[")[0] for part in parts)


def test_a_review_whose_deadline_the_booked_meeting_misses_is_reminded(chat: ChatDriver) -> None:
    chat(SETUP)
    # The review on Wed 20 Jan: the next core group is due within 10 working days (Wed 3 Feb);
    # the one booked (Mon 15 Feb, in time for the 6-weekly) is too late for that.
    chat("clock 2027-01-20 16:00\n/coregroup review 20/1/2027\n/coregroup schedule 15/2 10am")
    out = chat("clock 2027-01-28 10:00")
    to_sam = dm(out, "sam")
    assert "Meeting after the review booked too late · CP-2026-0142" in to_sam
    assert "so by Wed 3 Feb 2027" in to_sam
    assert "The meeting booked for Mon 15 Feb 2027 is after that deadline" in to_sam


def test_a_review_recorded_late_is_still_reminded_the_next_working_day(chat: ChatDriver) -> None:
    chat(SETUP)
    # Recorded on Fri 29 Jan, seven working days after the review: nothing is booked.
    chat("clock 2027-01-29 16:00\n/coregroup review 20/1/2027")
    out = chat("clock 2027-02-01 10:00")
    assert "Meeting after the review not booked yet · CP-2026-0142" in dm(out, "sam")


def test_a_next_meeting_booked_after_the_six_weekly_date_is_reminded(chat: ChatDriver) -> None:
    chat(SETUP)
    # Six weeks from Wed 6 Jan is Wed 17 Feb; the next meeting is booked for Wed 24 Feb.
    chat("/coregroup schedule 24/2 10am")
    out = chat("clock 2027-02-04 10:00")
    to_sam = dm(out, "sam")
    assert "Next meeting booked too late · CP-2026-0142" in to_sam
    assert "The meeting booked for Wed 24 Feb 2027 is after that deadline" in to_sam
    # Moved in time: nothing more is said.
    chat("/coregroup move 2 to 16/2 10am")
    assert "booked too late" not in chat("clock 2027-02-12 10:00")


def test_the_team_view_lists_meetings_not_booked_in_time(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    in_team(engine, clock, platform=Platform.LOCAL, user_id="tam", name="Tam", manager=True)
    chat(SETUP)
    # CP-2026-0142 met on Wed 6 Jan; its next is booked for Wed 24 Feb, after Wed 17 Feb.
    chat("/coregroup schedule 24/2 10am")
    # CP-2027-0002: ICPC Mon 4 Jan, first meeting due within 10 working days, nothing booked.
    # CP-2027-0003: ICPC Wed 6 Jan, first meeting booked in time.
    # CP-2027-0004: ICPC to come on Fri 22 Jan: its first meeting is due after the next 10
    # working days (Fri 29 Jan).
    chat(
        """
        /coregroup new CP-2027-0002 icpc 4/1/2027
        /coregroup new CP-2027-0003 icpc 6/1/2027
        /coregroup CP-2027-0003 schedule 20/1 10am
        clock 2027-01-15 09:00
        /coregroup new CP-2027-0004 icpc 22/1/2027
        """
    )
    out = chat("as tam\n/coregroup team")
    assert "First meetings due in the next 10 working days, not booked in time:" in out
    assert "CP-2027-0002: first core group due by Mon 18 Jan 2027 — not booked yet" in out
    assert "CP-2027-0003" not in out.split("Next meetings")[0].split("First meetings")[1]
    assert "CP-2027-0004: first" not in out
    assert "Next meetings not booked in time:" in out
    assert (
        "CP-2026-0142: next core group due by Wed 17 Feb 2027 — booked for Wed 24 Feb 2027, "
        "after the deadline"
    ) in out
