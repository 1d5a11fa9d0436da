"""Setting up and running a core group through the local chat: new, add, remove, members, chair,
minute-taker, conference chair, review conferences, closing and the status at a glance."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.core.errors import BadInput
from bot.core.groups import check_reference, group_label, space_name, team_managers
from bot.core.oversight import make_team_manager
from storage.enums import ActionStatus, GroupStatus, MeetingStatus, PlanStatus, Role, UpdateState
from storage.models import (
    Action,
    AuditEntry,
    Case,
    ChatIdentity,
    CoreGroup,
    Meeting,
    Membership,
    MemberUpdate,
    Minutes,
    Person,
    ReviewConference,
)
from tests.factories import (
    make_action,
    make_group,
    make_meeting,
    make_membership,
    make_outcome,
    make_person,
    make_team,
)
from tests.scenarios.conftest import ChatDriver

LONDON = ZoneInfo("Europe/London")
REF = "CP-2026-0142"
SPACE = "#cg-cp-2026-0142"

# Journey 1: the ICPC was on Fri 18 Dec 2026; the key worker sets the group up that afternoon.
START = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
in {SPACE}
"""


def person(engine: Engine, name: str) -> Person:
    """The local-chat person called `name`."""
    with Session(engine, expire_on_commit=False) as s:
        ident = s.exec(select(ChatIdentity).where(ChatIdentity.user_id == name)).one()
        found = s.get(Person, ident.person_id)
        assert found is not None
        return found


def group_rows(engine: Engine) -> tuple[Case, CoreGroup, list[tuple[Membership, str]]]:
    """The case, its group and every membership (with the person's handle)."""
    with Session(engine, expire_on_commit=False) as s:
        case = s.exec(select(Case).where(Case.reference == REF)).one()
        group = s.exec(select(CoreGroup).where(CoreGroup.case_id == case.id)).one()
        rows = s.exec(
            select(Membership, ChatIdentity)
            .join(ChatIdentity, col(ChatIdentity.person_id) == Membership.person_id)
            .where(Membership.group_id == group.id)
            .order_by(col(Membership.id))
        ).all()
        return case, group, [(m, i.user_id) for m, i in rows]


def membership(engine: Engine, name: str) -> Membership:
    """`name`'s membership row of the group."""
    return next(m for m, who in group_rows(engine)[2] if who == name)


def block_of(out: str, start: str) -> str:
    """The transcript from the line starting with `start` up to the next typed line."""
    tail = out[out.index(start) :]
    end = tail.find("\n> ", 1)
    return tail if end == -1 else tail[:end]


# --- new ----------------------------------------------------------------------------------------


