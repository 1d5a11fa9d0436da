"""Issue 10's safety journey over Teams' wire format: the school lead's disclosure in her 1:1 chat
is asked about, answered in a reply to the question, the chair told; nothing of it reaches the
parent — read from every activity the fake Bot Connector carried to the parent's chats."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import FakeClock
from tests.teams.conftest import PRIYA, SAM, FakeConnector, FakeGraph, TeamsDriver, User, titles
from tests.teams.test_workflow import REF, joined, last_card, only, start_group

LONDON = ZoneInfo("Europe/London")
JO = User("jo", "Jo Parent")
DISCLOSURE = "Mia told her teacher this morning that dad is back living at the house"


def never_shows_the_disclosure(text: str) -> None:
    for words in ("back living", "told her teacher"):
        assert words not in text, f"{words!r} reached the parent:\n{text}"


def quoting(activity_id: str, quoted: str, text: str) -> str:
    """What Teams sends when someone uses Reply on one message: a quote of it, then their words."""
    return (
        f'<blockquote itemscope="" itemtype="http://schema.skype.com/Reply" itemid="{activity_id}">'
        f"<strong>CoreGroup</strong><p>{quoted}</p></blockquote><p>{text}</p>"
    )


def test_a_disclosure_in_a_teams_chat_reaches_the_chair_and_never_the_parent(
    teams: TeamsDriver, connector: FakeConnector, graph: FakeGraph, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=LONDON))
    chat_id = start_group(teams, connector, graph)
    connector.roster[JO.id] = {"id": JO.id, "name": JO.name, "aadObjectId": JO.aad}
    group = {"conversation": chat_id, "kind": "groupChat"}
    teams.say(SAM, f"add {JO.at()} parent", mentions=(JO,), **group)
    teams.say(SAM, 'outcome add "Mia is safe at home and at school"', **group)
    teams.say(
        SAM,
        f'action {PRIYA.at()} to "check attendance every week" by 15/1/2027 outcome 1',
        mentions=(PRIYA,),
        **group,
    )
    teams.say(SAM, 'schedule 6/1/2027 2pm at "Family Centre"', **group)

    clock.set(datetime(2026, 12, 31, 10, 0, tzinfo=LONDON))
    teams.say(SAM, "updates")
    status_question = last_card(connector, PRIYA.dm, "In progress")

    # The school lead's first answer is what worries her: she is asked, not filed.
    sent = teams.say(PRIYA, DISCLOSURE)
    question = last_card(connector, PRIYA.dm, "Yes, tell the chair now")
    assert "Is this a new concern the chair should know now?" in question.text()
    assert "No, it's not new" in titles(question.card())
    assert only(sent, SAM.dm) == []

    # She answers in a reply to the question: the chair is told in his 1:1 chat at once.
    sent = teams.say(PRIYA, "yes", reply_to=question.activity_id)
    told = joined(only(sent, SAM.dm))
    assert "New concern · CP-2026-0142" in told and DISCLOSURE in told
    assert "I've told Sam Okafor now" in joined(only(sent, PRIYA.dm))
    # Her next words quote the update's question (Teams' Reply): they answer it.
    sent = teams.say(PRIYA, quoting(status_question.activity_id, "Is it done?", "in progress"))
    assert "Saved: Action 1" in joined(only(sent, PRIYA.dm))

    # The parent's look at the action shows none of it; the chair's brief lists it. (Both are
    # part-way through their update, so a bare command word would be an answer.)
    parent_view = joined(teams.say(JO, "coregroup action 1"))
    assert "History of action 1" in parent_view
    never_shows_the_disclosure(parent_view)
    brief = joined(teams.say(SAM, "coregroup brief"))
    assert DISCLOSURE in brief.split("New concerns")[1]

    # After the meeting: the draft (to the professionals) has it; the family's copy does not.
    clock.set(datetime(2027, 1, 6, 15, 30, tzinfo=LONDON))
    teams.say(SAM, "held 1")
    teams.say(SAM, "draft")
    draft = last_card(connector, PRIYA.dm, "Approve")
    assert DISCLOSURE in draft.text()
    assert "Approve" not in joined(connector.to(JO.dm))
    teams.click(PRIYA, draft, "Approve")
    teams.say(SAM, "publish")
    copy = joined(only(teams.send_copies(), JO.dm))  # the scheduler's distribution job, once
    assert "This is your copy of the minutes" in copy
    never_shows_the_disclosure(copy)

    # Every activity that reached the parent's chats (her 1:1 and the group chat), as she'd see it.
    hers = [*connector.to(JO.dm), *connector.to(chat_id)]
    assert any("What's going well at home?" in s.text() for s in hers)
    never_shows_the_disclosure("\n".join(s.text() for s in hers))
    assert REF in copy
