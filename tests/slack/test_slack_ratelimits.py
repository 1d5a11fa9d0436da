"""Rate limits never lose work: Slack's 429s against the fake Slack, on the app's own clock.

A long Retry-After is never slept through by a worker: the post is kept (a SlackDelivery row) and
sent once Slack allows; other Web API methods carry on meanwhile; the chair is told what is
waiting, not that it went; a channel Slack would not create yet is created later.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.adapters.slack import build_slack_runtime, slack_handlers, slack_routes
from bot.adapters.slack_outbox import POST_METHOD, Pacer, SharedPacer, SlackOutbox
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import Settings
from bot.messages import Message
from storage.models import SlackDelivery
from tests.slack.conftest import KEY_WORKER, PARENT, SCHOOL, RunningApp
from tests.slack.fake_slack import FakeSlack, shown
from tests.slack.signing import SlackClient

REFERENCE = "CP-2026-0142"


def deliveries(engine: Engine) -> list[SlackDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(SlackDelivery).order_by(SlackDelivery.id)).all())


def open_dms(fake: FakeSlack, *users: str) -> None:
    """The people's DMs with the bot exist (they wrote in them)."""
    for user in users:
        fake._api_conversations_open({"users": user})


def post_attempts(fake: FakeSlack, channel: str | None = None) -> list[int]:
    return [
        c.status
        for c in fake.calls
        if c.method == "chat.postMessage" and (channel is None or c.args["channel"] == channel)
    ]