def test_new_group_gives_the_first_meeting_deadline_skipping_the_holidays(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(START)
    assert f"* private space {SPACE} created" in out
    reply = block_of(out, f"> /coregroup new {REF}")
    assert "The first core group must meet by Wed 6 Jan 2027" in reply
    assert "within 10 working days of the ICPC on Fri 18 Dec 2026" in reply
    assert "Christmas Day on Fri 25 Dec" in reply
    assert "the Boxing Day substitute day on Mon 28 Dec" in reply
    assert "New Year's Day on Fri 1 Jan" in reply
    assert "[1] Schedule the first meeting" in reply
    assert f"[{SPACE}]" in reply  # the space gets its own welcome
    case, group, members = group_rows(engine)
    assert case.icpc_date == date(2026, 12, 18) and case.nation == "england"
    assert group.channel_id == "cg-cp-2026-0142"
    [(chair, who)] = members
    assert who == "sam" and chair.role == Role.KEY_WORKER and chair.is_chair


def test_new_group_belongs_to_the_creators_team(chat: ChatDriver, engine: Engine) -> None:
    chat("as sam\n/coregroup home")  # Sam meets the bot
    with Session(engine, expire_on_commit=False) as s:
        sam = s.get(Person, person(engine, "sam").id)
        assert sam is not None
        team = make_team_manager(s, person=sam, team_name="North Team")
        s.commit()
    chat(START)
    assert group_rows(engine)[1].team_id == team.id


def test_new_group_in_scotland_counts_fifteen_working_days_and_scottish_holidays(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(
        f"""
        clock 2026-12-18 15:00
        as sam
        /coregroup new {REF} icpc 18/12/2026 nation scotland initials a.b.
        """
    )
    # Scotland: 15 working days after the CPPM; 2 January is a bank holiday there too.
    assert "must meet by Thu 14 Jan 2027" in out
    assert "within 15 working days of the CPPM" in out
    assert "2nd January" in out and "Scotland bank holidays" in out
    case = group_rows(engine)[0]
    assert case.nation == "scotland" and case.initials == "AB"


@pytest.mark.parametrize(
    "typed",
    ["new Jamie icpc 18/12/2026", "new Jamie Smith icpc 18/12/2026", "new jamie-smith 18/12/2026"],
)
def test_new_refuses_anything_that_looks_like_a_name(
    chat: ChatDriver, engine: Engine, typed: str
) -> None:
    out = chat(f"as sam\n/coregroup {typed}")
    assert "use the case reference from the case system, never the child's name" in out
    assert f"You typed: /coregroup {typed}" in out  # nothing typed is lost
    with Session(engine, expire_on_commit=False) as s:
        assert s.exec(select(Case)).all() == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (f"new {REF}", "Please give the date of the ICPC"),
        (f"new {REF} icpc 31/02/2026", "February has 28 days"),
        (f"new {REF} icpc 18/3/2027", "more than a month away"),
        (f"new {REF} icpc 18/12/2026 nation france", "not a nation I know"),
        (f"new {REF} icpc 18/12/2026 initials Jamie", "never a name"),
        ("new", "Please give the case reference"),
    ],
)
def test_new_explains_bad_input_with_an_example(
    chat: ChatDriver, engine: Engine, typed: str, expected: str
) -> None:
    out = chat(f"clock 2026-12-18 15:00\nas sam\n/coregroup {typed}")
    assert expected in out
    assert any(how in out for how in ("For example", "e.g.", "Use one of", 'Try "15/1"'))
    with Session(engine, expire_on_commit=False) as s:
        assert s.exec(select(Case)).all() == []


def test_new_with_a_reference_in_use_tells_members_but_not_outsiders(chat: ChatDriver) -> None:
    chat(START)
    mine = chat(f"/coregroup new {REF.lower()} icpc 18/12/2026")
    assert f"There is already a core group for {REF}" in mine
    theirs = chat(f"as eve\n/coregroup new {REF} icpc 18/12/2026")
    assert "I can't start that core group for you." in theirs
    assert "Sam" not in theirs and "already a core group" not in theirs


# --- add / remove / members ---------------------------------------------------------------------

ADD_FIVE = """
/coregroup add @jo parent
/coregroup add @priya school agency "Oak Primary"
/coregroup add @alex health visitor from Community Health
/coregroup add @ruth gp Riverside Surgery
/coregroup add @dan police agency "Thames Valley Police"
"""


def test_key_worker_adds_five_members_with_roles_and_agencies(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(START + ADD_FIVE)
    assert "Jo has joined the core group as parent / carer." in out
    assert "Priya has joined the core group as school safeguarding lead, Oak Primary." in out
    assert "Alex has joined the core group as health visitor, Community Health." in out
    assert f"* ruth added to {SPACE}" in out
    assert "[DM to dan]" in out and f"core group for {REF} as police" in out
    assert "six or fewer" not in out  # six members is fine
    roles = {who: (Role(m.role), m.agency) for m, who in group_rows(engine)[2]}
    assert roles == {
        "sam": (Role.KEY_WORKER, ""),
        "jo": (Role.PARENT_CARER, ""),
        "priya": (Role.SCHOOL, "Oak Primary"),
        "alex": (Role.HEALTH_VISITOR, "Community Health"),
        "ruth": (Role.GP, "Riverside Surgery"),
        "dan": (Role.POLICE, "Thames Valley Police"),
    }
    assert person(engine, "jo").is_family and not person(engine, "priya").is_family


def test_a_seventh_member_draws_a_gentle_note_about_six_or_fewer(chat: ChatDriver) -> None:
    chat(START + ADD_FIVE)
    out = chat("/coregroup add @kim therapist")
    assert "The group now has 7 members. Guidance suggests six or fewer" in out


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("mum", Role.PARENT_CARER),
        ("dad", Role.PARENT_CARER),
        # Sam is already the key worker: another social worker joins as a social worker.
        ("sw", Role.SOCIAL_WORKER),
        ("social-worker", Role.SOCIAL_WORKER),
        ("hv", Role.HEALTH_VISITOR),
        ("dsl", Role.SCHOOL),
        ("school nurse", Role.SCHOOL_NURSE),
        ("counsellor", Role.THERAPIST),
        ("young person", Role.CHILD),
        ("tm", Role.TEAM_MANAGER),
        ("iro", Role.CONFERENCE_CHAIR),
        ("Interpreter", Role.INTERPRETER),
        ("as an advocate", Role.ADVOCATE),
    ],
)
def test_add_understands_the_usual_words_for_roles(
    chat: ChatDriver, engine: Engine, word: str, role: Role
) -> None:
    chat(START + f"/coregroup add @kim {word}")
    assert membership(engine, "kim").role == role


