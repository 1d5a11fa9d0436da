"""Issue 10, safety: a professional's words never reach the family unless someone chose that, and
words that read like a disclosure are asked about (the chair told at once) instead of filed.

A school safeguarding lead, a police officer, a parent and the key worker who chairs, through
the local chat. Every message the parent can see is read as the parent would read it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.enums import ConcernState, ReminderStatus
from storage.models import ActionEvent, Concern, Reminder, UpdateAnswer
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_plan import button, section

REF = "CP-2026-0142"
SPACE = "#cg-cp-2026-0142"
DISCLOSURE = "Mia told her teacher this morning that dad is back living at the house"

# The key worker (Sam, chair), the parent (Jo), the school safeguarding lead (Priya) and the
# police (Dan). Action 1 is Priya's, action 2 Jo's, both shared with the family; the first
# meeting is on Wed 6 Jan 2027 and on Thu 31 Dec the chair asks for updates.
SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @priya school
/coregroup add @dan police
/coregroup outcome add "Mia is safe at home and at school"
/coregroup action @priya to check Mia's attendance every week by 15/1 outcome 1
/coregroup action @jo to take Mia to school on time by 15/1 outcome 1
/coregroup schedule 6/1 2pm at "Family Centre"
clock 2026-12-31 10:00
"""


@pytest.fixture
def group(chat: ChatDriver) -> ChatDriver:
    chat(SETUP)
    return chat


def seen_by(transcript: str, name: str) -> str:
    """Every message `name` could see: their DMs, private replies to them, and the group's
    space (they are in it); a message changed in place counts too, wherever it was."""
    shown, keep, actor = [], False, None
    private = f"[to {name.title()}, only you]"
    for line in transcript.splitlines():
        if line.startswith("> as "):
            actor = line[5:].strip()
        if line.startswith(("[", ">", "(", "*")) and not line.startswith("  "):
            keep = line in (f"[DM to {name}]", "[message updated]") or line.startswith("[#")
            keep = keep or (line == private and actor == name)
            if line.startswith("["):
                shown.append(line)
            continue
        if keep:
            shown.append(line)
    return "\n".join(shown)


def last(out: str, header: str) -> str:
    """The lines under the last `header` in a transcript."""
    return section(out[out.rindex(header) :], header)


def never_shows_the_disclosure(text: str) -> None:
    for words in ("back living", "told her teacher", DISCLOSURE):
        assert words not in text, f"{words!r} reached the family:\n{text}"


def concerns(engine: Engine) -> list[Concern]:
    with Session(engine) as s:
        return list(s.exec(select(Concern).order_by(Concern.id)).all())


