"""A name Slack would not give at first contact is looked up again later; a message longer than
Slack's 50 blocks is sent as pages wherever it goes, replacements included."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.adapters.slack import Origin
from bot.clock import FakeClock
from bot.messages import InPlace, Message, Reply, Text
from storage.blind_index import name_index
from storage.enums import Platform
from storage.models import ChatIdentity, Person, SlackDelivery
from tests.slack.conftest import KEY_WORKER, PARENT, SCHOOL, RunningApp
from tests.slack.fake_slack import shown


def person_named(app: RunningApp, user_id: str, *handles: str) -> tuple[str, str]:
    """The person's name, and which of `handles` their identity is known by (the handle is
    kept only as its blind index)."""
    with Session(app.runtime.dispatcher.engine) as session:
        ident = session.exec(
            select(ChatIdentity).where(
                ChatIdentity.platform == Platform.SLACK, ChatIdentity.user_id == user_id
            )
        ).one()
        person = session.get(Person, ident.person_id)
        assert person is not None
        conn = session.connection()
        known = [h for h in handles if ident.handle_index == name_index(conn, h)]
        return person.display_name, " ".join(known)


def name_lookups(app: RunningApp) -> list[SlackDelivery]:
    with Session(app.runtime.dispatcher.engine) as session:
        return list(session.exec(select(SlackDelivery).where(SlackDelivery.kind == "name")).all())


def test_a_rate_limited_users_info_at_first_contact_is_looked_up_again(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    fake, slack = slack_app.fake, slack_app.slack
    fake.rate_limit("users.info", retry_after=30)
    slack.slash_command("myupdate", user_id=PARENT, user_name="jo.p")
    fake.wait_responses()
    assert person_named(slack_app, PARENT, "jo.p", "jo") == (
        "jo.p",
        "jo.p",
    )  # the username stands in

    assert slack_app.runtime.retry_deferred() == 0  # not before Slack's Retry-After
    clock.advance(timedelta(seconds=31))
    assert slack_app.runtime.retry_deferred() == 1
    assert person_named(slack_app, PARENT, "jo.p", "jo") == ("Jo Parent", "jo")
    assert slack_app.runtime.retry_deferred() == 0  # done once


def test_a_name_someone_set_meanwhile_is_not_overwritten(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    fake, slack = slack_app.fake, slack_app.slack
    fake.rate_limit("users.info", retry_after=30)
    slack.slash_command("help", user_id=PARENT, user_name="jo.p")
    fake.wait_responses()
    with Session(slack_app.runtime.dispatcher.engine) as session:
        ident = session.exec(select(ChatIdentity).where(ChatIdentity.user_id == PARENT)).one()
        person = session.get(Person, ident.person_id)
        assert person is not None
        person.display_name = "Joanne P"
        session.add(person)
        session.commit()
    clock.advance(timedelta(seconds=31))
    slack_app.runtime.retry_deferred()
    assert person_named(slack_app, PARENT)[0] == "Joanne P"


def long_message(paragraphs: int) -> Message:
    return Message(
        text="CP-2026-0142: your update",
        blocks=tuple(Text(f"Question {n}: answered") for n in range(1, paragraphs + 1)),
    )


def test_a_long_replacement_through_response_url_comes_as_pages(slack_app: RunningApp) -> None:
    fake = slack_app.fake
    url = fake.response_url()
    origin = Origin(
        user_id=PARENT, channel_id="C0GENERAL", response_url=url, message_ts="1.2", ephemeral=True
    )
    slack_app.runtime.handlers.deliver(Reply().say(long_message(66), to=InPlace()), origin)

    pages = fake.wait_responses(2)
    assert pages[0].args.get("replace_original") is True
    assert [len(p.args["blocks"]) for p in pages] == [50, 16]
    text = "\n".join(shown(p.args) for p in pages)
    assert all(f"Question {n}: answered" in text for n in range(1, 67))
    assert "shortened" not in text


def test_a_long_replacement_of_a_channel_message_updates_it_and_posts_the_rest(
    slack_app: RunningApp,
) -> None:
    fake = slack_app.fake
    channel = fake.add_channel("cg-cp-2026-0142")
    posted = fake._api_chat_postMessage({"channel": channel.id, "text": "card"})
    origin = Origin(user_id=PARENT, channel_id=channel.id, message_ts=posted["ts"])
    slack_app.runtime.handlers.deliver(Reply().say(long_message(120), to=InPlace()), origin)

    [update] = fake.calls_to("chat.update")
    assert len(update.args["blocks"]) == 50
    assert [len(m["blocks"]) for m in channel.messages] == [50, 50, 20]
    text = "\n".join(shown(m) for m in channel.messages)
    assert all(f"Question {n}: answered" in text for n in range(1, 121))


def test_someone_mentioned_while_users_info_is_rate_limited_is_added_and_named_later(
    slack_app: RunningApp, clock: FakeClock
) -> None:
    fake, slack = slack_app.fake, slack_app.slack
    slack.slash_command("new CP-2026-0142 icpc 18/12/2026", user_id=KEY_WORKER)
    fake.wait_calls("pins.add")
    before = len(fake.responses)
    fake.rate_limit("users.info", retry_after=30)
    slack.slash_command(f"add <@{SCHOOL}|alex> school CP-2026-0142", user_id=KEY_WORKER)
    replies = fake.wait_responses(before + 1)
    assert "went wrong" not in shown(replies[-1].args)
    assert person_named(slack_app, SCHOOL)[0] == SCHOOL  # the id stands in for now
    fake.wait_for(lambda: name_lookups(slack_app))  # kept once the request's work is done

    clock.advance(timedelta(seconds=31))
    slack_app.runtime.retry_deferred()
    assert person_named(slack_app, SCHOOL, SCHOOL, "alex") == ("Alex School", "alex")
