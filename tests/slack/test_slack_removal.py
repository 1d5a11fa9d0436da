"""A removal Slack refuses (`restricted_action`): the person can still see the channel, so the
chair is told so plainly and what to do, nothing more is posted there, and the removal is kept
and retried; once Slack lets it through, what was held is posted."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from tests.slack.conftest import KEY_WORKER, SCHOOL, RunningApp
from tests.slack.fake_slack import shown
from tests.slack.test_slack_journeys import button, card_with, run, start_group


def test_a_refused_removal_holds_the_channel_and_is_retried_until_it_works(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    fake = slack_app.fake
    channel = start_group(slack_app)
    run(slack_app, f"add <@{SCHOOL}|alex> school", channel, wait="conversations.open")
    run(slack_app, 'outcome add "The children attend school every day"', channel, wait="respond")
    posted = len(channel.messages)
    fake.fail("conversations.kick", "restricted_action", times=2)

    answered = len(fake.responses)
    slack_app.slack.slash_command(
        f"remove <@{SCHOOL}|alex>", user_id=KEY_WORKER, channel_id=channel.id
    )
    told = "\n".join(shown(r.args) for r in fake.wait_responses(answered + 1)[answered:])
    assert SCHOOL in channel.members
    assert "can still see the channel" in told and "workspace admin can remove them" in told
    assert "messages for the channel are held" in told
    run(
        slack_app,
        f'action <@{KEY_WORKER}|sam> to "visit the family" by 15/1/2027',
        channel,
        wait="respond",
    )
    assert len(channel.messages) == posted  # not the leaving notice, not the action's card
    # The chair is told the card is held (a private reply), not that it was posted.
    fake.wait_for(
        lambda: any("it is held and will be posted" in shown(r.args) for r in fake.responses)
    )

    assert slack_app.runtime.retry_deferred() == 0  # not yet due
    clock.advance(timedelta(seconds=31))
    assert slack_app.runtime.retry_deferred() == 0  # refused again: kept, tried later
    assert SCHOOL in channel.members and len(channel.messages) == posted

    clock.advance(timedelta(minutes=2))
    done = slack_app.runtime.retry_deferred()
    assert done == 3  # the removal, then the two held posts
    assert SCHOOL not in channel.members
    texts = [shown(m) for m in channel.messages[posted:]]
    assert len(texts) == 2 and "has left the core group" in texts[0]
    assert "Visit the family" in texts[1]  # the action card
    assert slack_app.runtime.retry_deferred() == 0  # done once


def test_while_a_removal_is_refused_cards_in_the_channel_are_not_edited(
    slack_app: RunningApp,
) -> None:
    fake, slack = slack_app.fake, slack_app.slack
    channel = start_group(slack_app)
    run(slack_app, f"add <@{SCHOOL}|alex> school", channel, wait="conversations.open")
    run(slack_app, 'outcome add "The children attend school every day"', channel, wait="respond")
    run(
        slack_app,
        f'action <@{KEY_WORKER}|sam> to "visit the family" by 15/1/2027',
        channel,
        wait="respond",
    )
    card = card_with(slack_app, channel, "action.done")
    shown_before = shown(card)
    fake.fail("conversations.kick", "restricted_action", times=5)
    answered = len(fake.responses)
    slack.slash_command(f"remove <@{SCHOOL}|alex>", user_id=KEY_WORKER, channel_id=channel.id)
    # The removal is refused and kept (the chair is told so) before anyone clicks.
    fake.wait_for(
        lambda: any("can still see the channel" in shown(r.args) for r in fake.responses[answered:])
    )
    assert SCHOOL in channel.members  # Alex can still read the channel

    done = button(card, "action.done")
    answered = len(fake.responses)
    slack.block_action(
        user_id=KEY_WORKER,
        action_id=done["action_id"],
        value=done["value"],
        channel_id=channel.id,
        message_ts=card["ts"],
    )
    # Sam is answered privately (before, the channel's card was edited instead); the card Alex
    # can see still shows what it showed.
    fake.wait_for(
        lambda: [
            r
            for r in fake.responses[answered:]
            if r.args.get("response_type") == "ephemeral" and "Done — by Sam" in shown(r.args)
        ]
    )
    edited_here = [c for c in fake.calls_to("chat.update") if c.args["channel"] == channel.id]
    assert edited_here == [] and shown(card) == shown_before
