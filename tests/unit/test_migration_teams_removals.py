"""Migration 0017: the table of Teams removals Graph refused and the posts they hold comes and
goes with the revision, and a held post's text is sealed at rest. SQLite, or PostgreSQL when
TEST_DATABASE_URL is set."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session

from bot.adapters.teams_pending import hold_post, released_posts
from bot.clock import FakeClock
from storage.db import alembic_config, current_revision, head_revision, upgrade
from tests.factories import make_case, make_group

WORDS = "Zebra-kestrel 4417: dad is back at the house"


def test_downgrade_drops_the_teams_pending_table_and_upgrade_brings_it_back(
    engine: Engine,
) -> None:
    command.downgrade(alembic_config(engine), "0016_sealed_names")
    assert current_revision(engine) == "0016_sealed_names"
    assert "teamspending" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert "teamspending" in inspect(engine).get_table_names()


def test_a_held_post_is_sealed_at_rest_and_reads_back(engine: Engine, clock: FakeClock) -> None:
    with Session(engine) as s:
        group = make_group(session=s, clock=clock, case=make_case(session=s, clock=clock))
        s.commit()
        assert group.id is not None
        group_id = group.id
    payload = {"activities": [{"type": "message", "text": WORDS}], "key": None}
    hold_post(engine, group_id=group_id, chat="19:chat@thread.v2", payload=payload, now=clock.now())
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT payload FROM teamspending")).scalar_one()
    assert WORDS not in stored
    (row,) = released_posts(engine)
    assert row.payload["activities"][0]["text"] == WORDS
