"""Issue 10, rules a chair relies on: the conference chair told of a disagreement may read the
group's status and minutes (read only, audited); a disagreement recorded before a team manager or
conference chair was known reaches them when they are added."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage.enums import AuditKind
from storage.models import AuditEntry, Disagreement
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_meetings import REF

SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @dan police
"""
DISAGREE = 'as dan\n/coregroup disagree "The police disagree with stepping down visits"\nas sam'


def dm(out: str, who: str) -> str:
    """Everything sent to `who` privately in this stretch of transcript."""
    parts = out.split(f"[DM to {who}]")[1:]
    return "\n".join(part.split("\n[")[0] for part in parts)


def test_a_disagreement_recorded_before_a_conference_chair_is_known_reaches_them(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    out = chat(DISAGREE)
    assert "No conference chair is recorded for this case, so none was told" in out
    out = chat("/coregroup conference-chair @pat")
    to_pat = dm(out, "pat")
    assert "Before you were named as the conference chair" in to_pat
    assert "Dan (police), Fri 18 Dec 2026: The police disagree with stepping down visits" in to_pat
    assert f"`/coregroup status {REF}`" in to_pat
    assert "I've sent Pat the disagreement recorded before they were known" in out
    with Session(engine) as s:
        row = s.exec(select(Disagreement)).one()
        assert row.chair_told_at is not None and row.manager_told_at is None
        assert row.escalated_to.startswith("Forwarded to the conference chair (Pat) on")
    # Sent once: naming another person and then Pat again sends nothing more to Pat.
    again = chat("/coregroup conference-chair @ian\n/coregroup conference-chair @pat")
    assert "Before you were named" not in dm(again, "pat")


def test_a_disagreement_recorded_before_a_team_manager_is_known_reaches_them(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    chat(DISAGREE)
    out = chat("/coregroup add @tina team manager")
    to_tina = dm(out, "tina")
    assert "Before you were named as the team manager" in to_tina
    assert "The police disagree with stepping down visits" in to_tina
    assert "(read only)" not in to_tina  # a member already: nothing special to say
    with Session(engine) as s:
        assert s.exec(select(Disagreement)).one().manager_told_at is not None
    # A disagreement told to a manager at the time is not forwarded to the next one.
    chat('as dan\n/coregroup disagree "We disagree about contact"\nas sam')
    assert "We disagree about contact" not in dm(chat("/coregroup add @tom team manager"), "tom")


def test_the_conference_chair_told_of_a_disagreement_reads_status_and_minutes_only(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP + "/coregroup conference-chair @pat\n/coregroup schedule 21/12 10am")
    chat("clock 2026-12-21 12:00\n/coregroup held 1\n/coregroup draft")
    # Not told of anything yet: the group doesn't exist as far as Pat can tell.
    before = chat(f"as pat\n/coregroup status {REF}")
    assert "I can't find a core group matching" in before
    out = chat(f"{DISAGREE}\nas pat")
    assert "you can now read the group's status and minutes (read only)" in dm(out, "pat")
    status = chat(f"/coregroup status {REF}")
    assert "I can't find" not in status and REF in status
    minutes = chat(f"/coregroup {REF} minutes")
    assert "== 10. Disagreements and how they were escalated ==" in minutes
    assert "Versions of the minutes" in chat(f"/coregroup {REF} minutes history")
    for typed in (
        f"/coregroup add {REF} @kim gp",
        f"/coregroup members {REF}",
        f'/coregroup disagree {REF} "I disagree"',
        f"/coregroup schedule {REF} 6/1 2pm",
        f"/coregroup actions {REF}",
        f"/coregroup {REF} approve",
        f'/coregroup {REF} amend 7 "Nothing"',
        f'/coregroup {REF} minutes sent @jo "by post"',
    ):
        refused = chat(typed)
        assert "As the conference chair you can read the status and minutes" in refused, typed
    with Session(engine) as s:
        reads = s.exec(
            select(AuditEntry).where(
                AuditEntry.kind == AuditKind.READ, col(AuditEntry.detail) == "as conference chair"
            )
        ).all()
        assert {r.what for r in reads} == {"command:status", "command:minutes"}
        assert s.exec(select(Disagreement)).all()[-1].detail != "I disagree"
    # Once someone else is the conference chair, Pat sees nothing.
    chat("as sam\n/coregroup conference-chair @ian\nas pat")
    assert "I can't find a core group matching" in chat(f"/coregroup status {REF}")