def test_add_suggests_the_role_meant_by_a_typo(chat: ChatDriver, engine: Engine) -> None:
    out = chat(START + "/coregroup add @kim therapst")
    assert "I don't know the role 'therapst'." in out
    assert "Did you mean therapist?" in out
    assert "You typed: /coregroup add @kim therapst" in out
    assert len(group_rows(engine)[2]) == 1


def test_add_without_a_role_or_person_says_what_is_missing(chat: ChatDriver) -> None:
    out = chat(START + "/coregroup add @kim\n/coregroup add")
    assert "Please give their role." in out
    assert "Please give who to add." in out
    assert "/coregroup add @jo parent" in out


def test_adding_a_member_again_with_a_new_role_updates_it(chat: ChatDriver, engine: Engine) -> None:
    chat(START + "/coregroup add @priya school")
    same = chat("/coregroup add @priya school")
    assert (
        "Priya is already in the core group for CP-2026-0142 as school safeguarding lead." in same
    )
    changed = chat("/coregroup add @priya school-nurse agency Health")
    assert "Priya is now in the core group as school nurse, Health." in changed
    assert "added to" not in changed  # no second invitation to the space
    row = membership(engine, "priya")
    assert (row.role, row.agency, row.active) == (Role.SCHOOL_NURSE, "Health", True)


