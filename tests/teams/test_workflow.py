"""The workflow end to end over Teams' wire format: signed activities in, Bot Connector and Graph
calls out, every card checked against the Adaptive Cards 1.5 schema (by the connector fixture)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from storage.enums import ActionStatus, MinutesStatus, Platform
from storage.models import Action, ChatIdentity, CoreGroup, Minutes, UpdateAnswer
from tests.teams.conftest import (
    ALEX,
    GENERAL,
    PRIYA,
    SAM,
    FakeConnector,
    FakeGraph,
    Sent,
    TeamsDriver,
    titles,
)

LONDON = ZoneInfo("Europe/London")
REF = "CP-2026-0142"


def joined(sent: list[Sent]) -> str:
    return "\n".join(s.text() for s in sent)


def only(sent: list[Sent], conversation: str) -> list[Sent]:
    return [s for s in sent if s.conversation == conversation]


def last_card(connector: FakeConnector, conversation: str, button: str) -> Sent:
    """The most recent card in a conversation that has the button `button`."""
    for sent in reversed(connector.to(conversation)):
        if button in titles(sent.card()):
            return sent
    raise AssertionError(f"no card with {button!r} in {conversation}")


def start_group(teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph) -> str:
    """Sam starts the group from a team channel and adds Priya; returns the group chat's id."""
    connector.roster[PRIYA.id] = {"id": PRIYA.id, "name": PRIYA.name, "aadObjectId": PRIYA.aad}
    teams.say(SAM, f"new {REF} icpc 18/12/2026", conversation=GENERAL, kind="channel")
    teams.say(
        SAM,
        f'add {REF} {PRIYA.at()} school agency "Oak Primary"',
        conversation=GENERAL,
        kind="channel",
        mentions=(PRIYA,),
    )
    (chat_id,) = graph.chats
    return chat_id


def test_journey_on_teams_from_new_group_to_published_minutes(
    teams: TeamsDriver,
    connector: FakeConnector,
    graph: FakeGraph,
    engine: Engine,
    clock: FakeClock,
) -> None:
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=LONDON))

    # Journey 1: the key worker starts the group in a team channel. The answer is private: it
    # goes to Sam's 1:1 chat with the bot, never to the channel.
    sent = teams.say(SAM, f"new {REF} icpc 18/12/2026", conversation=GENERAL, kind="channel")
    assert [o["members"] for o in connector.opened] == [[{"id": SAM.id}]]
    assert only(sent, GENERAL) == []
    started = joined(only(sent, SAM.dm))
    assert f"Core group started for {REF}" in started
    assert "Wed 6 Jan 2027" in started
    assert "Schedule the first meeting" in titles(only(sent, SAM.dm)[0].card())
    assert graph.chats == {}  # a group chat needs two people: it starts with the first member

    # Adding Priya (mentioned; Teams' roster gives her Entra id) creates the group chat, named
    # from the case reference, installs the app there and posts the welcome that was held back.
    connector.roster[PRIYA.id] = {"id": PRIYA.id, "name": PRIYA.name, "aadObjectId": PRIYA.aad}
    sent = teams.say(
        SAM,
        f'add {REF} {PRIYA.at()} school agency "Oak Primary"',
        conversation=GENERAL,
        kind="channel",
        mentions=(PRIYA,),
    )
    ((chat_id, chat),) = graph.chats.items()
    assert chat == {"topic": "cg-cp-2026-0142", "members": [SAM.aad, PRIYA.aad]}
    assert graph.installed == [(chat_id, graph.catalog_id)]
    in_chat = joined(only(sent, chat_id))
    assert f"This is the private space for the core group for {REF}" in in_chat
    assert "Priya Shah" in in_chat
    with Session(engine) as s:
        group = s.exec(select(CoreGroup)).one()
        assert (group.channel_id, group.channel_name, group.platform) == (
            chat_id,
            "cg-cp-2026-0142",
            Platform.TEAMS,
        )

    # In the group chat: the plan, an action for Priya (her card comes to her 1:1), a meeting.
    teams.say(
        SAM, 'outcome add "Mia attends school every day"', conversation=chat_id, kind="groupChat"
    )
    sent = teams.say(
        SAM,
        f'action {PRIYA.at()} to "make a referral to the school nurse" by 15/1/2027 outcome 1',
        conversation=chat_id,
        kind="groupChat",
        mentions=(PRIYA,),
    )
    assert "Make a referral to the school nurse" in joined(only(sent, PRIYA.dm))
    sent = teams.say(
        SAM, 'schedule 6/1/2027 2pm at "Family Centre"', conversation=chat_id, kind="groupChat"
    )
    assert "Wed 6 Jan 2027, 14:00" in joined(only(sent, chat_id))
    assert all(s.conversation in (chat_id, SAM.dm) for s in sent)

    # Journey 3: Priya clicks "Done" on her action card: that card and its copy in the group
    # chat are both updated in place, so no live buttons are left anywhere.
    card = last_card(connector, PRIYA.dm, "Done")
    group_copy = last_card(connector, chat_id, "Done")
    sent = teams.click(PRIYA, card, "Done")
    updates = [s for s in sent if s.method == "PUT"]
    assert [(u.conversation, u.activity_id) for u in updates] == [
        (PRIYA.dm, card.activity_id),
        (chat_id, group_copy.activity_id),
    ]
    for update in updates:
        assert "Status: Done — by Priya Shah" in update.text()
        assert "Done" not in titles(update.card())
    # The stale copy, clicked again before it refreshed on someone's screen, changes nothing.
    again = teams.click(PRIYA, group_copy, "Done", kind="groupChat")
    assert "nothing changed" in joined(again).lower()
    with Session(engine) as s:
        assert s.exec(select(Action)).one().status == ActionStatus.DONE

    # Journey 2: the chair asks for updates; Priya answers in her 1:1 chat in words.
    clock.set(datetime(2026, 12, 31, 10, 0, tzinfo=LONDON))
    sent = teams.say(SAM, "updates")
    asked = joined(only(sent, PRIYA.dm))
    assert "update" in asked.lower()
    sent = teams.say(PRIYA, "Actions are on track and Mia is settled")  # not the `actions` command
    assert only(sent, PRIYA.dm)
    with Session(engine) as s:
        answers = s.exec(select(UpdateAnswer)).all()
        assert any(a.answer == "Actions are on track and Mia is settled" for a in answers)

    # Journey 4: after the meeting the chair drafts the minutes (no family in this group, so the
    # draft goes to the group chat); Priya approves there with one click; the chair publishes
    # and every member gets a copy in their 1:1 chat.
    clock.set(datetime(2027, 1, 6, 16, 30, tzinfo=LONDON))
    sent = teams.say(SAM, "draft")
    draft = last_card(connector, chat_id, "Approve")
    assert f"Draft minutes — {REF}, meeting 1 (version 1)" in draft.text()
    sent = teams.click(PRIYA, draft, "Approve", kind="groupChat")
    assert "They can now be published" in joined(sent)
    sent = teams.say(SAM, "publish")
    assert "Each of the 2 members gets their own copy" in joined(only(sent, SAM.dm))
    sent = teams.send_copies()
    for person in (SAM, PRIYA):
        copy = joined(only(sent, person.dm))
        assert f"Minutes — {REF}" in copy, person.name
        # No PUBLIC_URL here: the card says why the file can't be downloaded, and who to ask.
        assert "Teams downloads need PUBLIC_URL" in copy, person.name
    assert "Every member has their copy (2 of 2)" in joined(only(sent, SAM.dm))
    with Session(engine) as s:
        assert s.exec(select(Minutes)).one().status == MinutesStatus.PUBLISHED
        refs = {i.user_id: i.conversation_ref for i in s.exec(select(ChatIdentity)).all()}
    # Both 1:1 chats are remembered for proactive messages (reminders, update questions).
    assert refs[PRIYA.id]["conversation"]["id"] == PRIYA.dm
    assert refs[SAM.id]["serviceUrl"] == connector.service_url


