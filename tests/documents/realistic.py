"""A realistic core group for the document tests: a Welsh case with a long plan (40 actions),
5,000-character updates, Welsh and accented names and emoji, whose meeting has been held.

Members: Siân (key worker, chair), Dafydd (parent), Gwenllïan (the young person), Zoë (school),
Ffion (health visitor, minute-taker), Dr Ødegård (GP, outside chat: email), PC Ó Briain (police,
outside chat: email) and Nain Morfudd (wider family: no chat account and no email address).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from bot.clock import FakeClock
from storage.enums import (
    ActionStatus,
    AttendanceStatus,
    MeetingKind,
    MeetingStatus,
    Platform,
    Role,
    UpdateState,
)
from storage.models import MemberUpdate, Person, UpdateAnswer
from tests.factories import (
    make_action,
    make_attendance,
    make_case,
    make_group,
    make_meeting,
    make_membership,
    make_outcome,
    make_person,
)

LONDON = ZoneInfo("Europe/London")
REF = "CP-2027-0301"
MEETING_AT = datetime(2027, 2, 3, 10, 0, tzinfo=LONDON)
AFTER = datetime(2027, 2, 3, 11, 30, tzinfo=LONDON)
GP_EMAIL = "bjorn.odegard@castell.nhs.wales"
POLICE_EMAIL = "niamh.obriain@heddlu.police.uk"
EMOJI = "🙂"
SKIN_TONE_THUMB = "👍🏽"

# key → (display name, role, agency, chair, minute-taker, email)
MEMBERS: dict[str, tuple[str, Role, str, bool, bool, str | None]] = {
    "sian": ("Siân Llywelyn", Role.KEY_WORKER, "Gwasanaethau Plant", True, False, None),
    "dafydd": ("Dafydd ap Gruffydd", Role.PARENT_CARER, "", False, False, None),
    "gwenllian": ("Gwenllïan ap Dafydd", Role.CHILD, "", False, False, None),
    "zoe": ("Zoë Müller-Hernández", Role.SCHOOL, "Ysgol Gymraeg Bro Ŵyr", False, False, None),
    "ffion": ("Ffion Hughes", Role.HEALTH_VISITOR, "Bwrdd Iechyd", False, True, None),
    "bjorn": ("Dr Bjørn Ødegård", Role.GP, "Meddygfa'r Castell", False, False, GP_EMAIL),
    "niamh": ("PC Niamh Ó Briain", Role.POLICE, "Heddlu De Cymru", False, False, POLICE_EMAIL),
}
NO_ROUTE = "Nain Morfudd Jones"
OUTCOMES = (
    ("Gwenllïan's home is warm, clean and safe — the boiler is fixed", True),
    ("Gwenllïan goes to Ysgol Gymraeg Bro Ŵyr every day, on time", True),
    ("Dafydd's partner finishes the domestic abuse programme", False),
)
PRIVATE_OUTCOME = OUTCOMES[2][0]


def long_update(seed: str) -> str:
    """About 5,000 characters of an agency's written update, with Welsh, accents and emoji."""
    sentence = (
        f"{seed}: Gwenllïan arrived on time on most days and said “bore da” to her teacher; she "
        f"told Zoë she was happy {EMOJI} and showed a drawing of her cat Siôn. "
        f"Attendance this half-term was 96%, up from 81% {SKIN_TONE_THUMB}. "
    )
    text = ""
    while len(text) + len(sentence) <= 5000:
        text += sentence
    return text.strip()


@dataclass
class Built:
    """Ids of what the builder made."""

    group_id: int
    meeting_id: int
    people: dict[str, int]
    no_route_id: int