def test_removing_keeps_history_and_adding_back_reactivates(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(START + "/coregroup add @dan police\n/coregroup remove @dan")
    assert f"* dan removed from {SPACE}" in out
    assert "Dan has left the core group. Their updates and actions stay on the record." in out
    row = membership(engine, "dan")
    assert not row.active and row.left_at is not None
    back = chat("/coregroup add @dan police")
    assert "Dan has joined the core group again as police." in back
    again = membership(engine, "dan")
    assert again.id == row.id and again.active and again.left_at is None


def test_remove_refuses_the_last_chair_and_non_members(chat: ChatDriver, engine: Engine) -> None:
    chat(START + "/coregroup add @priya school\n/coregroup chair @priya\n/coregroup chair @sam off")
    out = chat("/coregroup remove @priya\n/coregroup remove @zed")
    assert "Priya is the only chair of the core group for CP-2026-0142" in out
    assert "Make someone else a chair first" in out
    assert "Zed isn't a member of the core group for CP-2026-0142." in out
    assert membership(engine, "priya").active


def test_members_lists_roles_agencies_chairs_and_minute_takers(chat: ChatDriver) -> None:
    chat(START + ADD_FIVE + "/coregroup minute-taker @alex\n/coregroup conference-chair @pat")
    out = chat("as ruth\n/coregroup members")
    assert "== CP-2026-0142: 6 members ==" in out
    assert "• Sam — key worker (social worker) · chair" in out
    assert "• Alex — health visitor, Community Health · minute-taker" in out
    assert "• Priya — school safeguarding lead, Oak Primary" in out
    assert "Conference chair (for disagreements): Pat" in out
    assert "Add someone" not in out  # only shown to those who can


@pytest.mark.parametrize(
    "typed",
    [
        "add @kim gp",
        "remove @priya",
        "chair @priya",
        "minute-taker @priya",
        "conference-chair @pat",
        "review 15/3/2027",
        "close",
    ],
)
def test_members_who_do_not_chair_cannot_change_the_group(
    chat: ChatDriver, engine: Engine, typed: str
) -> None:
    chat(START + "/coregroup add @priya school")
    before = group_rows(engine)
    out = chat(f"as priya\n/coregroup {typed} {REF}")
    assert "Only the chair or key worker can" in out
    assert "Ask the chair" in out
    assert group_rows(engine) == before


# --- chairs, minute-takers, conference chair ----------------------------------------------------


def test_chairing_can_be_shared_but_a_group_always_keeps_one(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(START + "/coregroup add @alex hv\n/coregroup add @jo parent")
    out = chat("/coregroup chair @alex")
    assert "Alex now chairs the core group. Chairs: Sam, Alex." in out
    out = chat("/coregroup chair @sam off")
    assert "Sam no longer chairs the group. Chairs: Alex." in out
    out = chat("/coregroup chair @alex off")
    assert "Alex is the only chair of the core group for CP-2026-0142" in out
    out = chat("/coregroup chair @jo")
    assert "Family members can't chair the core group" in out
    assert (membership(engine, "alex").is_chair, membership(engine, "sam").is_chair) == (
        True,
        False,
    )
    # Sam is still the key worker, so can still manage the group.
    assert "Priya has joined" in chat("/coregroup add @priya school")


def test_the_only_chair_cannot_become_a_family_member(chat: ChatDriver, engine: Engine) -> None:
    out = chat(START + "/coregroup add @sam parent")
    assert "Sam is the only chair, and family members don't chair." in out
    assert membership(engine, "sam").role == Role.KEY_WORKER


def test_minute_taking_can_be_shared_and_stopped(chat: ChatDriver, engine: Engine) -> None:
    chat(START + "/coregroup add @alex hv\n/coregroup add @priya school")
    out = chat("/coregroup minute-taker @alex\n/coregroup minute-taker @priya")
    assert "Priya now takes the minutes. Minute-takers: Alex, Priya." in out
    out = chat("/coregroup minute-taker @alex off\n/coregroup minute-taker @alex off")
    assert "Alex no longer takes the minutes. Minute-takers: Priya." in out
    assert "Alex doesn't take the minutes for CP-2026-0142." in out
    assert not membership(engine, "alex").is_minute_taker
    assert membership(engine, "priya").is_minute_taker


def test_conference_chair_is_recorded_and_told(chat: ChatDriver, engine: Engine) -> None:
    out = chat(START + "/coregroup conference-chair @pat")
    assert "Pat is the conference chair. If the group records a disagreement" in out
    assert "[DM to pat]" in out
    assert group_rows(engine)[0].conference_chair_id == person(engine, "pat").id
    assert "Pat is already the conference chair" in chat("/coregroup iro @pat")


# --- review conferences -------------------------------------------------------------------------


def test_review_gives_the_after_review_deadline_and_rule(chat: ChatDriver, engine: Engine) -> None:
    out = chat(START + "clock 2027-03-15 17:00\n/coregroup review 15/3/2027")
    assert "Review conference on Mon 15 Mar 2027 recorded" in out
    assert "The next core group must meet by Wed 31 Mar 2027" in out
    assert "within 10 working days of the review conference on Mon 15 Mar 2027" in out
    assert "Good Friday on Fri 26 Mar and Easter Monday on Mon 29 Mar" in out
    assert "Next review conference due by Wed 15 Sep 2027" in out
    assert "Schedule the next meeting" in out
    with Session(engine, expire_on_commit=False) as s:
        [row] = s.exec(select(ReviewConference)).all()
        assert row.held_on == date(2027, 3, 15) and row.plan_continues


def test_review_where_the_plan_ended_suggests_closing(chat: ChatDriver, engine: Engine) -> None:
    out = chat(START + "clock 2027-03-16 09:00\n/coregroup review 15/3 plan ended")
    assert "The plan ended at the review conference on Mon 15 Mar 2027" in out
    assert "/coregroup close" in out
    assert "must meet by" not in block_of(out, "> /coregroup review")
    with Session(engine, expire_on_commit=False) as s:
        assert not s.exec(select(ReviewConference)).one().plan_continues


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("review", "Please give the date of the review conference."),
        ("review 1/12/2026", "A review conference comes after the ICPC on Fri 18 Dec 2026."),
        ("review 15/3/2027 plan-ended", "hasn't happened yet"),
        ("review soon", "too vague"),
    ],
)
def test_review_explains_bad_input(
    chat: ChatDriver, engine: Engine, typed: str, expected: str
) -> None:
    out = chat(START + f"/coregroup {typed}")
    assert expected in out
    with Session(engine, expire_on_commit=False) as s:
        assert s.exec(select(ReviewConference)).all() == []


