"""Names are sealed at rest: a typed name still finds people outside the group (by the blind
indexes of their name and handle), case- and space-insensitively, listed by name; the index
follows a change of name. SQLite, or PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session

from bot.clock import FakeClock
from bot.core.people import name_candidates
from storage.enums import Platform
from storage.models import Person
from tests.factories import make_person


def _found(engine: Engine, typed: str, platform: Platform = Platform.LOCAL) -> list[str]:
    with Session(engine) as s:
        return [
            p.display_name for p, _ in name_candidates(s, typed, platform=platform, group_id=None)
        ]


def _people(engine: Engine, clock: FakeClock) -> dict[str, int]:
    with Session(engine) as s:
        made = [
            make_person(session=s, clock=clock, display_name=name, platform=platform)
            for name, platform in (
                ("Sam Okafor", Platform.LOCAL),
                ("sam Adeyemi", Platform.LOCAL),
                ("Sam Jones", Platform.LOCAL),
                ("Sam Teams", Platform.TEAMS),
                ("Dana Webb", Platform.LOCAL),
            )
        ]
        s.commit()
        return {p.display_name: p.id or 0 for p in made}


def test_a_full_name_is_found_whatever_its_case_and_spacing(
    engine: Engine, clock: FakeClock
) -> None:
    _people(engine, clock)
    assert _found(engine, "  SAM   okafor ") == ["Sam Okafor"]
    assert _found(engine, "dana webb") == ["Dana Webb"]
    assert _found(engine, "Dana Web") == []


def test_a_handle_finds_everyone_known_by_it_on_the_platform_sorted_by_name(
    engine: Engine, clock: FakeClock
) -> None:
    _people(engine, clock)
    # Made Okafor, Adeyemi, Jones: listed by name, whatever the case of its first letter.
    assert _found(engine, "Sam") == ["sam Adeyemi", "Sam Jones", "Sam Okafor"]
    assert _found(engine, "sam", Platform.TEAMS) == ["Sam Teams"]


def test_a_changed_name_is_found_by_the_new_name_only_and_never_stored_in_clear(
    engine: Engine, clock: FakeClock
) -> None:
    ids = _people(engine, clock)
    with Session(engine) as s:
        dana = s.get(Person, ids["Dana Webb"])
        assert dana is not None
        dana.display_name = "Dana Okoro"
        s.add(dana)
        s.commit()
    assert _found(engine, "dana okoro") == ["Dana Okoro"]
    assert _found(engine, "dana webb") == []
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT display_name, name_index FROM person")).all()
    assert all(not name.startswith(("Sam", "sam", "Dana")) for name, _ in stored)
    assert all(len(index) == 64 for _, index in stored)
