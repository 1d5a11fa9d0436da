"""Issue 10's safety journey over Slack's wire format: the school lead's disclosure in her DM is
asked about, the chair is told, and nothing of it reaches the parent — read from every message
the fake Slack holds for the parent (her DM, the group's channel, her private replies)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import FakeClock
from bot.distribution import Distributor
from storage.enums import Platform
from tests.slack.conftest import KEY_WORKER, PARENT, SCHOOL, RunningApp
from tests.slack.fake_slack import Channel, shown
from tests.slack.test_slack_journeys import REFERENCE, button, run, start_group

LONDON = ZoneInfo("Europe/London")
DISCLOSURE = "Mia told her teacher this morning that dad is back living at the house"


def dm(app: RunningApp, user_id: str) -> Channel:
    return app.fake.wait_for(lambda: app.fake.channels.get("D" + user_id[1:]))


def posted(app: RunningApp, user_id: str, words: str, after: int = 0) -> dict[str, Any]:
    """The first message in `user_id`'s DM after the first `after` that shows `words`."""

    def find() -> dict[str, Any] | None:
        messages = dm(app, user_id).messages[after:]
        return next((m for m in messages if words in shown(m)), None)

    return app.fake.wait_for(find)


def send_copies(app: RunningApp, clock: FakeClock) -> None:
    """Send the copies a publish queued, as the scheduler's distribution job does."""
    Distributor(
        engine=app.runtime.dispatcher.engine,
        clock=clock,
        outboxes={Platform.SLACK: app.runtime.outbox},
        locale=app.runtime.dispatcher.locale,
    ).run_pending()


def answered(app: RunningApp, url: str, words: str) -> str:
    """The private replies to one slash command, once one of them shows `words`."""

    def find() -> str | None:
        mine = [r for r in app.fake.responses if url.endswith(r.args["url"])]
        text = "\n".join(shown(r.args) for r in mine)
        return text if words in text else None

    return app.fake.wait_for(find)


def command(app: RunningApp, text: str, user_id: str, channel: Channel, words: str) -> str:
    _, url = app.slack.slash_command(text, user_id=user_id, channel_id=channel.id)
    return answered(app, url, words)


def private_replies(app: RunningApp, url: str) -> str:
    """Everything the private replies to one slash command showed."""
    return "\n".join(shown(r.args) for r in app.fake.responses if url.endswith(r.args["url"]))


def never_shows_the_disclosure(text: str) -> None:
    for words in ("back living", "told her teacher"):
        assert words not in text, f"{words!r} reached the parent:\n{text}"


def test_a_disclosure_in_a_slack_dm_reaches_the_chair_and_never_the_parent(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    slack = slack_app.slack
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=LONDON))
    channel = start_group(slack_app)
    run(slack_app, f"add <@{PARENT}|jo> parent", channel, wait="conversations.open")
    run(slack_app, f"add <@{SCHOOL}|alex> school", channel, wait="conversations.open")
    run(slack_app, 'outcome add "Mia is safe at home and at school"', channel, wait="respond")
    run(
        slack_app,
        f'action <@{SCHOOL}|alex> to "check attendance every week" by 15/1/2027',
        channel,
        wait="respond",
    )
    run(slack_app, 'schedule 6/1/2027 2pm at "Family Centre"', channel, wait="respond")

    clock.set(datetime(2026, 12, 31, 10, 0, tzinfo=LONDON))
    run(slack_app, "updates", channel, wait="respond")
    posted(slack_app, SCHOOL, "Is it done, in progress or stuck?")

    # The school lead answers her action's question with what worries her.
    seen = len(dm(slack_app, SCHOOL).messages)
    slack.dm(DISCLOSURE, user_id=SCHOOL)
    question = posted(slack_app, SCHOOL, "Is this a new concern the chair should know now?", seen)
    assert button(question, "concern.yes") and button(question, "concern.no")

    # Her "yes" in the question's thread answers it: the chair is told in a DM at once.
    chair_seen = len(dm(slack_app, KEY_WORKER).messages)
    slack.dm("yes", user_id=SCHOOL, thread_ts=question["ts"])
    told = posted(slack_app, KEY_WORKER, "New concern", chair_seen)
    assert DISCLOSURE in shown(told) and f"New concern · {REFERENCE}" in shown(told)
    posted(slack_app, SCHOOL, "I've told Sam Okafor now", seen)
    slack.dm("in progress", user_id=SCHOOL)
    posted(slack_app, SCHOOL, "What is working well for the child and family?", seen)

    # The parent's own look at the action shows none of it; the chair's brief lists it.
    _, parents_command = slack.slash_command("action 1", user_id=PARENT, channel_id=channel.id)
    never_shows_the_disclosure(answered(slack_app, parents_command, "History of action 1"))
    brief = command(slack_app, "brief", KEY_WORKER, channel, "New concerns")
    assert DISCLOSURE in brief.split("New concerns")[1]

    # After the meeting: the draft has it; the family's copy does not.
    clock.set(datetime(2027, 1, 6, 15, 30, tzinfo=LONDON))
    command(slack_app, "held 1", KEY_WORKER, channel, "recorded as held")
    seen = len(dm(slack_app, SCHOOL).messages)
    command(slack_app, "draft", KEY_WORKER, channel, "Version 1 of the minutes")
    draft = posted(slack_app, SCHOOL, "Draft minutes", seen)
    assert DISCLOSURE in shown(draft)
    approve = button(draft, "minutes.approve")
    slack.block_action(
        user_id=SCHOOL,
        action_id=approve["action_id"],
        value=approve["value"],
        channel_id="D" + SCHOOL[1:],
        message_ts=draft["ts"],
    )
    posted(slack_app, KEY_WORKER, "They're ready to publish")
    command(slack_app, "publish", KEY_WORKER, channel, "Published version 1")
    send_copies(slack_app, clock)  # the scheduler's distribution job, run once
    copy = posted(slack_app, PARENT, "This is your copy of the minutes")
    never_shows_the_disclosure(shown(copy))

    # Everything the parent can see in Slack, read as she would: her DM, the group's channel
    # and the private replies to what she typed.
    hers = [*dm(slack_app, PARENT).messages, *channel.messages]
    assert len(hers) > 3 and any("What's going well at home?" in shown(m) for m in hers)
    never_shows_the_disclosure("\n".join(shown(m) for m in hers))
    never_shows_the_disclosure(private_replies(slack_app, parents_command))