# --- closing ------------------------------------------------------------------------------------


def test_close_asks_first_then_closes_archives_and_stays_readable(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START + "/coregroup add @priya school")
    with Session(engine, expire_on_commit=False) as s:
        group = group_rows(engine)[1]
        booked = make_meeting(
            session=s,
            clock=clock,
            group=group,
            created_by=s.get(Person, person(engine, "sam").id),
            starts_at=datetime(2027, 1, 5, 10, tzinfo=LONDON),
        )
        s.commit()
    out = chat("/coregroup close plan ended at review")
    assert "Close the core group for CP-2026-0142?" in out
    assert "Reason: plan ended at review" in out
    assert group_rows(engine)[1].status == GroupStatus.ACTIVE  # not until confirmed
    button = out.split("] Close the group")[0].rsplit("[", 1)[1]
    out = chat(f"click {button}")
    assert f"* {SPACE} archived" in out
    assert (
        "Sam closed the core group for CP-2026-0142 on Fri 18 Dec 2026: plan ended at review."
        in out
    )
    assert "The meeting on Tue 5 Jan 2027 is cancelled" in out
    case, group, _ = group_rows(engine)
    assert group.status == GroupStatus.CLOSED and group.close_reason == "plan ended at review"
    assert case.plan_status == PlanStatus.ENDED and case.ended_at is not None
    with Session(engine, expire_on_commit=False) as s:
        assert s.get(Meeting, booked.id).status == MeetingStatus.CANCELLED  # type: ignore[union-attr]
    refused = chat("/coregroup add @kim gp")
    assert "The core group for CP-2026-0142 is closed" in refused
    readable = chat("as priya\n/coregroup status")
    assert "Plan: closed on Fri 18 Dec 2026: plan ended at review" in readable


def test_close_confirm_closes_at_once(chat: ChatDriver, engine: Engine) -> None:
    out = chat(START + "/coregroup close the plan ended confirm")
    assert f"* {SPACE} archived" in out
    assert "closed the core group for CP-2026-0142 on Fri 18 Dec 2026: the plan ended." in out
    assert group_rows(engine)[1].status == GroupStatus.CLOSED
    assert "is closed" in chat("/coregroup close confirm")


def test_close_reason_too_long_is_refused_and_shown_back(chat: ChatDriver, engine: Engine) -> None:
    reason = "the plan ended " + "x" * 600
    out = chat(START + f"/coregroup close {reason} confirm")
    assert "Please keep the reason for closing under 500 characters" in out
    assert "Nothing was closed." in out
    assert reason[-40:] in out  # what they typed comes back, so nothing is lost
    assert group_rows(engine)[1].status == GroupStatus.ACTIVE
    assert group_rows(engine)[1].close_reason is None


