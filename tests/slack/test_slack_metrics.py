"""`GET /metrics` after a Slack journey, scraped over real HTTP: the counters moved, and nothing
in it names a case, a person, a channel or anything anyone typed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from bot.adapters.metrics import instrument
from bot.adapters.slack import build_slack_runtime, slack_routes
from bot.adapters.slack_outbox import Pacer
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import Settings
from bot.core.context import Locale
from bot.scheduler import ReminderEngine
from storage.enums import Platform
from tests.factories import in_team
from tests.slack.conftest import KEY_WORKER, PEOPLE, SCHOOL, RunningApp
from tests.slack.fake_slack import FakeSlack
from tests.slack.signing import SlackClient
from tests.slack.test_slack_journeys import REFERENCE, button, card_with, run, start_group

OUTCOME = "The children attend school every day"
ACTION = "check attendance daily"
DM_TEXT = "done — rang the school about Tuesday"


@pytest.fixture
def metered_app(
    engine: Engine, clock: FakeClock, fake_slack: FakeSlack, slack_settings: Settings
) -> Iterator[RunningApp]:
    """The Slack app as `coregroup run` serves it: with `/metrics` and the request counter; the
    key worker is in a social-work team, so he may start the group."""
    in_team(engine, clock, platform=Platform.SLACK, user_id=KEY_WORKER, name=PEOPLE[KEY_WORKER])
    runtime = build_slack_runtime(slack_settings, engine, clock, pacer=Pacer(0.0))
    web_app = instrument(build_web_app(engine, slack_routes(runtime.app)), engine, clock.now)
    server = WebServer(web_app, host="127.0.0.1", port=0).start()
    yield RunningApp(runtime, server, SlackClient(server.url, fake_slack), fake_slack)
    server.stop()
    runtime.close()


def scrape(app: RunningApp) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    answer = requests.get(app.server.url + "/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return answer.text, values


def value(
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_the_journey_and_name_no_one(
    metered_app: RunningApp, engine: Engine, clock: FakeClock
) -> None:
    app, fake = metered_app, metered_app.fake
    _, before = scrape(app)

    channel = start_group(app)
    run(app, f"add <@{SCHOOL}|alex> school", channel, wait="conversations.open")
    run(app, f'outcome add "{OUTCOME}"', channel, wait="respond")
    run(app, f'action <@{SCHOOL}|alex> to "{ACTION}" by 15/1/2027', channel, wait="respond")
    card = card_with(app, channel, "action.done")
    done = button(card, "action.done")
    fake.rate_limit("chat.update", times=1, retry_after=0)  # one 429, retried after Retry-After
    answer, _ = app.slack.block_action(
        user_id=SCHOOL,
        action_id=done["action_id"],
        value=done["value"],
        channel_id=channel.id,
        message_ts=card["ts"],
    )
    assert answer.status == 200
    fake.wait_calls("chat.update", 2)
    app.slack.dm(DM_TEXT, user_id=SCHOOL)
    reminders = ReminderEngine(
        engine=engine,
        clock=clock,
        outboxes={Platform.SLACK: app.runtime.outbox},
        locale=Locale(),
    )
    clock.advance(timedelta(days=60))
    sent = reminders.run_until(clock.now())
    assert sent.sent > 0

    text, after = scrape(app)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("coregroup_requests_total", platform="slack", kind="command", status="200") >= 4
    assert moved("coregroup_requests_total", platform="slack", kind="block_actions", status="200")
    assert moved("coregroup_requests_total", platform="slack", kind="message", status="200") == 1
    assert moved("coregroup_ack_seconds_count", platform="slack", kind="command") >= 4
    assert moved("coregroup_reminders_total", outcome="due") >= sent.sent
    assert moved("coregroup_reminders_total", outcome="sent") == sent.sent
    assert moved("coregroup_reminder_tick_seconds_count") >= 1
    assert moved("coregroup_rate_limited_total", platform="slack") == 1
    assert ("coregroup_db_pool_in_use", ()) in after
    assert value(after, "coregroup_outbox_queue_depth") == 0  # everything due was sent

    forbidden = [REFERENCE, REFERENCE.lower(), channel.name, channel.id, OUTCOME, ACTION, DM_TEXT]
    forbidden += ["alex", *PEOPLE, *PEOPLE.values()]
    for word in forbidden:
        assert word.casefold() not in text.casefold(), f"{word!r} is in /metrics"