def test_a_disclosure_in_the_school_leads_update_is_asked_about_told_to_the_chair_and_never_shown_to_the_parent(  # noqa: E501
    group: ChatDriver, engine: Engine
) -> None:
    group("/coregroup updates")

    # Her update opens with her action; she answers first with what worries her.
    out = group(f"as priya\n{DISCLOSURE}")
    mine = section(out, "[DM to priya]")
    assert "Is this a new concern the chair should know now?" in mine
    assert "Yes, tell the chair now" in mine and "No, it's not new" in mine
    assert "Reply yes or no" in mine  # what a reply does
    [concern] = concerns(engine)
    assert concern.text == DISCLOSURE and concern.state == ConcernState.ASKED

    # Yes: the chair is told at once, in a direct message; then her update carries on.
    out = group("yes")
    told = section(out, "[DM to sam]")
    assert "New concern · CP-2026-0142" in told and DISCLOSURE in told
    assert "Priya (school safeguarding lead) says this is a new concern" in told
    assert "I've told Sam now" in section(out, "[DM to priya]")
    assert "Is it done, in progress or stuck?" in out  # back to the question she was on
    group(
        """
        in progress
        Mia is settled in class
        skip
        No
        yes I'll be there
        """
    )
    # The parent answers in her own words.
    group(
        """
        as jo
        still doing it
        she's been on time every day
        Mia likes her new teacher
        money is tight
        Nothing new
        yes I'll be there
        """
    )

    # The parent's view of Priya's action shows nothing Priya wrote.
    parent = group("as jo\n/coregroup action 1\n/coregroup actions all\n/coregroup outcome 1")
    never_shows_the_disclosure(parent)
    assert "Check mia's attendance every week" in parent or "Check Mia's attendance" in parent

    # The chair's own brief has it under New concerns, and never "none raised".
    brief = group("as sam\n/coregroup brief")
    concerns_part = brief.split("== New concerns: what the group must know ==")[1]
    concerns_part = concerns_part.split("==")[0]
    assert DISCLOSURE in concerns_part and "confirmed as new" in concerns_part
    assert "None raised" not in concerns_part
    assert "Nothing new" not in concerns_part and ": No" not in concerns_part
    # Posted to the space the family can see, it leaves it out.
    posted = group("/coregroup brief post")
    never_shows_the_disclosure(section(posted, f"[{SPACE}]"))

    # After the meeting: the draft has it in section 9; the family's copy does not.
    draft = group(
        """
        clock 2027-01-06 15:30
        as sam
        /coregroup contingency "If dad comes back to the house, Mia stays with her nan"
        /coregroup held 1
        /coregroup draft
        """
    )
    professional = last(draft, "[DM to priya]")
    nine = professional.split("== 9. Contingency plan and new concerns ==")[1].split("==")[0]
    assert DISCLOSURE in nine and "If dad comes back to the house" in nine
    assert "Approve" in professional
    published = group(
        f"""
        as priya
        click {button(draft, "Approve", -1)}
        as sam
        /coregroup publish
        """
    )
    copy = last(published, "[DM to jo]")
    assert "This is your copy of the minutes" in copy
    assert "If dad comes back to the house, Mia stays with her nan" in copy  # the contingency
    assert "Mia likes her new teacher" in copy and "money is tight" in copy  # her own answers
    assert "Mia is settled in class" not in copy  # Priya's answer, not shared
    never_shows_the_disclosure(copy)

    # Every message the parent could see, read as she would: the disclosure is in none.
    everything = seen_by(group.out.getvalue(), "jo")
    assert "This is your copy of the minutes" in everything and "Hello Jo" in everything
    assert "[#cg-cp-2026-0142]" in everything and "[to Jo, only you]" in everything
    never_shows_the_disclosure(everything)


def test_an_unanswered_question_goes_to_the_chair_once_by_the_ledger_within_the_working_day(
    group: ChatDriver, engine: Engine
) -> None:
    # Priya updates her action from its card with a note that reads like a disclosure.
    out = group("as priya\n/coregroup action 1")
    out = group(f"click {button(out, 'In progress')}\nMia said dad hit her brother on Saturday")
    assert "Marked action 1 (CP-2026-0142) in progress" in out
    assert "Is this a new concern the chair should know now?" in section(out, "[DM to priya]")
    assert "If you haven't answered by Thu 31 Dec 2026, 11:00, I'll tell the chair" in out
    assert "Share with the family" not in out  # a possible concern is not offered for sharing

    # She doesn't answer. Nothing reaches the chair before the hour is up...
    assert "[DM to sam]" not in group("clock +30m")
    # ...then the chair hears, once.
    later = group("clock +31m")
    told = section(later, "[DM to sam]")
    assert "Possible new concern · CP-2026-0142" in told
    assert "hasn't said yet whether it is a new concern" in told
    assert "Mia said dad hit her brother on Saturday" in told
    assert "Possible new concern" not in group("clock +1d\nclock +1d")
    with Session(engine) as s:
        sent = s.exec(select(Reminder).where(Reminder.kind == "concern-unanswered")).all()
        assert [r.status for r in sent] == [ReminderStatus.SENT]

    # The brief lists it as not yet confirmed: never "none raised" while it is unanswered.
    brief = group("as sam\n/coregroup brief")
    listed = brief.split("== New concerns: what the group must know ==")[1].split("==")[0]
    assert "Mia said dad hit her brother" in listed and "not yet confirmed" in listed

    # Her late answer, to the question itself (`reply <n>`), still reaches the chair at once.
    number = re.findall(r"\(reply (\d+) <your words> answers this message\)", out)[-1]
    answered = group(f"as priya\nreply {number} yes")
    assert "New concern · CP-2026-0142" in section(answered, "[DM to sam]")
    assert [c.state for c in concerns(engine)] == [ConcernState.YES]

    # The note stays professionals-only: the parent's card never shows it.
    never_shows_the_disclosure(group("as jo\n/coregroup action 1"))
    assert "hit her brother" not in group("as jo\n/coregroup action 1")