def test_close_button_only_works_for_someone_who_may_close(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(START + "/coregroup add @priya school\n/coregroup close")
    button = out.split("] Close the group")[0].rsplit("[", 1)[1]
    # Priya sees the same button number if she types it: she may not close the group.
    out = chat(f"as priya\nclick {button}")
    assert "Only the chair or key worker can close the group" in out
    out = chat(f"as eve\nclick {button}")
    assert "I can't find a core group that you belong to." in out
    assert group_rows(engine)[1].status == GroupStatus.ACTIVE
    with Session(engine, expire_on_commit=False) as s:
        denied = s.exec(select(AuditEntry).where(AuditEntry.kind == "denied")).all()
        assert denied


# --- status -------------------------------------------------------------------------------------


def _busy_group(engine: Engine, clock: FakeClock) -> None:
    """Outcomes (one private), actions (two overdue, one private), a booked meeting, replies."""
    group = group_rows(engine)[1]
    with Session(engine, expire_on_commit=False) as s:
        sam, priya, jo, dan = (
            s.get(Person, person(engine, n).id) for n in ("sam", "priya", "jo", "dan")
        )
        assert sam and priya and jo and dan
        home = make_outcome(session=s, clock=clock, group=group, title="Home is warm and safe")
        secret = make_outcome(
            session=s,
            clock=clock,
            group=group,
            title="Dad's contact is supervised",
            shared_with_family=False,
        )
        make_action(
            session=s,
            clock=clock,
            group=group,
            owner=priya,
            outcome=home,
            description="Check attendance weekly",
            due_on=date(2027, 1, 4),
            created_by=sam,
        )
        make_action(
            session=s,
            clock=clock,
            group=group,
            owner=dan,
            outcome=secret,
            description="Check the address with the refuge",
            due_on=date(2027, 1, 6),
            created_by=sam,
        )
        make_action(
            session=s,
            clock=clock,
            group=group,
            owner=jo,
            outcome=home,
            description="Go to the GP appointment",
            due_on=date(2027, 1, 20),
            created_by=sam,
        )
        meeting = make_meeting(
            session=s,
            clock=clock,
            group=group,
            created_by=sam,
            starts_at=datetime(2027, 1, 13, 14, tzinfo=LONDON),
            venue="Oak Family Centre",
        )
        assert meeting.id is not None and priya.id is not None
        s.add(
            MemberUpdate(
                meeting_id=meeting.id,
                person_id=priya.id,
                state=UpdateState.COMPLETE,
                updated_at=clock.now(),
            )
        )
        s.commit()


def test_status_shows_next_meeting_deadlines_overdue_actions_and_replies(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START + ADD_FIVE)
    _busy_group(engine, clock)
    out = block_of(chat("clock 2027-01-11 09:00\n/coregroup status"), "> /coregroup status")
    assert "== CP-2026-0142 — the core group at a glance ==" in out
    assert "Next meeting: Wed 13 Jan 2027, 14:00 — Oak Family Centre" in out
    assert (
        "⚠ OVERDUE: First core group by Wed 6 Jan 2027 — ⚠ the next meeting (Wed 13 Jan 2027) "
        "is after this deadline" in out
    )
    assert "Overdue actions (2):" in out
    assert "⚠ OVERDUE by 7 days: #1 Check attendance weekly — Priya (due Mon 4 Jan 2027)" in out
    assert "⚠ OVERDUE by 5 days: #2 Check the address with the refuge — Dan" in out
    assert "not replied yet: Sam, Jo, Alex, Ruth, Dan." in out
    assert "Go to the GP appointment" not in out  # not overdue


def test_status_family_view_shows_only_what_is_shared_and_their_own(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START + ADD_FIVE)
    _busy_group(engine, clock)
    out = block_of(chat("clock 2027-01-11 09:00\nas jo\n/coregroup status"), "> /coregroup status")
    assert "== What's next ==" in out and "CP-2026-0142" not in out
    assert "Next meeting: Wed 13 Jan 2027, 14:00 — Oak Family Centre" in out
    assert "#3 Go to the GP appointment — due Wed 20 Jan 2027" in out
    assert "1. Home is warm and safe" in out
    assert "Check attendance weekly — Priya" in out  # shared, and late
    for hidden in ("refuge", "Dad's contact", "Deadline", "not replied", "Minute-taker"):
        assert hidden not in out


def test_status_of_a_brand_new_group_offers_to_schedule(chat: ChatDriver) -> None:
    out = chat(START + "/coregroup status")
    assert "First core group by Wed 6 Jan 2027 — not booked yet." in out
    assert "Rule: First core group within 10 working days of the ICPC" in out
    assert "Overdue actions: none." in out
    assert "Schedule the first meeting" in block_of(out, "> /coregroup status")


def test_status_lists_minutes_awaiting_record_and_circulation(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START)
    group = group_rows(engine)[1]
    with Session(engine, expire_on_commit=False) as s:
        meeting = make_meeting(
            session=s,
            clock=clock,
            group=group,
            created_by=s.get(Person, person(engine, "sam").id),
            starts_at=datetime(2027, 1, 5, 10, tzinfo=LONDON),
            status=MeetingStatus.HELD,
        )
        assert meeting.id is not None
        s.add(
            Minutes(
                meeting_id=meeting.id,
                record_due=date(2027, 1, 7),
                circulate_due=date(2027, 1, 12),
                created_at=clock.now(),
            )
        )
        s.commit()
    out = block_of(chat("clock 2027-01-08 09:00\n/coregroup status"), "> /coregroup status")
    assert (
        "⚠ OVERDUE: minutes of the meeting on Tue 5 Jan 2027 not recorded on the case system "
        "(due Thu 7 Jan 2027, 1 day late)" in out
    )
    assert "First core group" not in out  # met by the meeting on 5 Jan
    assert "Next core group by Tue 16 Feb 2027 — not booked yet." in out


def test_status_audits_each_read(chat: ChatDriver, engine: Engine) -> None:
    chat(START + "/coregroup status")
    with Session(engine, expire_on_commit=False) as s:
        reads = s.exec(select(AuditEntry).where(AuditEntry.what == "command:status")).all()
        assert [r.kind for r in reads] == ["read"]


def test_removing_someone_with_open_actions_asks_for_a_new_owner(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START + "/coregroup add @dan police\n/coregroup chair @dan")
    group = group_rows(engine)[1]
    with Session(engine, expire_on_commit=False) as s:
        dan = s.get(Person, person(engine, "dan").id)
        assert dan is not None
        action = make_action(session=s, clock=clock, group=group, owner=dan)
        s.commit()
    out = chat("/coregroup remove @dan")
    assert "Dan still owns open action 1. Give it to someone else" in out
    assert "/coregroup action reassign 1 @alex" in out
    with Session(engine) as s:
        kept = s.get(Action, action.id)
        assert kept is not None and kept.status == ActionStatus.OPEN
    assert not membership(engine, "dan").is_chair  # chairing ends when they leave


def test_changes_made_away_from_the_space_are_confirmed_privately_too(chat: ChatDriver) -> None:
    out = chat(START + "in dm\n/coregroup add @jo parent")
    reply = block_of(out, "> /coregroup add @jo parent")
    assert f"[{SPACE}]\n  Jo has joined the core group as parent / carer." in reply
    assert "[to Sam, only you]\n  Jo has joined the core group as parent / carer." in reply
    here = block_of(chat(f"in {SPACE}\n/coregroup add @alex hv"), "> /coregroup add @alex")
    assert "only you" not in here


def test_a_conference_date_without_a_year_means_the_last_one(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(f"clock 2027-01-05 09:00\nas sam\n/coregroup new {REF} icpc 18/12")
    assert "within 10 working days of the ICPC on Fri 18 Dec 2026" in out
    assert "⚠ That date has passed: hold the first meeting as soon as you can." not in out
    assert group_rows(engine)[0].icpc_date == date(2026, 12, 18)
    chat(f"in {SPACE}\nclock 2027-03-16 09:00\n/coregroup review 15/3")
    with Session(engine) as s:
        assert s.exec(select(ReviewConference)).one().held_on == date(2027, 3, 15)


def test_a_group_made_after_its_deadline_says_to_meet_soon(chat: ChatDriver) -> None:
    out = chat(f"clock 2027-01-11 09:00\nas sam\n/coregroup new {REF} icpc 18/12/2026")
    assert "⚠ That date has passed: hold the first meeting as soon as you can." in out


# --- the core, directly -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "reference", "space"),
    [
        ("CP-2026-0142", "CP-2026-0142", "cg-cp-2026-0142"),
        ("cp/2026/142", "CP/2026/142", "cg-cp-2026-142"),
        ("ABC-12345", "ABC-12345", "cg-abc-12345"),
    ],
)
def test_references_are_checked_and_name_the_space(typed: str, reference: str, space: str) -> None:
    assert check_reference(typed) == reference
    assert space_name(reference) == space


@pytest.mark.parametrize("typed", ["Jamie", "Jamie-Smith", "J.S.", "CP-", "2026-0142", "CP 2026"])
def test_anything_but_a_reference_is_refused(typed: str) -> None:
    with pytest.raises(BadInput, match="never the child's name"):
        check_reference(typed)


def test_team_managers_are_the_teams_managers_and_team_manager_members(
    session: Session, clock: FakeClock
) -> None:
    team = make_team(session=session)
    other = make_team(session=session)
    group = make_group(session=session, clock=clock, team_id=team.id)
    boss = make_person(session=session, clock=clock, team_id=team.id, is_team_manager=True)
    make_person(session=session, clock=clock, team_id=other.id, is_team_manager=True)
    make_person(session=session, clock=clock, team_id=team.id)  # in the team, not a manager
    tm = make_membership(session=session, clock=clock, group=group, role=Role.TEAM_MANAGER)
    make_membership(session=session, clock=clock, group=group, role=Role.GP)
    assert group.id is not None
    assert [p.id for p in team_managers(session, group_id=group.id)] == [boss.id, tm.person_id]
    assert group_label(session.get(Case, group.case_id)) == group_label(  # type: ignore[arg-type]
        session.exec(select(Case)).one()
    )


# --- journey 1, end to end ----------------------------------------------------------------------


def test_journey_1_after_the_icpc_the_key_worker_sets_up_the_group(
    chat: ChatDriver, engine: Engine
) -> None:
    out = chat(
        START
        + ADD_FIVE
        + """
        /coregroup add @kim therapist agency "Family Therapy Service"
        /coregroup outcome add "The children live in a home that is clean, warm and safe"
        /coregroup outcome add "Jo gets support with her mental health and keeps appointments"
        /coregroup outcome add "The children go to school every day and are on time"
        /coregroup action @alex to visit the family at home by next Friday outcome 1
        /coregroup action @ruth to book Jo a health review by 15/1 outcome 2
        /coregroup action @priya to check attendance every week by 15/1 outcome 3
        click 1
        5/1 10am
        /coregroup status
        """
    )
    new = block_of(out, f"> /coregroup new {REF}")
    assert "must meet by Wed 6 Jan 2027" in new and "Boxing Day substitute day" in new
    assert f"* private space {SPACE} created" in out
    assert "The group now has 7 members. Guidance suggests six or fewer" in out
    status = block_of(out, "> /coregroup status")
    assert "Next meeting: Tue 5 Jan 2027, 10:00" in status
    assert "First core group by Wed 6 Jan 2027 — booked for Tue 5 Jan 2027" in status
    assert "Overdue actions: none." in status
    group_id = group_rows(engine)[1].id
    with Session(engine) as s:
        actions = s.exec(
            select(Action).where(Action.group_id == group_id).order_by(col(Action.number))
        ).all()
        owners = {a.owner_id: a.due_on for a in actions}
        assert owners == {
            person(engine, "alex").id: date(2026, 12, 25),  # "next Friday" from Fri 18 Dec
            person(engine, "ruth").id: date(2027, 1, 15),
            person(engine, "priya").id: date(2027, 1, 15),
        }
        assert [a.outcome_id is not None for a in actions] == [True, True, True]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("stauts", "status"), ("memebrs", "members"), ("minute-taekr @alex", "minute-taker")],
)
def test_typos_in_group_commands_get_a_suggestion(chat: ChatDriver, typed: str, meant: str) -> None:
    out = chat(START + f"/coregroup {typed}")
    assert f"Did you mean `{meant}`?" in out
    assert f"For example: `/coregroup {meant}" in out


def test_help_explains_each_group_command_with_examples(chat: ChatDriver) -> None:
    out = chat("as sam\n/coregroup help add\n/coregroup help")
    assert "Usage: /coregroup add @person <role> [agency <name>]" in out
    assert 'e.g. /coregroup add @priya school agency "Oak Primary"' in out
    for name in ("new", "members", "chair", "minute-taker", "review", "close", "team", "home"):
        assert f"/coregroup {name}" in out
