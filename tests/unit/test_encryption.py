"""Encryption at rest: sealed columns round-trip, hold no clear text, bind to their column, need
the right KEK, and survive a key rotation interrupted half-way. SQLite, or PostgreSQL when
TEST_DATABASE_URL is set."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from bot.cli import main
from bot.clock import FakeClock
from bot.config import ConfigError, load_settings
from storage.crypto import KeyEncryptionKeys, WontOpen, WrongKey, new_key_text
from storage.db import make_engine, upgrade
from storage.keys import add_data_key, kek_counts, keys_of, rotate
from storage.models import ENCRYPTED_COLUMNS, Action, Case, SlackDelivery
from tests.factories import make_action, make_case, make_group, make_person
from tests.unit.test_case_keys import live_case_keys

SENTINEL = "Zebra-kestrel 4417: dad is back at the house"


def _kek() -> bytes:
    return os.urandom(32)


def _action(engine: Engine, clock: FakeClock, description: str = SENTINEL) -> int:
    with Session(engine) as s:
        group = make_group(session=s, clock=clock, case=make_case(session=s, clock=clock))
        owner = make_person(session=s, clock=clock)
        action = make_action(session=s, clock=clock, group=group, owner=owner)
        action.description = description
        s.add(action)
        s.commit()
        assert action.id is not None
        return action.id


def _raw(engine: Engine, sql: str) -> list[str]:
    """Values as stored, read by a plain connection with no column types to open them."""
    with engine.connect() as conn:
        return [str(v) for v in conn.execute(text(sql)).scalars()]


def test_sealed_text_round_trips_and_is_stored_without_clear_text(
    engine: Engine, clock: FakeClock
) -> None:
    action_id = _action(engine, clock, description=SENTINEL + " — ünïcødé ✓")
    with Session(engine) as s:
        action = s.get(Action, action_id)
        assert action is not None and action.description == SENTINEL + " — ünïcødé ✓"
    (stored,) = _raw(engine, f"SELECT description FROM action WHERE id = {action_id}")
    # Sealed under the case's key (not the shared one, nor the index key) and bound to its row.
    (case_keys,) = live_case_keys(engine).values()
    assert stored.startswith(f"v2:{min(case_keys)}:{action_id}:") and len(case_keys) == 1
    assert "Zebra" not in stored and "kestrel" not in stored


def test_the_same_text_is_sealed_differently_each_time(engine: Engine, clock: FakeClock) -> None:
    first, second = _action(engine, clock), _action(engine, clock)
    stored = _raw(engine, f"SELECT description FROM action WHERE id IN ({first}, {second})")
    assert len(set(stored)) == 2  # a fresh nonce per record


def test_json_and_empty_and_null_values_round_trip(engine: Engine, clock: FakeClock) -> None:
    with Session(engine) as s:
        case = make_case(session=s, clock=clock)
        case.concerns, case.initials = "", None
        row = SlackDelivery(
            kind="post",
            payload={"posts": [{"text": SENTINEL}], "pin": False},
            created_at=clock.now(),
            next_try_at=clock.now(),
        )
        s.add_all([case, row])
        s.commit()
        case_id, row_id = case.id, row.id
    with Session(engine) as s:
        got = s.get(Case, case_id)
        assert got is not None and got.concerns == "" and got.initials is None
        delivery = s.get(SlackDelivery, row_id)
        assert delivery is not None and delivery.payload["posts"][0]["text"] == SENTINEL
    assert SENTINEL not in "".join(_raw(engine, "SELECT payload FROM slackdelivery"))


def test_a_value_moved_to_another_column_fails_to_open(engine: Engine, clock: FakeClock) -> None:
    action_id = _action(engine, clock)
    with engine.begin() as conn:  # the action's sealed wording copied into the case's concerns
        conn.execute(
            text('UPDATE "case" SET concerns = (SELECT description FROM action WHERE id = :a)'),
            {"a": action_id},
        )
    with Session(engine) as s, pytest.raises(WontOpen, match="case.concerns.*another column"):
        s.exec(select(Case.concerns)).all()


def test_clear_text_written_behind_the_bots_back_is_refused(
    engine: Engine, clock: FakeClock
) -> None:
    action_id = _action(engine, clock)
    with engine.begin() as conn:
        planted = text("UPDATE action SET description = 'planted' WHERE id = :a")
        conn.execute(planted, {"a": action_id})
    with Session(engine) as s, pytest.raises(WontOpen, match="not sealed"):
        s.exec(select(Action.description).where(Action.id == action_id)).one()


def test_a_wrong_kek_fails_with_a_message_that_says_what_to_set(
    engine: Engine, database_url: str, clock: FakeClock
) -> None:
    action_id = _action(engine, clock)
    stranger = make_engine(database_url, KeyEncryptionKeys(_kek()))
    try:
        with Session(stranger) as s, pytest.raises(WrongKey, match="DATA_KEY does not open"):
            s.get(Action, action_id)
    finally:
        stranger.dispose()


def test_run_refuses_to_start_with_a_kek_that_does_not_open_the_database(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clock: FakeClock,
) -> None:
    _action(engine, clock)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_KEY", new_key_text())
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "DATA_KEY does not open this database" in err and "Traceback" not in err


def test_settings_refuse_a_malformed_key_with_a_friendly_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATA_KEY: not base64"):
        load_settings(data_key="not a key!")
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(ConfigError, match="DATA_KEY: must be 32 bytes .* not 16"):
        load_settings(data_key=short)
    bad_file = tmp_path / "key"
    bad_file.write_text(short)
    with pytest.raises(ConfigError, match="DATA_KEY_FILE: must be 32 bytes"):
        load_settings(data_key_file=bad_file)


def test_slack_refuses_to_run_without_an_explicit_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    monkeypatch.delenv("DATA_KEY")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    assert main(["db", "upgrade"]) == 2
    assert "DATA_KEY: Slack and Teams need the key" in capsys.readouterr().err


def test_every_case_text_column_is_sealed() -> None:
    expected = {
        "action.description",
        "actionevent.note",
        "case.initials",
        "concern.text",
        "disagreement.detail",
        "heldreply.text",
        "meeting.decisions",
        "meeting.venue",
        "meetingslot.venue",
        "minutesversion.body",
        "person.email",
        "outcome.title",
        "slotchoice.note",
        "updateanswer.answer",
    }
    assert expected <= set(ENCRYPTED_COLUMNS)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "data-protection.md").read_text()
    assert all(f"`{place}`" in docs for place in ENCRYPTED_COLUMNS)


# --- rotation -----------------------------------------------------------------------------------


class Interrupted(Exception):
    """Stands in for the rotation's process being killed."""


