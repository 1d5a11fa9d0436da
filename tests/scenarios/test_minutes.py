"""Journey 4 (after the meeting) through the local chat: draft, check, amend, approve, publish,
record, and a disagreement escalated — plus bad input and authorisation for every command/button.

The group, its plan and the meeting's attendance and updates are built straight in the database
(the other journeys test how they get there); everything about the minutes goes through the chat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.minutes import PROFESSIONALS_ONLY, MinutesBody
from storage.enums import (
    ActionStatus,
    AttendanceStatus,
    MeetingKind,
    MeetingStatus,
    MinutesStatus,
    Role,
    UpdateState,
    Verdict,
)
from storage.models import (
    Attendance,
    AuditEntry,
    Disagreement,
    Distribution,
    Meeting,
    MemberUpdate,
    Minutes,
    MinutesReview,
    MinutesVersion,
    Person,
    UpdateAnswer,
)
from tests.factories import (
    make_action,
    make_attendance,
    make_case,
    make_group,
    make_meeting,
    make_membership,
    make_outcome,
    make_person,
    make_team,
    named,
)
from tests.scenarios.conftest import ChatDriver

LONDON = ZoneInfo("Europe/London")
REF = "CP-2026-0142"
SPACE = "#cg-cp-2026-0142"
# The meeting: Wed 6 Jan 2027 10:00. Record by Fri 8 Jan (2 working days), copies by Wed 13 Jan.
MEETING_AT = datetime(2027, 1, 6, 10, 0, tzinfo=LONDON)
DEADLINES = (
    "Record on the case system by Fri 8 Jan 2027 (2 working days); "
    "copies to all members by Wed 13 Jan 2027 (5 working days)"
)

# Person key → (display name, role, agency).
MEMBERS = {
    "sam": ("Sam Okafor", Role.KEY_WORKER, "Children's Services"),
    "jo": ("Jo Reed", Role.PARENT_CARER, ""),
    "priya": ("Priya Shah", Role.SCHOOL, "Oakfield Primary"),
    "alex": ("Alex Kerr", Role.HEALTH_VISITOR, "Community Health"),
    "ruth": ("Ruth Mills", Role.GP, "Riverside Surgery"),
    "dan": ("Dan Hughes", Role.POLICE, "Police"),
}
PROFESSIONALS = ("sam", "priya", "alex", "ruth", "dan")


@dataclass
class Built:
    """Ids of what the setup made."""

    group_id: int
    meeting_id: int
    people: dict[str, int]


def _person(session: Session, clock: FakeClock, key: str, name: str, **fields: object) -> Person:
    return make_person(session=session, clock=clock, display_name=name, user_id=key, **fields)


def build_group(
    engine: Engine,
    clock: FakeClock,
    *,
    family: bool = True,
    held: bool = True,
    oversight: bool = True,
) -> Built:
    """A core group whose meeting on Wed 6 Jan 2027 has been held, with updates and a plan.

    The clock is left at 11:30 that day, after the meeting.
    """
    clock.set(datetime(2026, 12, 21, 9, 0, tzinfo=LONDON))
    with Session(engine, expire_on_commit=False) as s:
        team = make_team(session=s)
        tina = pat = None
        if oversight:
            tina = _person(s, clock, "tina", "Tina Lee", team_id=team.id, is_team_manager=True)
            pat = _person(s, clock, "pat", "Pat Moss", agency="Safeguarding Unit")
        case = make_case(
            session=s,
            clock=clock,
            reference=REF,
            icpc_date=datetime(2026, 12, 18).date(),
            category="Neglect",
            concerns="Home conditions; missed health appointments",
            conference_chair_id=pat.id if pat else None,
        )
        group = make_group(
            session=s,
            clock=clock,
            case=case,
            team_id=team.id,
            channel_id=SPACE[1:],
            channel_name=SPACE[1:],
        )
        people: dict[str, Person] = {}
        for key, (name, role, agency) in MEMBERS.items():
            if role is Role.PARENT_CARER and not family:
                continue
            people[key] = _person(s, clock, key, name, agency=agency, is_family=role.is_family)
            make_membership(
                session=s,
                clock=clock,
                group=group,
                person=people[key],
                role=role,
                is_chair=key == "sam",
                is_minute_taker=key == "alex",
            )
        home = make_outcome(
            session=s, clock=clock, group=group, title="Mia lives in a home that is clean and warm"
        )
        school = make_outcome(
            session=s, clock=clock, group=group, title="Mia goes to school every day, on time"
        )
        private = make_outcome(
            session=s,
            clock=clock,
            group=group,
            title="Jo's partner completes the domestic abuse programme",
            shared_with_family=False,
        )
        owner = people["sam"]
        make_action(
            session=s,
            clock=clock,
            group=group,
            owner=owner,
            outcome=home,
            description="Visit at home and see Mia's bedroom",
            status=ActionStatus.DONE,
        )
        make_action(
            session=s,
            clock=clock,
            group=group,
            owner=people["priya"],
            outcome=school,
            description="Check attendance every week",
            status=ActionStatus.IN_PROGRESS,
            due_on=datetime(2027, 1, 4).date(),
        )
        make_action(
            session=s,
            clock=clock,
            group=group,
            owner=owner,
            outcome=private,
            description="Confirm the programme start date with probation",
            shared_with_family=False,
        )
        meeting = make_meeting(
            session=s,
            clock=clock,
            group=group,
            created_by=owner,
            kind=MeetingKind.FIRST,
            starts_at=MEETING_AT,
            contingency="If the home is unsafe again, Mia stays with her nan",
            decisions="Health visits go up to weekly",
        )
        attendance = {
            "ruth": (AttendanceStatus.APOLOGIES, "Surgery; written update sent"),
            "dan": (AttendanceStatus.ABSENT, ""),
        }
        for key, person in people.items():
            status, note = attendance.get(key, (AttendanceStatus.ATTENDED, ""))
            make_attendance(
                session=s, clock=clock, meeting=meeting, person=person, status=status, note=note
            )
        answers = {
            "sam": {
                "child_seen": "yes — at home on 4 Jan",
                "child_seen_alone": "yes",
                "child_says": "Mia says she likes her new bedroom and wants to see her nan more",
                "going_well": "The home is much cleaner",
            },
            "priya": {"going_well": "Mia has been in school every day since 14 Dec"},
            "alex": {
                "worries": "Jo missed the 2 Jan health appointment",
                "must_know": "Jo's partner has moved back in",
            },
            "ruth": {"written_update": "Mia's asthma review is booked for 20 Jan"},
            "jo": {"going_well": "Mia is sleeping better"},
        }
        for key, said in answers.items():
            if key not in people:
                continue
            update = MemberUpdate(
                meeting_id=meeting.id,
                person_id=people[key].id,
                state=UpdateState.COMPLETE,
                updated_at=clock.now(),
            )
            s.add(update)
            s.flush()
            for question, answer in said.items():
                s.add(
                    UpdateAnswer(
                        update_id=update.id,
                        question=question,
                        answer=answer,
                        answered_at=clock.now(),
                    )
                )
        make_meeting(
            session=s,
            clock=clock,
            group=group,
            created_by=owner,
            starts_at=datetime(2027, 2, 10, 10, 0, tzinfo=LONDON),
            venue="Family Centre, Room 2",
        )
        if held:
            meeting.status = MeetingStatus.HELD
        s.add(meeting)
        # An action agreed at the meeting.
        clock.set(datetime(2027, 1, 6, 10, 50, tzinfo=LONDON))
        make_action(
            session=s,
            clock=clock,
            group=group,
            owner=people["alex"],
            outcome=home,
            description="Weekly health visits",
            due_on=datetime(2027, 2, 3).date(),
        )
        ids = {k: p.id for k, p in people.items()}
        if tina and pat:
            ids |= {"tina": tina.id, "pat": pat.id}
        s.commit()
        clock.set(datetime(2027, 1, 6, 11, 30, tzinfo=LONDON))
        assert group.id is not None and meeting.id is not None
        return Built(group_id=group.id, meeting_id=meeting.id, people=ids)


# --- reading the transcript ---------------------------------------------------------------------


def messages(out: str) -> list[tuple[str, str]]:
    """The transcript as (header, body) pairs: "[DM to priya]", "[#cg-…]", "[to Sam, only you]"."""
    found: list[tuple[str, list[str]]] = []
    for line in out.splitlines():
        if re.match(r"^\[(DM to |#|to |message updated)", line):
            found.append((line, []))
        elif found and line.startswith("  "):
            found[-1][1].append(line)
    return [(header, "\n".join(body)) for header, body in found]


def to(out: str, header: str) -> str:
    """Everything shown under headers starting with `header`, joined."""
    return "\n".join(body for h, body in messages(out) if h.startswith(header))


def button(out: str, label: str, header: str | None = None) -> int:
    """The number of the last button called `label` (in messages under `header`)."""
    text = out if header is None else to(out, header)
    numbers = re.findall(r"\[(\d+)\] " + re.escape(label), text)
    assert numbers, f"no {label!r} button in:\n{text}"
    return int(numbers[-1])


def db(engine: Engine) -> Session:
    """A fresh session for checking what the chat stored."""
    return Session(engine, expire_on_commit=False)


@pytest.fixture
def built(engine: Engine, clock: FakeClock) -> Built:
    """The standard group, after its meeting."""
    return build_group(engine, clock)


def build_other_group(engine: Engine, clock: FakeClock) -> None:
    """A second group (CP-2026-0999: zed chairs, yan is a member) whose meeting was yesterday."""
    now = clock.now()
    with Session(engine, expire_on_commit=False) as s:
        case = make_case(session=s, clock=clock, reference="CP-2026-0999")
        group = make_group(
            session=s, clock=clock, case=case, channel_id="cg-cp-2026-0999", channel_name="x"
        )
        zed = _person(s, clock, "zed", "Zed Ward")
        yan = _person(s, clock, "yan", "Yan Li")
        make_membership(
            session=s, clock=clock, group=group, person=zed, role=Role.KEY_WORKER, is_chair=True
        )
        make_membership(session=s, clock=clock, group=group, person=yan, role=Role.SCHOOL)
        make_meeting(
            session=s,
            clock=clock,
            group=group,
            created_by=zed,
            starts_at=now - timedelta(days=1),
            status=MeetingStatus.HELD,
        )
        s.commit()


def draft_v1(chat: ChatDriver) -> str:
    """Alex (the minute-taker) drafts the minutes; returns the transcript."""
    return chat(
        """
        as alex
        /coregroup draft
        """
    )


def minutes_row(engine: Engine) -> Minutes:
    with db(engine) as s:
        row = s.exec(select(Minutes)).one()
        return row


def versions(engine: Engine) -> list[MinutesVersion]:
    with db(engine) as s:
        return list(s.exec(select(MinutesVersion).order_by(col(MinutesVersion.number))).all())


# --- journey 4, end to end ----------------------------------------------------------------------


def test_journey_4_minutes_drafted_checked_amended_approved_published_and_recorded(
    chat: ChatDriver, engine: Engine, clock: FakeClock, built: Built
) -> None:
    out = draft_v1(chat)
    # The family can see the group's space: it hears only that a draft is out for checking.
    space = to(out, f"[{SPACE}]")
    assert "has gone to the professionals in the group to check" in space
    assert "Neglect" not in space and "Mia" not in space
    assert DEADLINES in space
    # Every professional gets the full draft with the buttons; the parent gets nothing yet.
    for key in PROFESSIONALS:
        assert "Approve" in to(out, f"[DM to {key}]"), key
    assert to(out, "[DM to jo]") == ""
    draft = to(out, "[DM to priya]")
    assert (
        "Attended: Sam Okafor — key worker (social worker), Children's Services; Jo Reed" in draft
    )
    assert "Apologies: Ruth Mills — GP, Riverside Surgery (Surgery; written update sent)" in draft
    assert "Invited but did not come: Dan Hughes — police" in draft
    assert "What the child says: Mia says she likes her new bedroom" in draft
    assert "Seen on their own: yes" in draft
    assert "Outcome 1: Mia lives in a home that is clean and warm" in draft
    assert "Progress: 1 of 2 actions done" in draft
    assert "Previous actions and their result:\n  - Action 1 (outcome 1)" in draft
    assert "Still to do:\n  - Action 2 (outcome 2): Priya Shah" in draft
    assert (
        "New actions agreed:\n  - Action 4 (outcome 1): Alex Kerr — Weekly health visits" in draft
    )
    assert "Contingency plan: If the home is unsafe again" in draft
    assert "- Jo's partner has moved back in (Alex Kerr)" in draft
    assert (
        "Next meeting: Wed 10 Feb 2027, 10:00 at Family Centre, Room 2 — in time for the "
        "deadline of Wed 17 Feb 2027" in draft
    )
    assert DEADLINES in draft
    assert "Plain English check: no jargon" in draft
    assert "Version 1 of the minutes of meeting 1 is drafted" in to(out, "[to Alex")

    row = minutes_row(engine)
    assert (row.record_due.isoformat(), row.circulate_due.isoformat()) == (
        "2027-01-08",
        "2027-01-13",
    )
    assert row.status == MinutesStatus.DRAFT

    # Priya approves with one click; Dan asks for a change; the chair is told by DM.
    approve = button(out, "Approve", "[DM to priya]")
    change = button(out, "Request a change", "[DM to dan]")
    out = chat(
        f"""
        as priya
        click {approve}
        as dan
        click {change}
        Section 5: my update was emailed to Sam on 5 Jan
        """
    )
    assert "You approved version 1 of the minutes of meeting 1" in to(out, "[to Priya")
    assert "What should change? The chair will see your comment." in out
    chair_dm = to(out, "[DM to sam]")
    assert "Dan Hughes asked for a change to version 1" in chair_dm
    assert "Section 5: my update was emailed to Sam on 5 Jan" in chair_dm
    assert "gone to the chair (Sam Okafor)" in to(out, "[to Dan")

    # Publishing now is refused: the change request is open.
    out = chat("as sam\n/coregroup publish")
    assert "Dan Hughes asked for a change to version 1" in out
    assert "publish override" in out

    # The chair amends section 5: version 2 goes out with fresh buttons; version 1 is kept.
    out = chat(
        """
        /coregroup amend 5 "Dan Hughes (police): no new incidents; update emailed on 5 Jan"
        """
    )
    v2 = to(out, "[DM to priya]")
    assert "Minutes amended — CP-2026-0142, meeting 1 (version 2)" in v2
    assert "no new incidents; update emailed on 5 Jan" in v2
    assert "answers the change asked for by Dan Hughes" in v2
    assert [v.number for v in versions(engine)] == [1, 2]
    assert "Mia has been in school" in versions(engine)[0].body

    # The old approval does not carry over; a click on version 1's button is refused.
    out = chat(f"as priya\nclick {approve}")
    assert "Version 1 of these minutes has been replaced by version 2" in out
    approve_v2 = button(chat.out.getvalue(), "Approve", "[DM to priya]")
    out = chat(f"click {approve_v2}")
    assert "They can now be published" in to(out, "[to Priya")
    assert "ready to publish" in to(out, "[DM to sam]")

    # Published: a copy to every member, the family's without what is for professionals only.
    out = chat("as sam\n/coregroup publish")
    for key in MEMBERS:
        heading = (
            "What was agreed at your family's meeting on Wed 6 Jan 2027, 10:00"
            if key == "jo"
            else "Minutes — CP-2026-0142, core group on Wed 6 Jan 2027, 10:00"
        )
        assert heading in to(out, f"[DM to {key}]"), key
    family = to(out, "[DM to jo]")
    professional = to(out, "[DM to dan]")
    assert "Neglect" in professional and "Neglect" not in family
    assert "Main worries" not in family and "What this meeting was for" in family
    assert "domestic abuse programme" in professional
    assert "domestic abuse programme" not in family and "probation" not in family
    assert "Some information for the professionals only is left out" in family
    assert "Approved by Priya Shah" in professional
    assert "are published. Each member is being sent their own copy" in to(out, f"[{SPACE}]")
    report = to(out, "[DM to sam]")
    assert "Every member has their copy (6 of 6): the circulation deadline of Wed 13 Jan" in report

    with db(engine) as s:
        row = s.exec(select(Minutes)).one()
        assert row.status == MinutesStatus.PUBLISHED
        assert row.circulated_at is not None and row.published_by == built.people["sam"]
        sent = s.exec(select(Distribution)).all()
        assert {d.person_id for d in sent} == {built.people[k] for k in MEMBERS}

    # Recorded on the case system two days later: on time; `minutes` shows both deadlines met.
    clock.advance(timedelta(days=2))
    out = chat("/coregroup recorded\n/coregroup minutes")
    assert "Recorded on the case system: done Fri 8 Jan 2027 — on time" in out
    assert "Copies sent to all members: done Wed 6 Jan 2027 — on time" in out
    assert (
        "Sam Okafor — full minutes, by direct message in chat: delivered Wed 6 Jan 2027, 11:30"
        in out
    )
    assert minutes_row(engine).recorded_at is not None
    history = chat("/coregroup minutes history")
    assert "Version 1 — Alex Kerr, Wed 6 Jan 2027, 11:30: First draft" in history
    assert "Version 2 — Sam Okafor" in history and "Change asked by Dan Hughes" in history


def test_police_disagreement_is_escalated_and_recorded_in_the_minutes(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    draft_v1(chat)
    out = chat(
        """
        as dan
        /coregroup disagree "The police disagree with stepping down visits"
        """
    )
    # The team manager and the conference chair are told; the preview names only the case.
    for key in ("tina", "pat"):
        dm = [body for h, body in messages(out) if h == f"[DM to {key}]"]
        assert dm and "The police disagree with stepping down visits" in dm[0], key
    mine = to(out, "[to Dan")
    assert "Your disagreement is recorded" in mine
    assert "team manager (Tina Lee) and the conference chair (Pat Moss)" in mine
    assert "section 10 of the minutes of meeting 1 (version 2" in mine
    assert "Dan Hughes recorded a disagreement" in to(out, "[DM to sam]")
    # Version 2 carries it in section 10, and goes out for approval again.
    v2 = to(out, "[DM to priya]")
    assert "10. Disagreements and how they were escalated ==\n  - Dan Hughes (police)" in v2
    assert "Shared with the team manager (Tina Lee) and the conference chair (Pat Moss)" in v2
    with db(engine) as s:
        row = s.exec(select(Disagreement)).one()
        assert row.meeting_id == built.meeting_id and row.raised_by == built.people["dan"]
        assert "Tina Lee" in row.escalated_to and "Pat Moss" in row.escalated_to


def test_notification_text_of_an_escalation_names_only_the_case(
    chat: ChatDriver, built: Built
) -> None:
    out = chat.dispatcher.command(
        _who("dan"), f'{REF} disagree "Mia should not go home yet"', channel_id=None
    )
    previews = [o.message.text for o in out.outbound]
    assert previews and all("Mia" not in text and "Dan" not in text for text in previews)


def _who(key: str):  # noqa: ANN202 - a local chat identity
    from bot.adapters.local import LocalDirectory

    who = LocalDirectory().describe(key)
    assert who is not None
    return who


# --- draft --------------------------------------------------------------------------------------


def test_only_the_chair_or_minute_taker_can_draft(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    out = chat("as priya\n/coregroup draft")
    assert "Only the chair or the minute-taker can draft the minutes for CP-2026-0142" in out
    assert "/coregroup minute-taker @you" in out
    with db(engine) as s:
        assert s.exec(select(Minutes)).first() is None


def test_the_chair_can_draft_too(chat: ChatDriver, built: Built) -> None:
    out = chat("as sam\n/coregroup draft 1")
    assert "Version 1 of the minutes of meeting 1 is drafted" in out


def test_draft_waits_until_the_meeting_has_started(
    chat: ChatDriver, clock: FakeClock, engine: Engine
) -> None:
    build_group(engine, clock, held=False)
    clock.set(datetime(2027, 1, 6, 9, 30, tzinfo=LONDON))
    out = chat("as alex\n/coregroup draft")
    assert "No meeting of CP-2026-0142 has started yet, so there's nothing to minute." in out
    out = chat("/coregroup draft 2")
    assert "Meeting 2 is on Wed 10 Feb 2027, 10:00, so it can't be minuted yet." in out
    # Once it has started (not yet marked as held) the minutes can be drafted.
    clock.set(datetime(2027, 1, 6, 10, 5, tzinfo=LONDON))
    with db(engine) as s:
        dan = s.exec(select(Person).where(named(s, "Dan Hughes"))).one()
        row = s.exec(select(Attendance).where(Attendance.person_id == dan.id)).one()
        row.status = AttendanceStatus.INVITED
        s.add(row)
        s.commit()
    out = chat("/coregroup draft")
    assert "Version 1 of the minutes of meeting 1 is drafted" in out
    assert "Meeting 1 isn't marked as held yet. `/coregroup held 1` records it" in out
    assert "Not recorded whether they came: Dan Hughes — police" in to(out, "[DM to sam]")


def test_draft_explains_bad_meeting_numbers_and_cancelled_meetings(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    out = chat("as alex\n/coregroup draft 9")
    assert "There's no meeting 9 for CP-2026-0142. Meetings are numbered 1 to 2." in out
    out = chat("/coregroup draft soon")
    assert "I didn't understand 'soon' here." in out and "/coregroup draft 2" in out
    assert "You typed: /coregroup draft soon" in out
    with db(engine) as s:
        meeting = s.get(Meeting, built.meeting_id)
        assert meeting is not None
        meeting.status = MeetingStatus.CANCELLED
        s.add(meeting)
        s.commit()
    assert "Meeting 1 was cancelled, so it has no minutes." in chat("/coregroup draft 1")


def test_drafting_twice_points_to_the_minutes_and_amend(chat: ChatDriver, built: Built) -> None:
    draft_v1(chat)
    out = chat("/coregroup draft")
    assert "The minutes of meeting 1 are already drafted (version 1)." in out
    assert "/coregroup minutes 1" in out and "/coregroup amend 4" in out


def test_without_family_in_the_group_the_draft_is_posted_in_the_space(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    build_group(engine, clock, family=False)
    out = draft_v1(chat)
    space = to(out, f"[{SPACE}]")
    assert "Draft minutes — CP-2026-0142, meeting 1 (version 1)" in space
    assert "[" in space and "Approve" in space and "Request a change" in space
    assert "Category of the plan: Neglect" in space
    assert to(out, "[DM to priya]") == ""


def test_the_draft_flags_jargon_under_it(chat: ChatDriver, engine: Engine, built: Built) -> None:
    with db(engine) as s:
        meeting = s.get(Meeting, built.meeting_id)
        assert meeting is not None
        meeting.decisions = "HV to visit weekly; refer to CAMHS"
        s.add(meeting)
        s.commit()
    draft = to(draft_v1(chat), "[DM to sam]")
    assert 'Plain English check, so the family can follow: "HV" — say "health visitor"' in draft
    assert '"CAMHS" — say "children\'s mental health service"' in draft


# --- who learns what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "draft",
        "minutes",
        "minutes history",
        'amend 4 "text"',
        "approve",
        "publish",
        'publish override "reason"',
        "recorded",
        'disagree "I disagree"',
    ],
)
def test_a_non_member_naming_the_case_learns_nothing(
    chat: ChatDriver, engine: Engine, clock: FakeClock, built: Built, command: str
) -> None:
    draft_v1(chat)
    build_other_group(engine, clock)
    chat("as zed")
    real = chat(f"/coregroup {REF} {command}")
    made_up = chat(f"/coregroup CP-2026-7777 {command}")
    assert "I can't find a core group matching CP-2026-0142 that you belong to." in real
    assert real.replace(REF, "CP-2026-7777") == made_up
    with db(engine) as s:
        assert len(s.exec(select(MinutesVersion)).all()) == 1
        assert s.exec(select(Disagreement)).first() is None


@pytest.mark.parametrize("label", ["Approve", "Request a change"])
def test_a_non_member_clicking_another_groups_buttons_learns_nothing(
    chat: ChatDriver, engine: Engine, clock: FakeClock, built: Built, label: str
) -> None:
    out = draft_v1(chat)
    build_other_group(engine, clock)
    number = button(out, label, "[DM to priya]")
    real = chat(f"as zed\nclick {number}\nThis is wrong")
    version_id = versions(engine)[0].id
    action = "minutes.approve" if label == "Approve" else "minutes.change"
    for forged in ("99999", "abc", str(version_id)):
        reply = chat.dispatcher.click(_who("zed"), action, forged, text="x")
        assert reply.to_actor_text() == "I can't find a core group that you belong to."
    assert "I can't find a core group that you belong to." in real
    assert "CP-2026-0142" not in real.split("> click")[1]
    with db(engine) as s:
        assert s.exec(select(MinutesReview)).first() is None
        denied = s.exec(select(AuditEntry).where(AuditEntry.kind == "denied")).all()
        assert denied


# --- approving ----------------------------------------------------------------------------------


def test_a_member_approves_by_typing_and_only_once(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    draft_v1(chat)
    out = chat("as priya\n/coregroup approve")
    assert "You approved version 1 of the minutes of meeting 1 for CP-2026-0142." in out
    assert "ready to publish" in to(out, "[DM to sam]")
    assert "You've already approved version 1" in chat("/coregroup approve 1")
    assert minutes_row(engine).status == MinutesStatus.APPROVED
    with db(engine) as s:
        assert len(s.exec(select(MinutesReview)).all()) == 1


def test_the_author_cannot_approve_their_own_version(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    out = draft_v1(chat)
    out = chat(f"click {button(out, 'Approve', '[DM to alex]')}")
    assert "You wrote version 1, so another member needs to approve it." in out
    assert "publish override" in out
    with db(engine) as s:
        assert s.exec(select(MinutesReview)).first() is None


def test_family_members_and_managers_outside_the_group_cannot_approve(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    out = draft_v1(chat)
    approve = button(out, "Approve", "[DM to priya]")
    out = chat(f"as jo\n/coregroup approve\nclick {approve}")
    assert (
        out.count("The professionals in the group check the minutes before they're published") == 2
    )
    # Tina manages the team: she can read the minutes but is not a member, so does not approve.
    out = chat("as tina\n/coregroup CP-2026-0142 approve")
    assert "Only members of the core group for CP-2026-0142 can approve minutes." in out
    assert "Draft minutes" not in out
    assert "Status: draft — waiting for approval" in chat("/coregroup CP-2026-0142 minutes")
    with db(engine) as s:
        assert s.exec(select(MinutesReview)).first() is None


def test_a_change_request_needs_a_comment(chat: ChatDriver, engine: Engine, built: Built) -> None:
    draft_v1(chat)
    version_id = str(versions(engine)[0].id)
    reply = chat.dispatcher.click(_who("priya"), "minutes.change", version_id, text="   ")
    assert "Please say what should change" in reply.to_actor_text()
    with db(engine) as s:
        assert s.exec(select(MinutesReview)).first() is None


def test_a_change_request_then_an_approval_by_the_same_member_resolves_it(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    out = draft_v1(chat)
    chat(f"as dan\nclick {button(out, 'Request a change', '[DM to dan]')}\nAdd the police view")
    out = chat("as priya\n/coregroup approve")
    assert "A change asked for by Dan Hughes is still open on this version." in out
    assert minutes_row(engine).status == MinutesStatus.DRAFT
    out = chat("as dan\n/coregroup approve")
    assert "They can now be published" in out
    with db(engine) as s:
        verdicts = {r.person_id: r.verdict for r in s.exec(select(MinutesReview)).all()}
        assert verdicts[built.people["dan"]] == Verdict.APPROVE


# --- amending -----------------------------------------------------------------------------------


def test_a_member_cannot_amend(chat: ChatDriver, engine: Engine, built: Built) -> None:
    draft_v1(chat)
    out = chat('as priya\n/coregroup amend 4 "Mia was seen alone"')
    assert "Only the chair or the minute-taker can amend the minutes for CP-2026-0142." in out
    assert "Request a change button" in out
    assert len(versions(engine)) == 1


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ('amend 12 "text"', "The minutes have sections 1 to 11, not 12."),
        ('amend four "text"', "'four' isn't a number for the section number (1 to 11)."),
        ("amend", "Please give the section number (1 to 11)."),
        ("amend 4", "Please give the new text for section 4, in quotes."),
        ('amend 4 "x" 2', "Meeting 2 of CP-2026-0142 has no minutes yet."),
        ('amend 4 "x" 7', "There's no meeting 7 for CP-2026-0142."),
    ],
)
def test_amend_explains_bad_input(
    chat: ChatDriver, engine: Engine, built: Built, typed: str, said: str
) -> None:
    draft_v1(chat)
    out = chat(f"/coregroup {typed}")
    assert said in out
    assert f"You typed: /coregroup {typed}" in out
    assert len(versions(engine)) == 1


def test_amending_with_the_same_text_changes_nothing(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    draft_v1(chat)
    chat('/coregroup amend 4 "Mia was seen alone at school"')
    out = chat('/coregroup amend 4 "Mia was seen alone at school" 1')
    assert "Section 4 already says exactly that, so nothing changed." in out
    assert len(versions(engine)) == 2


def test_amend_unquoted_text_is_taken_whole(chat: ChatDriver, engine: Engine, built: Built) -> None:
    draft_v1(chat)
    chat("/coregroup amend 11 Next meeting on 10 Feb at 10")
    assert "Next meeting on 10 Feb at 10" in versions(engine)[-1].body
    chat("/coregroup amend 5 family support worker visited twice")
    body = MinutesBody.loads(versions(engine)[-1].body)
    assert body.text(5) == "family support worker visited twice"
    assert body.text(5, family=True) == PROFESSIONALS_ONLY  # professionals-only unless marked


def test_the_familys_copy_of_a_section_is_amended_separately(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    draft_v1(chat)
    out = chat('as sam\n/coregroup amend 6 "Outcome 1: the home is clean; outcome 3: started"')
    assert "The family's copy of section 6 is worded separately" in out
    assert '/coregroup amend 6 family "…"' in out
    chat('/coregroup amend 6 family "The home is clean and warm now."')
    assert versions(engine)[-1].change_note.startswith("Sam Okafor changed the family's copy")
    chat("as priya\n/coregroup approve\nas sam\n/coregroup publish")
    out = chat("as jo\n/coregroup minutes")
    assert "The home is clean and warm now." in out and "outcome 3" not in out
    out = chat("as priya\n/coregroup minutes")
    assert "outcome 3: started" in out


def test_published_minutes_cannot_be_amended_or_reviewed(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    out = draft_v1(chat)
    change = button(out, "Request a change", "[DM to dan]")
    chat("as priya\n/coregroup approve\nas sam\n/coregroup publish")
    out = chat('/coregroup amend 4 "late addition"')
    assert "were published on Wed 6 Jan 2027, 11:30, so they can't be changed" in out
    assert "Record any correction in the minutes of the next meeting." in out
    out = chat(f"as dan\nclick {change}\nToo late?")
    assert "were published on Wed 6 Jan 2027, 11:30" in out
    out = chat("as dan\n/coregroup approve")
    assert "were published on" in out
    assert len(versions(engine)) == 1


# --- publishing ---------------------------------------------------------------------------------


def test_publish_without_approval_explains_both_ways_to_go_on(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    draft_v1(chat)
    out = chat("as sam\n/coregroup publish")
    assert (
        "Version 1 of the minutes of meeting 1 hasn't been approved yet: a member other than "
        "Alex Kerr needs to approve it." in out
    )
    assert "ask a member to approve it (the Approve button, or `/coregroup approve`)" in out
    assert 'publish override "Everyone agreed the minutes at the meeting"' in out
    assert minutes_row(engine).status == MinutesStatus.DRAFT
    with db(engine) as s:
        assert s.exec(select(Distribution)).first() is None


def test_only_a_chair_publishes_without_approval_and_must_say_why(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    draft_v1(chat)
    out = chat('/coregroup publish override "no time"')
    assert "Only the chair or key worker can publish minutes without approval" in out
    out = chat("as sam\n/coregroup publish override")
    assert "Please give the reason for publishing without approval" in out
    out = chat("as priya\n/coregroup publish")
    assert "Only the chair or the minute-taker can publish the minutes" in out
    assert minutes_row(engine).status == MinutesStatus.DRAFT


def test_a_chair_publishes_without_approval_and_the_reason_is_kept(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    draft_v1(chat)
    out = chat('as sam\n/coregroup publish override "Everyone agreed them at the meeting"')
    assert "Published without approval: Everyone agreed them at the meeting" in to(
        out, "[DM to priya]"
    )
    # The family's copy says when it went out, not the professionals' reasons.
    assert "Everyone agreed them" not in to(out, "[DM to jo]")
    assert minutes_row(engine).override_reason == "Everyone agreed them at the meeting"
    out = chat("/coregroup minutes")
    assert "Published without approval: Everyone agreed them at the meeting (Sam Okafor)" in out
    out = chat("/coregroup publish")
    assert "were published on Wed 6 Jan 2027, 11:30" in out
    with db(engine) as s:
        assert len(s.exec(select(Distribution)).all()) == len(MEMBERS)


# --- recording and deadlines --------------------------------------------------------------------


def test_recorded_marks_the_case_system_deadline(
    chat: ChatDriver, engine: Engine, clock: FakeClock, built: Built
) -> None:
    draft_v1(chat)
    assert "Only the chair or the minute-taker can mark the minutes as recorded" in chat(
        "as priya\n/coregroup recorded"
    )
    clock.set(datetime(2027, 1, 11, 9, 0, tzinfo=LONDON))
    out = chat("as alex\n/coregroup recorded")
    assert "Recorded on the case system: done Mon 11 Jan 2027 — LATE (due by Fri 8 Jan 2027)" in out
    assert "They haven't been sent to the members yet" in out
    assert "were already marked as recorded on Mon 11 Jan 2027, 09:00" in chat(
        "/coregroup recorded"
    )
    out = chat("/coregroup minutes")
    assert "Copies sent to all members: not done yet — due by Wed 13 Jan 2027" in out
    clock.set(datetime(2027, 1, 14, 9, 0, tzinfo=LONDON))
    out = chat("/coregroup minutes")
    assert "Copies sent to all members: not done yet — OVERDUE (due by Wed 13 Jan 2027)" in out


# --- reading ------------------------------------------------------------------------------------


def test_minutes_before_any_draft_says_how_they_are_made(chat: ChatDriver, built: Built) -> None:
    out = chat("as priya\n/coregroup minutes")
    assert "No minutes have been drafted for CP-2026-0142 yet." in out
    assert "/coregroup draft" in out
    out = chat("/coregroup minutes history later")
    assert "I didn't understand 'later' here." in out


def test_the_family_reads_only_their_published_copy(
    chat: ChatDriver, engine: Engine, built: Built
) -> None:
    draft_v1(chat)
    out = chat("as jo\n/coregroup minutes")
    assert "still being checked. You'll get your copy by direct message" in out
    assert "Neglect" not in out
    out = chat("/coregroup minutes history")
    assert "The drafts of the minutes are for the professionals." in out
    chat("as priya\n/coregroup approve\nas sam\n/coregroup publish")
    out = chat("as jo\n/coregroup minutes")
    assert "What was agreed at your family's meeting on Wed 6 Jan 2027, 10:00" in out
    assert "The purpose of this meeting" in out
    assert "Neglect" not in out and "domestic abuse programme" not in out
    # The child's voice comes from the key worker's answers: professionals-only unless worded
    # for the family with `amend 4 family "…"`.
    assert "Mia says she likes her new bedroom" not in out
    assert PROFESSIONALS_ONLY in out


def test_a_team_manager_can_read_the_minutes_of_their_teams_group(
    chat: ChatDriver, built: Built
) -> None:
    draft_v1(chat)
    out = chat(f"as tina\n/coregroup {REF} minutes")
    assert "Minutes — CP-2026-0142, meeting 1" in out
    assert "Category of the plan: Neglect" in out


# --- disagreements ------------------------------------------------------------------------------


def test_a_disagreement_with_nobody_to_escalate_to_says_how_to_set_them(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    build_group(engine, clock, oversight=False)
    out = chat('as dan\n/coregroup disagree "Visits should not reduce yet"')
    mine = to(out, "[to Dan")
    assert "It will be in section 10 of the minutes of meeting 1 when they're drafted." in mine
    assert "`/coregroup conference-chair @iro`" in mine
    assert "`/coregroup add @name team-manager`" in mine
    chair = to(out, "[DM to sam]")
    assert "Nobody outside the group was told." in chair
    assert "`/coregroup conference-chair @iro`" in chair
    with db(engine) as s:
        row = s.exec(select(Disagreement)).one()
        assert row.escalated_to.startswith("Not shared yet")
    # The draft made later records it.
    out = draft_v1(chat)
    assert '"Visits should not reduce yet" Not shared yet' in to(out, "[DM to priya]")


def test_a_disagreement_needs_words(chat: ChatDriver, engine: Engine, built: Built) -> None:
    out = chat("as dan\n/coregroup disagree")
    assert "Please say what the disagreement is about." in out
    assert DISAGREE_HINT in out
    with db(engine) as s:
        assert s.exec(select(Disagreement)).first() is None


DISAGREE_HINT = '/coregroup disagree "The police disagree with stepping down visits"'


def test_a_disagreement_after_publication_goes_into_the_next_meetings_minutes(
    chat: ChatDriver, engine: Engine, clock: FakeClock, built: Built
) -> None:
    draft_v1(chat)
    chat("as priya\n/coregroup approve\nas sam\n/coregroup publish")
    out = chat('as jo\n/coregroup disagree "I was not told about the visit change"')
    assert "It will be in section 10 of the minutes of the next meeting." in out
    assert len(versions(engine)) == 1
    with db(engine) as s:
        assert s.exec(select(Disagreement)).one().meeting_id is None
    clock.set(datetime(2027, 2, 10, 11, 30, tzinfo=LONDON))
    out = chat("as alex\n/coregroup draft")
    assert (
        '- Jo Reed (parent / carer), Wed 6 Jan 2027: "I was not told about the visit change"'
        in to(out, "[DM to priya]")
    )


# --- journey 4, every step typed in the chat ----------------------------------------------------

CHAT_SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @alex hv
/coregroup add @dan police
/coregroup add @tina team-manager
/coregroup conference-chair @pat
/coregroup minute-taker @alex
/coregroup outcome add "The children live in a home that is warm and safe"
/coregroup action @alex to arrange a developmental check by 15/1 outcome 1
/coregroup schedule 6/1 2pm at "Family Centre"
clock 2026-12-31 10:00
/coregroup updates
as sam
The children are warm and well fed
skip
skip
yes
yes
Mia says she feels safe and wants her nan to visit
yes
as alex
in progress
booked for 5 Jan at the clinic
Mum is keeping appointments
damp in the back bedroom
Dad has moved back in
# "moved back in" reads like a new concern: yes, the chair should know now; then attendance.
yes
yes
as jo
The heating is fixed
skip
skip
I can't make it
Please tell them the landlord came on Monday
"""