def test_a_long_retry_after_defers_the_post_without_holding_up_other_methods(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    fake, slack, engine = slack_app.fake, slack_app.slack, slack_app.runtime.dispatcher.engine
    open_dms(fake, PARENT, SCHOOL)
    fake.rate_limit("chat.postMessage", retry_after=20)
    slack.dm("hello", user_id=PARENT)
    fake.wait_for(lambda: deliveries(engine))
    assert post_attempts(fake) == [429]  # tried once, then kept: no worker sleeps for 20 s

    # Meanwhile other methods answer at once, and chat.postMessage waits its turn.
    started = time.monotonic()
    slack.slash_command("help", user_id=KEY_WORKER)
    fake.wait_responses(timeout=3)
    slack.event({"type": "app_home_opened", "user": KEY_WORKER, "channel": "D0K", "tab": "home"})
    fake.wait_calls("views.publish", timeout=3)
    assert time.monotonic() - started < 3.0
    slack.dm("hello again", user_id=SCHOOL)
    fake.wait_for(lambda: len(deliveries(engine)) == 2)
    assert post_attempts(fake) == [429]  # still in the Retry-After: not even tried

    assert slack_app.runtime.retry_deferred() == 0  # not due yet on the bot's clock
    clock.advance(timedelta(seconds=21))
    assert slack_app.runtime.retry_deferred() == 2
    posts = fake.calls_to("chat.postMessage")
    assert [p.args["channel"] for p in posts] == ["D" + PARENT[1:], "D" + SCHOOL[1:]]
    assert all(d.done_at is not None for d in deliveries(engine))
    assert slack_app.runtime.retry_deferred() == 0  # once only


def test_a_deferred_post_survives_a_restart(
    engine: Engine,
    clock: FakeClock,
    fake_slack: FakeSlack,
    slack_settings: Settings,
) -> None:
    def start() -> tuple[object, WebServer]:
        runtime = build_slack_runtime(slack_settings, engine, clock, pacer=Pacer(0.0))
        server = WebServer(
            build_web_app(engine, slack_routes(runtime.app)), host="127.0.0.1"
        ).start()
        return runtime, server

    runtime, server = start()
    open_dms(fake_slack, PARENT)
    fake_slack.rate_limit("chat.postMessage", times=2, retry_after=30)
    SlackClient(server.url, fake_slack).dm("hello", user_id=PARENT)
    fake_slack.wait_for(lambda: deliveries(engine))
    server.stop()
    runtime.close()  # type: ignore[attr-defined]

    runtime, server = start()  # a new process knows nothing of the old one's rate limits
    try:
        clock.advance(timedelta(seconds=31))
        assert runtime.retry_deferred() == 0  # type: ignore[attr-defined]
        [kept] = deliveries(engine)
        assert kept.done_at is None and kept.attempts == 1 and kept.last_error == "ratelimited"
        clock.advance(timedelta(seconds=31))
        assert runtime.retry_deferred() == 1  # type: ignore[attr-defined]
    finally:
        server.stop()
        runtime.close()  # type: ignore[attr-defined]
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "D" + PARENT[1:]
    assert "/coregroup help" in shown(post.args)


def test_the_chair_is_told_a_card_waits_for_slack_not_that_it_went(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    fake, slack = slack_app.fake, slack_app.slack
    slack.slash_command(f"new {REFERENCE} icpc 18/12/2026", user_id=KEY_WORKER)
    fake.wait_calls("conversations.setPurpose")
    channel = fake.calls_to("conversations.create")[-1]
    channel_id = next(c.id for c in fake.channels.values() if c.name == channel.args["name"])
    before = len(fake.responses)
    fake.rate_limit("chat.postMessage", times=1, retry_after=20)
    slack.slash_command(f"add <@{SCHOOL}|alex> school", user_id=KEY_WORKER, channel_id=channel_id)
    told = fake.wait_for(
        lambda: [r for r in fake.responses[before:] if "Slack is busy" in shown(r.args)]
    )
    text = shown(told[0].args)
    assert "will be posted when Slack allows" in text
    assert "Not delivered" not in "\n".join(shown(r.args) for r in fake.responses[before:])

    clock.advance(timedelta(seconds=21))
    assert slack_app.runtime.retry_deferred() >= 1
    assert post_attempts(fake, channel_id)[-1] == 200


def test_a_channel_slack_would_not_create_yet_is_created_later(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    fake, slack = slack_app.fake, slack_app.slack
    fake.rate_limit("conversations.create", retry_after=30)
    slack.slash_command(f"new {REFERENCE} icpc 18/12/2026", user_id=KEY_WORKER)
    replies = fake.wait_responses(2)
    told = "\n".join(shown(r.args) for r in replies)
    assert "Core group started" in told
    assert "private channel will be created" in told and "when Slack allows" in told
    assert "check Core Group Bot's permissions" not in told
    assert not [c for c in fake.channels.values() if c.name.startswith("cg-")]

    # Members added meanwhile are invited once the channel exists.
    slack.slash_command(f"add <@{SCHOOL}|alex> school {REFERENCE}", user_id=KEY_WORKER)
    fake.wait_calls("conversations.open")
    clock.advance(timedelta(seconds=31))
    assert slack_app.runtime.retry_deferred() >= 1

    [created] = [c for c in fake.channels.values() if c.name == "cg-cp-2026-0142"]
    assert {KEY_WORKER, SCHOOL} <= created.members
    assert created.topic.startswith(f"Core group for case {REFERENCE}")
    assert slack_app.runtime.dispatcher.group_channel(1) == created.id
    # The group's messages kept for it were posted there, the first one pinned.
    assert created.messages and created.pins == [created.messages[0]["ts"]]


def test_a_post_during_another_posts_short_retry_after_waits_it_out_and_goes(
    engine: Engine, clock: FakeClock, fake_slack: FakeSlack, slack_settings: Settings
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # waiting moves the bot's clock on
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    outbox = slack_handlers(slack_settings, engine, clock, pacer=Pacer(0.0, sleep=sleep)).outbox
    channel = fake_slack.add_channel("cg-cp-2026-0142")
    outbox.limits.note(POST_METHOD, 1.5)  # another sender's post was just told Retry-After: 1.5

    ref = outbox.post(channel.id, Message.plain("Reminder"))

    assert slept == [1.5]  # waited in place, as for its own short Retry-After
    assert ref == f"{channel.id}:{channel.messages[0]['ts']}"
    assert deliveries(engine) == []  # not kept for retry_posts, seconds later


# --- pacing across processes ------------------------------------------------------------------


def test_posts_to_one_channel_from_two_processes_are_a_second_apart(
    engine: Engine, clock: FakeClock, fake_slack: FakeSlack, slack_settings: Settings
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # waiting moves the bot's clock on
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    def process() -> SlackOutbox:
        """What one worker process builds: its own client, outbox and pacer, the same database."""
        pacer = SharedPacer(engine, clock.now, sleep=sleep)
        return slack_handlers(slack_settings, engine, clock, pacer=pacer).outbox

    first, second = process(), process()
    channel = fake_slack.add_channel("cg-cp-2026-0142")
    other = fake_slack.add_channel("cg-cp-2026-0143")

    first.post(channel.id, Message.plain("one"))
    second.post(channel.id, Message.plain("two"))  # another process: it still waits its turn
    second.post(other.id, Message.plain("elsewhere"))  # another channel: no wait
    clock.advance(timedelta(seconds=5))
    first.post(channel.id, Message.plain("later"))  # long after: no wait

    assert slept == [1.0]
    assert [shown(m["blocks"]) for m in channel.messages] == ["one", "two", "later"]