def test_no_keeps_the_words_as_given_and_the_brief_still_shows_them(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("as priya\n/coregroup action 1")
    group(f"click {button(out, 'In progress')}\nDad shouted at the school gate")
    out = group("no")
    assert "kept as you gave it, for professionals only" in out
    assert "[DM to sam]" not in out
    assert [c.state for c in concerns(engine)] == [ConcernState.NO]
    brief = group("as sam\n/coregroup brief")
    listed = brief.split("== New concerns: what the group must know ==")[1].split("==")[0]
    assert "None raised" not in listed
    assert "its author says it is not a new concern" in listed
    assert "Dad shouted at the school gate" in listed
    # No chair message later either: the question was answered.
    assert "Possible new concern" not in group("clock +2h")


def test_professionals_notes_reach_the_family_only_when_their_author_or_the_chair_shares_them(
    group: ChatDriver, engine: Engine
) -> None:
    out = group("as priya\n/coregroup action 1")
    out = group(f"click {button(out, 'In progress')}\nReferral to the school nurse sent")
    assert "Your note is for professionals only unless you share it." in out
    share = button(out, "Share with the family")

    # The parent sees the action, not the note (card and history).
    parent = group("as jo\n/coregroup action 1")
    assert "Referral to the school nurse" not in parent
    assert "Latest note" not in parent
    # Her own note on her own action she does see.
    out = group("/coregroup action 2")
    out = group(f"click {button(out, 'In progress')}\nBought her an alarm clock")
    assert "Share with the family" not in out
    assert "Latest note from Jo" in group("/coregroup action 2")

    # Another professional may not share Priya's note; the parent may not share anything.
    refused = group("as dan\n/coregroup share action 1")
    assert (
        "Only Priya (who wrote it) or the chair can change who sees note 1 on action 1" in refused
    )
    refused = group("as jo\n/coregroup share action 1")
    assert "Referral" not in refused
    assert "Notes from professionals are shared by whoever wrote them, or the chair" in refused

    # Priya presses "Share with the family": now the parent sees it.
    shared = group(f"as priya\nclick {share}")
    assert "Shared note 1 on action 1 with the family" in shared
    assert "Latest note from Priya" in group("as jo\n/coregroup action 1")
    assert "Referral to the school nurse sent" in group("/coregroup action 1")

    # Unshared again (her Undo), and by words; the chair can share it too.
    undone = group(f"as priya\nclick {button(shared, 'Undo')}")
    assert "is for professionals only again" in undone
    assert "Referral" not in group("as jo\n/coregroup action 1")
    out = group("as sam\n/coregroup share action 1 note 1")
    assert "Shared note 1 on action 1 with the family" in out
    assert "Referral to the school nurse sent" in group("as jo\n/coregroup action 1")
    out = group("as priya\n/coregroup unshare action 1")
    assert "professionals only again" in out
    with Session(engine) as s:
        notes = s.exec(select(ActionEvent).where(ActionEvent.note.is_not(None))).all()  # type: ignore[union-attr]
        shared_now = {e.note: e.shared_with_family for e in notes}
    assert shared_now == {
        "Referral to the school nurse sent": False,
        "Bought her an alarm clock": True,
    }

    # Bad input says how to do it right, and echoes what was typed.
    out = group("/coregroup share action 1 note 7")
    assert "Action 1 has 1 note, so there's no note 7." in out
    assert "You typed: /coregroup share action 1 note 7" in out
    out = group("/coregroup share the lot")
    assert "/coregroup share action 2" in out and "You typed: /coregroup share the lot" in out


def test_a_shared_update_answer_is_in_the_familys_copy_of_the_minutes(
    group: ChatDriver, engine: Engine
) -> None:
    group("/coregroup updates")
    out = group(
        """
        as priya
        in progress
        attendance is up to 96%
        Mia reads with a buddy every morning
        """
    )
    assert "Share with the family" in out  # under her written answer
    out = group("/coregroup share update going-well")
    assert "Shared your answer to \u201cWorking well\u201d with the family" in out
    with Session(engine) as s:
        rows = {a.question: a for a in s.exec(select(UpdateAnswer)).all()}
    assert rows["going_well"].shared_with_family
    assert not rows[next(k for k in rows if k.endswith(":note"))].shared_with_family
    draft = group(
        """
        clock 2027-01-06 15:30
        as sam
        /coregroup held 1
        /coregroup draft
        """
    )
    published = group(
        f"""
        as priya
        click {button(draft, "Approve", -1)}
        as sam
        /coregroup publish
        """
    )
    copy = last(published, "[DM to jo]")
    assert "Mia reads with a buddy every morning" in copy
    assert "attendance is up to 96%" not in copy
