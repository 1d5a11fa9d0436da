"""Nobody outside a core group learns anything about it: not its members, its plan, nor even
that it exists. Outsiders try every registered command, every button and plain messages naming
a real case; every reply must be exactly what a case that does not exist would get.

Commands, buttons and listeners are read from the registry, so new ones are covered as they land.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core.people import Who
from bot.messages import Button, Choice, Reply
from bot.render.text import render_text
from commands.parse import is_mention, is_reference, tokenize
from storage.enums import Platform, Role
from storage.models import (
    ChatIdentity,
    Meeting,
    Outcome,
    Person,
)
from tests.factories import (
    MEMBERS,
    OUTCOMES,
    build_core_group,
    make_case,
    make_group,
    make_membership,
    make_person,
    make_team,
)
from tests.scenarios.conftest import ChatDriver

REAL = "CP-2025-0917"  # not the reference the help examples use
FAKE = "CP-2025-9999"
# Row ids of the outsider's own group start here, far above the target group's, so a button
# value naming one of the target's rows can never also name one of the outsider's.
OWN_IDS = 5000
MISSING_ID = "4999"

# Commands that would damage the target group if the chair ran their examples while we collect
# buttons; outsiders still try them all.
DESTRUCTIVE = {"close", "remove", "new"}

OUTSIDER_MESSAGES = (
    "done",
    "done — referral sent",
    "skip",
    "yes",
    "need until next Friday",
    "can't, the family moved GP",
    "approve",
    "{ref}",
    "{ref} done",
    "status {ref}",
)


@dataclass
class World:
    """The target group, the outsiders, and everything that must never reach them."""

    target_group_id: int
    target_channel: str
    chair: Who
    outsiders: tuple[Who, ...]
    secrets: tuple[str, ...]
    target_ids: tuple[str, ...]


def _who(session: Session, person: Person) -> Who:
    ident = session.exec(select(ChatIdentity).where(ChatIdentity.person_id == person.id)).one()
    return Who(Platform.LOCAL, ident.user_id, person.display_name)


@pytest.fixture
def world(engine: Engine, clock: FakeClock) -> World:
    """A realistic group for the real case in team A, and three people who must learn nothing."""
    with Session(engine, expire_on_commit=False) as session:
        team_a = make_team(session=session, name="Team A")
        team_b = make_team(session=session, name="Team B")
        data = build_core_group(session=session, clock=clock, reference=REAL)
        data.group.team_id = team_a.id
        data.case.initials = "ZQ"
        data.meetings[-1].venue = "Bramblewood Family Centre"
        manager_a = make_person(
            session=session,
            clock=clock,
            display_name="Tamsin Whitlock",
            user_id="tamsin",
            team_id=team_a.id,
            is_team_manager=True,
        )
        # Outsiders: someone with no group, a member of another group, another team's manager.
        eve = make_person(session=session, clock=clock, display_name="Eve", user_id="eve")
        oscar = make_person(session=session, clock=clock, display_name="Oscar", user_id="oscar")
        mona = make_person(
            session=session,
            clock=clock,
            display_name="Mona",
            user_id="mona",
            team_id=team_b.id,
            is_team_manager=True,
        )
        # Oscar (and so Mona's team) has two groups, so a command that names no case is never
        # quietly taken to be about one of them: it asks which, and changes nothing.
        for n, reference in enumerate(("CP-2026-0777", "CP-2026-0778")):
            own_case = make_case(session=session, clock=clock, reference=reference, id=OWN_IDS + n)
            own = make_group(
                session=session, clock=clock, case=own_case, id=OWN_IDS + n, team_id=team_b.id
            )
            make_membership(
                session=session,
                clock=clock,
                group=own,
                person=oscar,
                role=Role.KEY_WORKER,
                is_chair=True,
                id=OWN_IDS + n,
            )
        session.commit()
        ids = {
            str(row_id)
            for model in (Meeting, Outcome)
            for row_id in session.exec(select(model.id).where(model.group_id == data.group.id))
        }
        ids |= {str(a.id) for a in data.actions} | {str(data.group.id), str(data.case.id)}
        secrets = (
            *[name for name, _, _ in MEMBERS],
            *[name.split()[-1] for name, _, _ in MEMBERS],
            *[agency for _, _, agency in MEMBERS if agency],
            *OUTCOMES,
            *[a.description for a in data.actions],
            "Bramblewood",
            "neglect",
            "ZQ",
            manager_a.display_name,
        )
        assert data.group.id is not None and data.group.channel_id is not None
        return World(
            target_group_id=data.group.id,
            target_channel=data.group.channel_id,
            chair=_who(session, data.chair),
            outsiders=(_who(session, eve), _who(session, oscar), _who(session, mona)),
            secrets=tuple(s for s in secrets if s),
            target_ids=tuple(sorted(ids, key=int)),
        )


# --- helpers ------------------------------------------------------------------------------------


def _show(reply: Reply) -> str:
    """Everything a reply would show or do, as text (buttons unnumbered)."""
    lines = [repr(effect) for effect in reply.effects]
    for out in reply.outbound:
        lines.append(f"[{type(out.to).__name__}] {out.message.text}")
        lines.append(render_text(out.message, lambda _b: 0))
    return "\n".join(lines)


def _mentions(text: str, secret: str) -> bool:
    """Whether `secret` appears as whole words ("Reed", not "agreed") outside the echo of what
    the person typed themselves."""
    shown = "\n".join(
        line for line in text.splitlines() if "You typed:" not in line and not line.startswith(">")
    )
    return re.search(rf"\b{re.escape(secret)}\b", shown, flags=re.IGNORECASE) is not None


def _same_for_fake(real: str, fake: str) -> tuple[str, str]:
    """Both transcripts with their own reference written the same way."""
    return (
        re.sub(re.escape(REAL), "<REF>", real, flags=re.IGNORECASE),
        re.sub(re.escape(FAKE), "<REF>", fake, flags=re.IGNORECASE),
    )


def _assert_tells_nothing(world: World, real: str, fake: str, what: str) -> None:
    assert "went wrong" not in real, f"{what} crashed:\n{real}"
    for secret in world.secrets:
        assert not _mentions(real, secret), f"{what} showed {secret!r}:\n{real}"
    a, b = _same_for_fake(real, fake)
    assert a == b, f"{what} answered differently for a real case:\n{a}\n---\n{b}"


def _command_lines(
    chat: ChatDriver, ref: str, *, with_ref: bool = True
) -> Iterator[tuple[str, str]]:
    """(command name, text after /coregroup): bare and each example, naming `ref` if asked."""
    for name, command in chat.dispatcher.registry.commands.items():
        named = [ref] if with_ref else []
        yield name, " ".join([name, *named])
        if with_ref:
            yield name, f"{ref} {name}"
        for example in command.examples:
            words = tokenize(example.removeprefix("/coregroup").strip())
            # Mentions name a stranger: a workspace user's own name is no secret of the group.
            rest = ["@zed" if is_mention(w) else w for w in words[1:] if not is_reference(w)]
            yield name, " ".join([name, *named, *rest])


def _buttons(reply: Reply) -> list[Button]:
    found = []
    for out in reply.outbound:
        found += out.message.buttons()
        for block in out.message.blocks:
            if isinstance(block, Choice):
                found += [Button(label, block.action, value) for value, label in block.options]
    return found


# --- the tests ----------------------------------------------------------------------------------


def test_outsiders_learn_nothing_from_any_command(chat: ChatDriver, world: World) -> None:
    fake_channel = world.target_channel.replace(REAL.lower(), FAKE.lower())
    # Naming the case from anywhere, and typing in the case's space without naming it.
    ways = (
        (_command_lines(chat, REAL), _command_lines(chat, FAKE), None, None),
        (
            _command_lines(chat, REAL, with_ref=False),
            _command_lines(chat, FAKE, with_ref=False),
            world.target_channel,
            fake_channel,
        ),
    )
    for real_lines, fake_lines, channel, other_channel in ways:
        pairs = [(n, a, b) for (n, a), (_, b) in zip(real_lines, fake_lines, strict=True)]
        for who in world.outsiders:
            for name, real, fake in pairs:
                if name == "new":
                    continue  # an unused reference can be taken: see the next test
                got = _show(chat.dispatcher.command(who, real, channel_id=channel))
                other = _show(chat.dispatcher.command(who, fake, channel_id=other_channel))
                where = f" in {channel}" if channel else ""
                _assert_tells_nothing(world, got, other, f"{who.user_id}: /coregroup {real}{where}")


def test_new_with_a_taken_reference_refuses_without_saying_whose(
    chat: ChatDriver, world: World
) -> None:
    for who in world.outsiders:
        got = _show(chat.dispatcher.command(who, f"new {REAL} icpc 18/11/2026"))
        # The same refusal as anyone outside a team gets for any reference.
        assert "I can't start that core group for you." in got
        assert "ask its chair to add you" in got
        for secret in world.secrets:
            assert not _mentions(got, secret)


def test_outsiders_learn_nothing_from_any_button(chat: ChatDriver, world: World) -> None:
    registry = chat.dispatcher.registry
    # What the chair is shown: real buttons, with the target group's real values.
    shown: set[tuple[str, str]] = set()
    for name, line in _command_lines(chat, REAL):
        if name not in DESTRUCTIVE:
            reply = chat.dispatcher.command(world.chair, line, channel_id=world.target_channel)
            shown |= {(b.action, b.value) for b in _buttons(reply)}
    # Every button action with every id of the target's rows, and the values the chair saw.
    tries = {(action, value) for action in registry.clicks for value in world.target_ids}
    tries |= {(action, value) for action, value in shown if action in registry.clicks}
    assert tries
    # Buttons that ask for text get an answer that reads as a note and as a date.
    answers = (None, "15/1")
    for who in world.outsiders:
        nothing: dict[tuple[str, str, str | None], str] = {}  # replies for ids that don't exist
        for action, value in sorted(tries):
            missing = re.sub(r"\d+", MISSING_ID, value)
            for text in answers:
                key = (action, missing, text)
                if key not in nothing:
                    nothing[key] = _show(chat.dispatcher.click(who, action, missing, text=text))
                got = _show(chat.dispatcher.click(who, action, value, text=text))
                _assert_tells_nothing(
                    world, got, nothing[key], f"{who.user_id}: click {action}={value} ({text})"
                )


def test_outsiders_learn_nothing_from_messages(chat: ChatDriver, world: World) -> None:
    fake_channel = world.target_channel.replace(REAL.lower(), FAKE.lower())
    for who in world.outsiders:
        for template in OUTSIDER_MESSAGES:
            for channel, other_channel, direct in (
                (None, None, True),
                (world.target_channel, fake_channel, False),
            ):
                got = _show(
                    chat.dispatcher.message(
                        who, template.format(ref=REAL), channel_id=channel, direct=direct
                    )
                )
                other = _show(
                    chat.dispatcher.message(
                        who, template.format(ref=FAKE), channel_id=other_channel, direct=direct
                    )
                )
                _assert_tells_nothing(world, got, other, f"{who.user_id}: says {template!r}")


def test_outsider_transcript_in_the_local_chat_names_nobody(chat: ChatDriver, world: World) -> None:
    out = chat(
        f"""
        as eve
        /coregroup status {REAL}
        /coregroup members {REAL}
        /coregroup add {REAL} @eve parent
        in #{world.target_channel}
        /coregroup status
        /coregroup members
        hello
        """
    )
    assert "can't find a core group" in out or "not in any core group" in out
    for secret in world.secrets:
        assert not _mentions(out, secret)