def test_journey_4_from_the_updates_typed_in_the_chat_to_published_minutes(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(CHAT_SETUP)
    out = chat(
        """
        as sam
        clock 2027-01-06 15:10
        /coregroup held
        /coregroup attendance @dan absent 1
        /coregroup attendance @tina absent 1
        /coregroup decision "Health visits go up to weekly"
        /coregroup contingency "If the home is cold again, the children stay with their nan"
        /coregroup action @alex to visit weekly by 3/2 outcome 1
        /coregroup schedule 10/2 10am at "Family Centre"
        as alex
        /coregroup draft
        """
    )
    draft = to(out, "[DM to dan]")
    assert "Draft minutes — CP-2026-0142, meeting 1 (version 1)" in draft
    assert "Attended: Sam — key worker (social worker); Alex — health visitor" in draft
    assert "Apologies: Jo — parent / carer (Please tell them the landlord came on Monday)" in draft
    assert "Invited but did not come: Dan — police; Tina — team manager" in draft
    assert "Jo — parent / carer:\n    Working well: The heating is fixed" in draft
    assert "What the child says: Mia says she feels safe and wants her nan to visit" in draft
    progress = "Action 1 progress: in progress\n    Action 1 note: booked for 5 Jan at the clinic"
    assert progress in draft
    assert "- Dad has moved back in (Alex)" in draft
    assert "Contingency plan: If the home is cold again" in draft
    assert "- Health visits go up to weekly" in draft
    assert "New actions agreed:\n  - Action 2 (outcome 1): Alex — Visit weekly" in draft
    assert "Next meeting: Wed 10 Feb 2027, 10:00 at Family Centre — in time for the deadline" in (
        draft
    )
    assert "Approve" not in to(out, "[DM to jo]")
    out = chat(
        f"""
        as dan
        click {button(out, "Request a change", "[DM to dan]")}
        Please add that the police had no call-outs
        as sam
        /coregroup amend 5 "Police: no call-outs since the conference"
        """
    )
    assert "Dan asked for a change to version 1" in to(out, "[DM to sam]")
    assert "Minutes amended — CP-2026-0142, meeting 1 (version 2)" in to(out, "[DM to dan]")
    out = chat(
        f"""
        as dan
        /coregroup disagree "The police disagree with stepping down visits"
        click {button(out, "Approve", "[DM to dan]")}
        """
    )
    assert "Version 2 of these minutes has been replaced by version 3" in out
    assert "The police disagree with stepping down visits" in to(out, "[DM to tina]")
    assert "The police disagree with stepping down visits" in to(out, "[DM to pat]")
    # Dan's disagreement made version 3, so another member approves it.
    out = chat(
        f"""
        as alex
        click {button(out, "Approve", "[DM to alex]")}
        as sam
        /coregroup publish
        """
    )
    assert "Published version 3. Each of the 5 members gets their own copy" in out
    assert "Every member has their copy (5 of 5)" in to(out, "[DM to sam]")
    assert "Mia says she feels safe" not in to(out, "[DM to jo]")
    assert PROFESSIONALS_ONLY in to(out, "[DM to jo]")
    with db(engine) as s:
        assert len(s.exec(select(Distribution)).all()) == 5
        assert s.exec(select(Minutes)).one().status == MinutesStatus.PUBLISHED