def test_a_typed_mention_stays_text_and_pings_nobody(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph
) -> None:
    chat_id = start_group(teams, connector, graph)
    # Teams sends what a person typed HTML-escaped: a typed "<at>" is not a mention entity.
    sent = teams.say(
        SAM,
        'outcome add "&lt;at&gt;everyone&lt;/at&gt; **urgent** see '
        '[this](https://evil.example) now"',
        conversation=chat_id,
        kind="groupChat",
    )
    blocks = [
        node["text"] for s in sent for node in _text_blocks(s.card()) if "urgent" in node["text"]
    ]
    assert blocks, joined(sent)
    for text in blocks:
        assert "**" not in text.replace("\\*", "")
        assert "](" not in text.replace("\\]", "")
        assert "https://evil" not in text  # a word joiner stops auto-linking
    assert "<at>everyone</at> **urgent** see [this](https://evil.example) now" in joined(sent)


def _text_blocks(node: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            found.append(node)
        for value in node.values():
            found += _text_blocks(value)
    elif isinstance(node, list):
        for item in node:
            found += _text_blocks(item)
    return found


def test_a_member_teams_has_not_introduced_is_named_to_the_chair(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph
) -> None:
    chat_id = start_group(teams, connector, graph)
    sent = teams.say(
        SAM, f"add {ALEX.at()} hv", conversation=chat_id, kind="groupChat", mentions=(ALEX,)
    )
    note = joined(only(sent, SAM.dm))
    assert "I couldn't add Alex Kerr to the group's Teams space" in note
    assert graph.chats[chat_id]["members"] == [SAM.aad, PRIYA.aad]
    # Once Alex has talked to the bot, adding works.
    teams.say(ALEX, "hello")
    teams.say(SAM, f"remove {ALEX.at()}", conversation=chat_id, kind="groupChat", mentions=(ALEX,))
    teams.say(SAM, f"add {ALEX.at()} hv", conversation=chat_id, kind="groupChat", mentions=(ALEX,))
    assert graph.chats[chat_id]["members"] == [SAM.aad, PRIYA.aad, ALEX.aad]


def test_removing_a_member_takes_them_out_of_the_chat_and_closing_renames_it(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph
) -> None:
    chat_id = start_group(teams, connector, graph)
    teams.say(
        SAM, f"remove {PRIYA.at()}", conversation=chat_id, kind="groupChat", mentions=(PRIYA,)
    )
    assert graph.chats[chat_id]["members"] == [SAM.aad]
    sent = teams.say(SAM, "close the plan ended", conversation=chat_id, kind="groupChat")
    confirm = last_card(connector, SAM.dm, titles(only(sent, SAM.dm)[-1].card())[0])
    teams.click(SAM, confirm, titles(confirm.card())[0])
    assert graph.chats[chat_id]["topic"] == "cg-cp-2026-0142 (closed)"
