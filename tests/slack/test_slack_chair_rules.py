"""Issue 10's chair rules over Slack's wire format: the conference chair told of a disagreement
by DM may then read the group's status (read only) from anywhere in the workspace, and is refused
anything that changes the group."""

from __future__ import annotations

from tests.slack.conftest import POLICE, RunningApp
from tests.slack.fake_slack import shown
from tests.slack.test_slack_journeys import REFERENCE, run, start_group

CHAIR = "U0CONFCH1"


def _typed_by(app: RunningApp, user_id: str, text: str, *, channel_id: str = "C0GENERAL") -> str:
    """What `user_id` is shown (through its own response_url) after `/coregroup <text>`."""
    _, response_url = app.slack.slash_command(text, user_id=user_id, channel_id=channel_id)
    path = "/" + response_url.split("/", 3)[3]

    def answered() -> list[str]:
        return [shown(r.args) for r in app.fake.responses if r.args["url"] == path]

    return app.fake.wait_for(answered)[-1]


def test_the_conference_chair_reads_status_after_a_disagreement_and_changes_nothing(
    slack_app: RunningApp,
) -> None:
    fake = slack_app.fake
    fake.add_user(CHAIR, "Chris Conference")
    channel = start_group(slack_app)
    run(slack_app, f"add <@{POLICE}|pat> police", channel, wait="conversations.open")
    # The group is told in its channel, and Chris by DM.
    run(slack_app, f"conference-chair <@{CHAIR}|chris>", channel, wait="chat.postMessage", count=2)

    # Named, but told of nothing yet: to Chris the group does not exist.
    assert "I can't find a core group matching" in _typed_by(
        slack_app, CHAIR, f"status {REFERENCE}"
    )

    dm_id = "D" + CHAIR[1:]

    def to_chris() -> list[str]:
        return [
            shown(c.args) for c in fake.calls_to("chat.postMessage") if c.args["channel"] == dm_id
        ]

    named = len(to_chris())
    slack_app.slack.slash_command(
        'disagree "The police disagree with stepping down visits"',
        user_id=POLICE,
        channel_id=channel.id,
    )
    told = fake.wait_for(lambda: to_chris()[named:])
    assert "you can now read the group's status and minutes (read only)" in told[-1]
    assert "stepping down visits" in told[-1]

    status = _typed_by(slack_app, CHAIR, f"status {REFERENCE}")
    assert "I can't find" not in status and REFERENCE in status
    for typed in (f"schedule {REFERENCE} 6/1 2pm", f"members {REFERENCE}"):
        refused = _typed_by(slack_app, CHAIR, typed)
        assert "As the conference chair you can read the status and minutes" in refused, typed
    assert CHAIR not in channel.members  # reading rights, not a seat in the private channel
