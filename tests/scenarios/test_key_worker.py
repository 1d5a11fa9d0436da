"""Issue 10, rules a chair relies on: a group always has exactly one key worker, handed over by
name, and roles typed in everyday words are recognised."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.enums import Role
from storage.models import Membership, Person
from tests.scenarios.conftest import ChatDriver
from tests.scenarios.test_meetings import REF

SETUP = f"""
clock 2026-12-18 15:00
as sam
/coregroup new {REF} icpc 18/12/2026
/coregroup add @jo parent
/coregroup add @priya school
"""


def roles(engine: Engine) -> dict[str, tuple[str, bool, bool, str]]:
    """Each current member's (role, chair, active, agency) by display name."""
    with Session(engine) as s:
        rows = s.exec(select(Membership, Person).where(Membership.person_id == Person.id)).all()
        return {p.display_name: (m.role, m.is_chair, m.active, m.agency) for m, p in rows}


def test_the_key_worker_cannot_remove_themselves_without_naming_a_successor(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    chat("/coregroup add @alex social worker\n/coregroup chair @alex")
    out = chat("/coregroup remove @sam")
    assert "Sam is the key worker for CP-2026-0142" in out
    assert "`/coregroup remove @sam successor @alex`" in out
    assert roles(engine)["Sam"][2] is True
    out = chat("/coregroup remove @sam successor @alex")
    assert "Alex is now the key worker" in out
    assert "Sam has left the core group" in out
    assert roles(engine)["Alex"][0] == Role.KEY_WORKER
    assert roles(engine)["Sam"][2] is False


def test_the_successor_takes_over_chairing_from_the_only_chair(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    chat("/coregroup add @alex social worker")
    out = chat("/coregroup remove @sam successor @alex")
    assert "Alex is now the key worker and chair" in out
    assert roles(engine)["Alex"][:2] == (Role.KEY_WORKER, True)


def test_a_successor_must_be_a_practitioner_in_the_group(chat: ChatDriver, engine: Engine) -> None:
    chat(SETUP)
    out = chat("/coregroup remove @sam successor @jo")
    assert "Family members can't be the key worker" in out
    out = chat("/coregroup remove @sam successor @nobody")
    assert "isn't a member of the core group" in out
    assert roles(engine)["Sam"][2] is True
    # Someone who isn't the key worker leaves without a successor, and none is made.
    out = chat("/coregroup remove @priya successor @sam")
    assert "Priya isn't the key worker, so nobody needs to take over." in out
    assert roles(engine)["Priya"][2] is True


def test_nobody_can_remove_the_key_worker_without_a_successor(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    chat("/coregroup chair @priya")
    out = chat("as priya\n/coregroup remove @sam")
    assert "Sam is the key worker for CP-2026-0142" in out
    assert roles(engine)["Sam"][2] is True


def test_a_second_social_worker_is_not_a_second_key_worker(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    out = chat("/coregroup add @alex key worker")
    assert "Alex has joined the core group as social worker" in out
    assert "Sam stays the key worker" in out
    assert "`/coregroup key-worker @alex`" in out
    assert roles(engine)["Alex"][0] == Role.SOCIAL_WORKER
    out = chat("/coregroup key-worker @alex")
    assert "Alex is now the key worker for CP-2026-0142" in out
    assert roles(engine)["Alex"][0] == Role.KEY_WORKER
    assert roles(engine)["Sam"][0] == Role.SOCIAL_WORKER
    key_workers = [n for n, r in roles(engine).items() if r[0] == Role.KEY_WORKER and r[2]]
    assert key_workers == ["Alex"]


def test_the_key_worker_cannot_change_to_another_role_without_a_handover(
    chat: ChatDriver, engine: Engine
) -> None:
    chat(SETUP)
    out = chat("/coregroup add @sam team manager")
    assert "Sam is the key worker for CP-2026-0142" in out
    assert "`/coregroup key-worker @alex`" in out
    assert roles(engine)["Sam"][0] == Role.KEY_WORKER


def test_roles_typed_in_words_are_recognised(chat: ChatDriver, engine: Engine) -> None:
    chat(SETUP)
    typed = {
        "fay": ("family support worker", Role.OTHER, "Family support worker"),
        "dee": ("designated safeguarding lead", Role.SCHOOL, ""),
        "hal": ("housing officer", Role.OTHER, "Housing officer"),
        "gran": ("grandmother", Role.PARENT_CARER, ""),
        "nia": ("school nurse", Role.SCHOOL_NURSE, ""),
        "hetty": ("health visitor", Role.HEALTH_VISITOR, ""),
        "pat": ("probation officer", Role.OTHER, "Probation officer"),
        "ian": ("the independent reviewing officer", Role.CONFERENCE_CHAIR, ""),
    }
    for user, (words, _, _) in typed.items():
        out = chat(f"/coregroup add @{user} {words}")
        assert "I don't know the role" not in out, out
    found = roles(engine)
    for user, (_, role, agency) in typed.items():
        assert found[user.capitalize()][0] == role, user
        if agency:
            assert found[user.capitalize()][3] == agency, user
    # The agency still follows the role's words.
    chat('/coregroup add @fay family support worker agency "Early Help"')
    assert roles(engine)["Fay"][3] == "Early Help"
