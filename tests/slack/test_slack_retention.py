"""Retention over Slack's wire, on a frozen clock: the daily job deletes (chat.delete) the bot's
messages of a group closed longer than the retention period, and its leavers' DMs, then archives
its channel; an open group's messages, and a member's who stays, are left alone; a refusal is
retried on the next day's run."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.config import Settings
from bot.housekeeping import run_housekeeping
from storage.enums import Platform
from storage.models import AuditEntry, SentMessage
from tests.slack.conftest import KEY_WORKER, PARENT, SCHOOL, RunningApp
from tests.slack.fake_slack import BOT_USER_ID, Channel

# The groups are closed on the test clock's first day, Mon 23 Nov 2026; six months on:
A_DAY_BEFORE = datetime(2027, 5, 22, 9, 0, tzinfo=UTC)


def start(app: RunningApp, reference: str) -> Channel:
    """The key worker starts a group; returns its channel once its summary is pinned."""
    pins = len(app.fake.calls_to("pins.add"))
    app.slack.slash_command(f"new {reference} icpc 18/12/2026", user_id=KEY_WORKER)
    app.fake.wait_calls("pins.add", pins + 1)
    created = app.fake.calls_to("conversations.create")[-1]
    return next(c for c in app.fake.channels.values() if c.name == created.args["name"])


def run(app: RunningApp, text: str, channel: Channel, *, wait: str) -> None:
    """A slash command in `channel`, waiting for one more call to `wait`."""
    already = len(app.fake.calls_to(wait))
    app.slack.slash_command(text, user_id=KEY_WORKER, channel_id=channel.id)
    app.fake.wait_calls(wait, already + 1)


def bots(channel: Channel) -> list[str]:
    """The timestamps of the bot's messages in the channel."""
    return [m["ts"] for m in channel.messages if m.get("user") == BOT_USER_ID]


@pytest.fixture
def daily(slack_settings: Settings, tmp_path: Path) -> Settings:
    return slack_settings.model_copy(
        update={"audit_key": base64.b64encode(b"k" * 32).decode(), "documents_dir": tmp_path}
    )


def test_the_daily_job_deletes_exactly_the_closed_groups_messages_then_archives_its_channel(
    slack_app: RunningApp, engine: Engine, clock: FakeClock, daily: Settings
) -> None:
    fake, outbox = slack_app.fake, slack_app.runtime.outbox
    closed = start(slack_app, "CP-2026-0142")
    run(slack_app, f"add <@{PARENT}|jo> parent", closed, wait="conversations.open")
    run(slack_app, f"add <@{SCHOOL}|alex> school", closed, wait="conversations.open")
    run(slack_app, "close confirm plan ended", closed, wait="conversations.setTopic")
    still_open = start(slack_app, "CP-2026-0143")
    # The school contact stays a member of the open group: their DMs are kept.
    run(slack_app, f"add <@{SCHOOL}|alex> school", still_open, wait="conversations.invite")
    slack_app.runtime.work.close()  # let the work in hand finish before the job runs
    parent_dm, school_dm = fake.channels["D" + PARENT[1:]], fake.channels["D" + SCHOOL[1:]]
    others = [c for c in fake.channels.values() if c.id not in (closed.id, parent_dm.id)]
    kept = {c.id: bots(c) for c in others}
    assert bots(closed) and bots(parent_dm) and bots(still_open)

    # A day before the period ends: nothing goes.
    clock.set(A_DAY_BEFORE)
    run_housekeeping(engine=engine, clock=clock, settings=daily, erasers={Platform.SLACK: outbox})
    assert fake.calls_to("chat.delete") == [] and not closed.archived

    # Slack refuses one deletion the first time: it is tried again on the next day's run.
    fake.fail("chat.delete", "internal_error")
    clock.set(clock.now() + timedelta(days=2))
    run_housekeeping(engine=engine, clock=clock, settings=daily, erasers={Platform.SLACK: outbox})
    assert len(bots(closed)) + len(bots(parent_dm)) == 1 and not closed.archived

    clock.set(clock.now() + timedelta(days=1))
    run_housekeeping(engine=engine, clock=clock, settings=daily, erasers={Platform.SLACK: outbox})
    assert bots(closed) == [] and bots(parent_dm) == []
    assert closed.archived and not still_open.archived
    assert {c.id: bots(c) for c in others} == kept and bots(school_dm)
    deleted = fake.calls_to("chat.delete")
    assert {c.args["channel"] for c in deleted} == {closed.id, parent_dm.id}
    with Session(engine) as s:
        details = [
            a.detail
            for a in s.exec(select(AuditEntry).where(AuditEntry.what == "retention:erased"))
        ]
        left = s.exec(select(SentMessage).where(SentMessage.erased_at == None)).all()  # noqa: E711
    assert "kind=chat_space archived" in details
    # Audited by kind and count only: every delete but the refused one.
    chat = [d for d in details if d.startswith("kind=chat_messages ")]
    assert sum(int(d.split()[1].removeprefix("deleted=")) for d in chat) == len(deleted) - 1
    assert {row.place for row in left} <= set(kept)

    # Nothing more goes on later runs.
    calls = len(fake.calls_to("chat.delete"))
    clock.set(clock.now() + timedelta(days=1))
    run_housekeeping(engine=engine, clock=clock, settings=daily, erasers={Platform.SLACK: outbox})
    assert len(fake.calls_to("chat.delete")) == calls


def test_a_long_rate_limit_stops_the_run_without_counting_a_try(
    slack_app: RunningApp, engine: Engine, clock: FakeClock, daily: Settings
) -> None:
    fake, outbox = slack_app.fake, slack_app.runtime.outbox
    closed = start(slack_app, "CP-2026-0142")
    run(slack_app, "close confirm plan ended", closed, wait="conversations.setTopic")
    slack_app.runtime.work.close()
    posted = bots(closed)
    fake.rate_limit("chat.delete", times=3, retry_after=30)  # far longer than is waited in place

    clock.set(A_DAY_BEFORE + timedelta(days=2))
    run_housekeeping(engine=engine, clock=clock, settings=daily, erasers={Platform.SLACK: outbox})
    assert bots(closed) == posted and not closed.archived
    with Session(engine) as s:
        assert {row.attempts for row in s.exec(select(SentMessage))} == {0}

    fake.rate_limit("chat.delete", times=0)  # a day later, Slack's Retry-After is long past
    clock.set(A_DAY_BEFORE + timedelta(days=3))
    run_housekeeping(engine=engine, clock=clock, settings=daily, erasers={Platform.SLACK: outbox})
    assert bots(closed) == [] and closed.archived