def test_rotation_interrupted_half_way_resumes_and_loses_nothing(
    database_url: str, clock: FakeClock
) -> None:
    old, new = _kek(), _kek()
    engine = make_engine(database_url, KeyEncryptionKeys(old))
    upgrade(engine)
    try:
        with engine.begin() as conn:  # a second generation of the shared key (1 is 0010's)
            add_data_key(conn, KeyEncryptionKeys(old))
        keys_of(engine.dialect).forget()
        descriptions = []
        for n in range(4):  # four cases, each with its own data key, and the index key
            descriptions.append(f"{SENTINEL} #{n}")
            _action(engine, clock, descriptions[-1])
        assert kek_counts(engine) == {KeyEncryptionKeys(old).current_id: 7}

        def stop_after_three(key_id: int) -> None:
            if key_id == 3:
                raise Interrupted

        with pytest.raises(Interrupted):
            rotate(engine, KeyEncryptionKeys(old), new, after_each=stop_after_three)
        old_id, new_id = KeyEncryptionKeys(old).current_id, KeyEncryptionKeys(new).current_id
        assert kek_counts(engine) == {new_id: 3, old_id: 4}

        # Half-way, the running bot (old KEK, keys cached) and a new instance given both keys
        # read everything.
        assert _descriptions(engine) == descriptions
        both = make_engine(database_url, KeyEncryptionKeys(new, (old,)))
        assert _descriptions(both) == descriptions
        both.dispose()

        done = rotate(engine, KeyEncryptionKeys(new, (old,)), new)
        assert (done.rewrapped, done.already) == (4, 3)
        assert kek_counts(engine) == {new_id: 7}

        only_new = make_engine(database_url, KeyEncryptionKeys(new))
        assert _descriptions(only_new) == descriptions
        only_new.dispose()
        only_old = make_engine(database_url, KeyEncryptionKeys(old))
        with pytest.raises(WrongKey):
            _descriptions(only_old)
        only_old.dispose()
    finally:
        engine.dispose()


def _descriptions(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return list(s.exec(select(Action.description).order_by(Action.id)).all())


def test_keys_rotate_from_the_command_line(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clock: FakeClock,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 0
    engine = make_engine(database_url)
    _action(engine, clock)
    engine.dispose()
    new_file = tmp_path / "new-key"
    assert main(["keys", "new", "--out", str(new_file)]) == 0
    assert new_file.stat().st_mode & 0o777 == 0o600
    assert main(["keys", "rotate", "--new-key-file", str(new_file), "--new-data-key"]) == 0
    out = capsys.readouterr().out
    # The shared key, the index key and the case's own key; then a new generation of the
    # shared key.
    assert "3 re-wrapped now, 0 already were" in out and "data key 4" in out

    monkeypatch.setenv("DATA_KEY", new_file.read_text().strip())
    assert main(["keys", "status"]) == 0
    status = capsys.readouterr().out
    assert "(DATA_KEY): 4 data key(s)" in status and "open all 4" in status
    assert main(["keys", "rotate", "--new-key-file", str(new_file)]) == 0  # resumed: nothing left
    assert "0 re-wrapped now, 4 already were" in capsys.readouterr().out
    engine = make_engine(database_url)
    assert _descriptions(engine) == [SENTINEL]
    engine.dispose()


def test_a_new_key_text_is_a_valid_data_key() -> None:
    assert len(base64.b64decode(new_key_text())) == 32
