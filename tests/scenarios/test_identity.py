"""The right person and the right group: a typed name never picks someone by a guess, and a
command typed in a group's space acts on that group only."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from storage.enums import Platform, Role
from storage.models import ChatIdentity, Membership, Person
from tests.factories import in_team, make_group, make_membership, make_person
from tests.scenarios.conftest import ChatDriver

REF = "CP-2026-0142"
SPACE = "#cg-cp-2026-0142"

START = f"""
clock 2026-12-18 15:00
as priya
/coregroup new {REF} icpc 18/12/2026
in {SPACE}
"""


@pytest.fixture(autouse=True)
def _chairs_in_a_team(engine: Engine, clock: FakeClock, chat: ChatDriver) -> None:
    """Priya and Kim start groups, so they are social workers in a team; no local user "sam"
    exists here (the chat's usual key worker), so every @sam is a typed name to resolve."""
    chat._teamed = True
    for user_id in ("priya", "kim"):
        in_team(engine, clock, platform=Platform.LOCAL, user_id=user_id, name=user_id.title())


def two_sams(engine: Engine, clock: FakeClock) -> tuple[int, int]:
    """Sam Okafor (a school's lead, in no group) and Sam Jones (a parent in another case)."""
    with Session(engine) as s:
        okafor = make_person(
            session=s, clock=clock, display_name="Sam Okafor", user_id="sam.okafor"
        )
        jones = make_person(
            session=s, clock=clock, display_name="Sam Jones", user_id="sam.jones", is_family=True
        )
        other = make_group(session=s, clock=clock)
        make_membership(session=s, clock=clock, group=other, person=jones, role=Role.PARENT_CARER)
        s.commit()
        assert okafor.id is not None and jones.id is not None
        return okafor.id, jones.id


def members(engine: Engine, reference: str = REF) -> set[str]:
    """The local user ids of the group's active members."""
    with Session(engine) as s:
        rows = s.exec(
            select(ChatIdentity.user_id)
            .join(Membership, col(Membership.person_id) == ChatIdentity.person_id)
            .join(Person, col(Person.id) == Membership.person_id)
            .where(col(Membership.active).is_(True), Membership.group_id == _group_id(s, reference))
        ).all()
        return set(rows)


def _group_id(s: Session, reference: str) -> int:
    from storage.models import Case, CoreGroup

    group = s.exec(
        select(CoreGroup)
        .join(Case, col(Case.id) == CoreGroup.case_id)
        .where(Case.reference == reference)
    ).one()
    assert group.id is not None
    return group.id


def buttons(out: str) -> dict[str, int]:
    """The numbered buttons in a transcript: label → number."""
    import re

    return {m.group(2).strip(): int(m.group(1)) for m in re.finditer(r"\[(\d+)\] ([^\[\n]+)", out)}


def test_a_typed_name_two_people_share_asks_and_adds_nobody_until_chosen(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START)
    two_sams(engine, clock)
    chat.local.forget_buttons()
    out = chat("/coregroup add @sam school")
    assert "More than one person is called sam: who do you mean?" in out
    shown = buttons(out)
    assert "Sam Okafor" in shown and "Sam Jones" in shown
    assert "parent" not in out.lower()  # nothing about the other case or Sam Jones's role there
    assert "has joined" not in out and "[DM to" not in out and "added to" not in out
    assert members(engine) == {"priya"}

    out = chat(f"click {shown['Sam Okafor']}")
    assert "Sam Okafor has joined the core group as school safeguarding lead." in out
    assert "* sam.okafor added to #cg-cp-2026-0142" in out
    assert "[DM to sam.okafor]" in out
    assert "sam.jones" not in out and "Sam Jones" not in out
    assert members(engine) == {"priya", "sam.okafor"}


def test_a_typed_name_of_one_person_outside_the_group_is_asked_about_too(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START)
    with Session(engine) as s:
        make_person(session=s, clock=clock, display_name="Dana Webb", user_id="dwebb")
        s.commit()
    chat.local.forget_buttons()
    out = chat("/coregroup add @dana police")
    assert "Nobody in the group is called dana: do you mean this person?" in out
    assert "[1] Dana Webb" in out
    assert members(engine) == {"priya"}
    out = chat("click 1")
    assert "Dana Webb has joined the core group as police." in out
    assert members(engine) == {"priya", "dwebb"}


def test_an_exact_mention_adds_at_once_and_a_member_is_found_by_first_name(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START)
    two_sams(engine, clock)
    out = chat("/coregroup add <@sam.okafor> school")
    assert "Sam Okafor has joined the core group" in out
    out = chat("/coregroup add @sam.jones parent")  # the local chat's exact user id
    assert "Sam Jones has joined the core group" in out
    # Both Sams are members now: a bare first name is still two people, so it asks.
    chat.local.forget_buttons()
    out = chat("/coregroup remove @sam")
    assert "More than one person is called sam" in out
    assert "Sam Okafor (school safeguarding lead)" in out and "Sam Jones (parent / carer)" in out
    assert members(engine) == {"priya", "sam.okafor", "sam.jones"}


def test_a_forged_choice_of_someone_the_name_does_not_fit_is_refused(
    chat: ChatDriver, engine: Engine, clock: FakeClock
) -> None:
    chat(START)
    with Session(engine) as s:
        stranger = make_person(session=s, clock=clock, display_name="Lee Hart", user_id="lhart")
        s.commit()
        stranger_id = stranger.id
    two_sams(engine, clock)
    out = chat(f"/coregroup add @sam#{stranger_id} school")
    assert "I don't know who @sam" in out
    assert members(engine) == {"priya"}


# --- a group's space means that group ------------------------------------------------------------

OTHER = "CP-2026-0200"
# Kim chairs her own group (her only one) and is in the first group's space without being a
# member of it: still in the channel after a removal the platform refused, or a Teams channel.
KIM_IN_THE_OTHER_SPACE = f"""
as kim
/coregroup new {OTHER} icpc 18/12/2026
in {SPACE}
"""


def _group_state(engine: Engine, reference: str) -> tuple[str, int]:
    from storage.models import Case, CoreGroup, ReviewConference

    with Session(engine) as s:
        group = s.exec(
            select(CoreGroup)
            .join(Case, col(Case.id) == CoreGroup.case_id)
            .where(Case.reference == reference)
        ).one()
        reviews = s.exec(
            select(ReviewConference).where(ReviewConference.case_id == group.case_id)
        ).all()
        return str(group.status), len(reviews)


def test_commands_in_a_space_the_actor_cannot_see_never_act_on_their_other_group(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(START + KIM_IN_THE_OTHER_SPACE)
    before = _group_state(engine, OTHER)
    for typed in (
        "/coregroup add @lee school",
        "/coregroup review 18/12/2026",
        "/coregroup close the plan ended confirm",
        "/coregroup status",
    ):
        out = chat(typed)
        # Asked which group, as anywhere her only group cannot be assumed; nothing is done.
        assert "Which core group do you mean?" in out, typed
        assert "archived" not in out and "has joined" not in out, typed
        assert "review conference" not in out.lower() and "closed" not in out, typed
    assert members(engine, OTHER) == {"kim"}
    assert _group_state(engine, OTHER) == before
    assert members(engine) == {"priya"}
    # In her direct messages, her only group is still found without its reference.
    out = chat("in dm\n/coregroup add @lee school")
    assert "Lee has joined the core group as school safeguarding lead." in out
    assert members(engine, OTHER) == {"kim", "lee"}


def test_refusals_in_a_space_the_actor_cannot_see_are_audited(
    chat: ChatDriver, engine: Engine
) -> None:
    from storage.enums import AuditKind
    from storage.models import AuditEntry, Case, CoreGroup

    chat(START + KIM_IN_THE_OTHER_SPACE)
    typed = ("/coregroup add @lee school", "/coregroup close the plan ended confirm")
    for command in typed:
        chat(command)
    with Session(engine) as s:
        space_group = s.exec(
            select(CoreGroup.id)
            .join(Case, col(Case.id) == CoreGroup.case_id)
            .where(Case.reference == "CP-2026-0142")
        ).one()
        kim = s.exec(select(ChatIdentity.person_id).where(ChatIdentity.user_id == "kim")).one()
        denied = s.exec(
            select(AuditEntry).where(
                AuditEntry.kind == AuditKind.DENIED, AuditEntry.actor_id == kim
            )
        ).all()
    # One entry per refusal, against the space's group, saying what was refused and no more.
    assert [(e.group_id, e.what, e.detail) for e in denied] == [
        (space_group, "group", "space")
    ] * len(typed)


def test_a_members_own_space_still_means_their_group(chat: ChatDriver, engine: Engine) -> None:
    chat(START + KIM_IN_THE_OTHER_SPACE + "as priya\nin #cg-cp-2026-0142")
    out = chat("/coregroup add @lee school")
    assert "Lee has joined the core group as school safeguarding lead." in out
    assert members(engine) == {"priya", "lee"}
    assert members(engine, OTHER) == {"kim"}