def build_long_group(
    engine: Engine,
    clock: FakeClock,
    *,
    platform: Platform = Platform.LOCAL,
    user_ids: dict[str, str] | None = None,
) -> Built:
    """The group and its held meeting; the clock is left at 11:30 that day.

    Members are known on `platform` by `user_ids` (their key by default, as in the local chat).
    """
    clock.set(datetime(2027, 1, 11, 9, 0, tzinfo=LONDON))
    with Session(engine, expire_on_commit=False) as s:
        case = make_case(
            session=s,
            clock=clock,
            reference=REF,
            nation="wales",
            icpc_date=date(2027, 1, 8),
            category="Neglect",
            concerns="The house was cold and damp; missed health appointments",
            initials="G.ap D.",
        )
        group = make_group(session=s, clock=clock, case=case, platform=platform)
        people: dict[str, Person] = {}
        for key, (name, role, agency, chair, taker, email) in MEMBERS.items():
            people[key] = make_person(
                session=s,
                clock=clock,
                display_name=name,
                agency=agency,
                is_family=role.is_family,
                platform=platform,
                user_id=(user_ids or {}).get(key, key),
                email=email,
                outside_chat=email is not None,
            )
            make_membership(
                session=s,
                clock=clock,
                group=group,
                person=people[key],
                role=role,
                is_chair=chair,
                is_minute_taker=taker,
            )
        nain = make_person(
            session=s, clock=clock, display_name=NO_ROUTE, platform=None, is_family=True
        )
        make_membership(session=s, clock=clock, group=group, person=nain, role=Role.OTHER)
        outcomes = [
            make_outcome(
                session=s, clock=clock, group=group, title=title, shared_with_family=shared
            )
            for title, shared in OUTCOMES
        ]
        owners = [people[k] for k in ("sian", "zoe", "ffion", "bjorn", "niamh", "dafydd")]
        statuses = (ActionStatus.DONE, ActionStatus.IN_PROGRESS, ActionStatus.OPEN)
        for n in range(35):
            outcome = outcomes[n % 3]
            make_action(
                session=s,
                clock=clock,
                group=group,
                owner=owners[n % len(owners)],
                outcome=outcome,
                description=f"Task {n + 1}: check in with the family — ymweliad cartref {n + 1}",
                due_on=date(2027, 1, 25) + timedelta(days=n),
                status=statuses[n % 3],
                shared_with_family=outcome.shared_with_family and n % 7 != 0,
            )
        meeting = make_meeting(
            session=s,
            clock=clock,
            group=group,
            created_by=people["sian"],
            kind=MeetingKind.FIRST,
            starts_at=MEETING_AT,
            venue="Canolfan Deulu, Stryd y Castell",
            contingency="If the house is cold again, Gwenllïan stays with Nain Morfudd",
            decisions="Health visits go up to weekly\nSchool to share attendance every Friday",
            status=MeetingStatus.HELD,
        )
        for key, person in people.items():
            status = AttendanceStatus.APOLOGIES if key == "bjorn" else AttendanceStatus.ATTENDED
            make_attendance(session=s, clock=clock, meeting=meeting, person=person, status=status)
        answers = {
            "sian": {
                "child_seen": "yes — at home on 1 Feb",
                "child_seen_alone": "yes",
                "child_says": f"Gwenllïan says she likes her warm bedroom now {EMOJI}",
            },
            "zoe": {"written_update": long_update("Ysgol Gymraeg Bro Ŵyr")},
            "ffion": {"worries": "Dafydd missed the 28 Jan health appointment"},
            "dafydd": {"going_well": "Mae'r tŷ yn gynnes — the house is warm now"},
        }
        for key, said in answers.items():
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
            created_by=people["sian"],
            starts_at=datetime(2027, 3, 3, 10, 0, tzinfo=LONDON),
            venue="Canolfan Deulu, Stryd y Castell",
        )
        # Five actions agreed at the meeting: 40 in all.
        clock.set(MEETING_AT + timedelta(minutes=50))
        for n in range(35, 40):
            make_action(
                session=s,
                clock=clock,
                group=group,
                owner=owners[n % len(owners)],
                outcome=outcomes[n % 2],
                description=f"New task {n + 1}: rhannu'r cynllun — share the plan",
                due_on=date(2027, 2, 24),
            )
        s.commit()
        ids = {k: p.id for k, p in people.items()}
        assert group.id is not None and meeting.id is not None and nain.id is not None
        clock.set(AFTER)
        return Built(group.id, meeting.id, ids, nain.id)  # type: ignore[arg-type]
