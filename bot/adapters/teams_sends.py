"""The durable record of keyed proactive Teams messages (reminders): "sending" before the Bot
Connector call, "sent" with the message's reference after it.

The Bot Connector has no look-up by our key, so this record is the only way a restarted bot can
tell a reminder that went out (and only its ledger mark was lost) from one that may have: the
first is never sent again; the second is, so delivery is at least once, and a duplicate is
possible only for a message whose call was in flight when the bot stopped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.core.ports import DeliveryError
from storage.db import insert_for, session_scope
from storage.models import TeamsSend


def begin(engine: Engine, *, key: str, conversation: str, now: datetime) -> None:
    """Record that the message `key` is about to be posted; DeliveryError if that cannot be
    recorded (then it is not posted either)."""
    insert = insert_for(engine.dialect.name)
    statement = insert(TeamsSend).values(
        key=key, conversation=conversation, started_at=now, sent_at=None, ref=None
    )
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={"conversation": conversation, "started_at": now, "sent_at": None, "ref": None},
    )
    try:
        with session_scope(engine) as session:
            session.connection().execute(statement)
    except SQLAlchemyError as exc:
        raise DeliveryError(f"could not record the send ({type(exc).__name__})") from exc


def finish(engine: Engine, *, key: str, ref: str, now: datetime) -> None:
    """Record that the message `key` was posted, as `ref`."""
    with session_scope(engine) as session:
        record = session.get(TeamsSend, key)
        if record is not None:
            record.ref, record.sent_at = ref, now


def lookup(engine: Engine, key: str) -> TeamsSend | None:
    """The record of the message `key`, if it was ever about to be posted."""
    with Session(engine, expire_on_commit=False) as session:
        return session.get(TeamsSend, key)
