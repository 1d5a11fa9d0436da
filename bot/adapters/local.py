"""The built-in local chat: lines in, a plain-text transcript out; no account needed.

Syntax (one per line): `as <name>` to become someone, `in #<space>` / `in dm` to choose where you
type, `/coregroup …` to run a command, `click <n>` to press button n, `reply <n> <words>` to answer
message n (the messages that take a reply are numbered), `clock +3d` / `clock +2h` /
`clock 2027-01-15 09:00` to move the simulated clock (due reminders then fire), `whoami`, `help`,
`quit`. Anything else is an ordinary message (answers to prompts, replies to reminders). These
stay commands even while a button's question waits for its answer.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.clock import FakeClock
from bot.core.people import Who
from bot.messages import (
    AddToSpace,
    ArchiveSpace,
    Attachment,
    Button,
    CreateSpace,
    Effect,
    InPlace,
    Message,
    Outbound,
    RemoveFromSpace,
    Reply,
    ToActor,
    ToGroup,
    ToPerson,
)
from bot.render.text import render_text
from commands.dispatch import Dispatcher
from storage.enums import Platform

LOCAL_HELP = """Local chat commands:
  as <name>             become <name> (e.g. `as sam`)
  in #<space> | in dm   type in a group's space, or in your direct messages with the bot
  /coregroup <command>  run a command (`/coregroup help` lists them)
  click <n>             press button [n]
  reply <n> <words>     answer message n (the messages that take a reply say their number)
  clock +3d | +2h | +30m | +1w | 2027-01-15 09:00   move the simulated clock
  whoami                who and where you are
  quit                  leave
Anything else is sent as a message (answers to questions, replies to reminders)."""

_STEP = re.compile(r"^\+(\d+)([mhdw])$")
_REPLY = re.compile(r"^(\d+)\s+(.+)$", re.DOTALL)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class LocalDirectory:
    """Everyone is known by a one-word name; meeting a new name makes a new person."""

    def describe(self, user_id: str) -> Who | None:
        """A local person for any one-word name."""
        name = user_id.strip().lstrip("@")
        if not re.fullmatch(r"[A-Za-z][\w.-]{0,39}", name):
            return None
        return Who(Platform.LOCAL, name.lower(), name[0].upper() + name[1:])


def _names_a_place(text: str) -> bool:
    """Whether `in …` moves somewhere; otherwise it is a message ("in progress, booked")."""
    place = text.strip().lower()
    return place in ("dm", "direct", "messages") or place.startswith("#")


def _is_command(text: str) -> bool:
    """Whether a line is one of the chat's own commands (even while a button's question waits):
    `as <name>`, `in #space`, `clock …`, `/coregroup …`, `click <n>`, `reply <n> …`, `whoami`,
    `help`, `quit`. "In progress, booked" or "as agreed with mum" stay answers."""
    word, _, rest = text.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if text.lower().startswith("/coregroup"):
        return True
    if word in ("whoami", "help", "quit", "exit"):
        return not rest
    match word:
        case "as":
            return bool(rest) and " " not in rest
        case "in":
            return _names_a_place(rest)
        case "clock":
            return bool(_STEP.match(rest)) or bool(re.match(r"^\d{4}-\d{2}-\d{2}", rest))
        case "click":
            return rest.isdigit()
        case "reply":
            return bool(_REPLY.match(rest))
    return False


@dataclass
class _Shown:
    button: Button
    channel: str | None


class LocalChat:
    """A console adapter over the neutral core; also the Outbox for proactive messages."""

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        clock: FakeClock,
        out: TextIO,
        echo: bool = True,
        on_clock: Callable[[], None] | None = None,
        files_dir: Path | None = None,
        after_reply: Callable[[], None] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.clock = clock
        self.out = out
        self.echo = echo
        self.on_clock = on_clock
        self.files_dir = files_dir  # where files sent in the chat are saved
        self.after_reply = after_reply  # e.g. send the copies a publish queued
        self.user: Who | None = None
        self.where: str | None = None  # None = direct messages with the bot
        self._buttons: dict[int, _Shown] = {}
        self._asking: _Shown | None = None
        self._sent: dict[str, str] = {}
        self._count = 0
        self._refs = itertools.count(1)
        self._replies = itertools.count(1)  # numbers of the messages that take a reply
        self._replyable: set[int] = set()
        self._sending = threading.Lock()

    # Input --------------------------------------------------------------------------------

    def run(self, lines: Iterable[str]) -> None:
        """Feed every line until input ends or `quit`."""
        for line in lines:
            if not self.feed(line.rstrip("\n")):
                break

    def feed(self, line: str) -> bool:
        """Handle one line; False means quit."""
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        if self.echo:
            self._print(f"> {text}")
        if self._asking is not None:
            if not _is_command(text):
                self._answer(text)
                return True
            self._print("(the button's question was left unanswered; nothing was changed)")
            self._asking = None
        word, _, rest = text.partition(" ")
        match word.lower():
            case "quit" | "exit":
                return False
            case "help":
                self._print(LOCAL_HELP)
            case "as":
                self._become(rest.strip())
            case "in" if _names_a_place(rest):
                self._move_to(rest.strip())
            case "whoami":
                self._whoami()
            case "click":
                self._click(rest.strip())
            case "reply" if _REPLY.match(rest.strip()):
                self._reply(rest.strip())
            case "clock":
                self._clock(rest.strip())
            case _:
                self._say(text)
        return True

    def _become(self, name: str) -> None:
        who = LocalDirectory().describe(name)
        if who is None:
            self._print("(Say who you are with one word, e.g. `as sam`.)")
            return
        self.user, self.where = who, None
        self._print(f"(you are now {who.display_name}, in your direct messages with the bot)")

    def _move_to(self, place: str) -> None:
        if place.lower() in ("dm", "direct", "messages"):
            self.where = None
            self._print("(you are in your direct messages with the bot)")
        elif place.startswith("#") and len(place) > 1:
            self.where = place[1:]
            self._print(f"(you are in #{self.where})")
        else:
            self._print("(Say where: `in #cg-cp-2026-0142` or `in dm`.)")

    def _whoami(self) -> None:
        if self.user is None:
            self._print("(nobody yet: start with `as <name>`)")
            return
        place = f"#{self.where}" if self.where else "direct messages"
        self._print(f"(you are {self.user.display_name}, in {place}; it is {self._now_text()})")

    def _require_user(self) -> Who | None:
        if self.user is None:
            self._print("(First say who you are, e.g. `as sam`.)")
        return self.user

    def _say(self, text: str) -> None:
        user = self._require_user()
        if user is None:
            return
        if text.lower().startswith("/coregroup"):
            args = text[len("/coregroup") :].strip()
            self._deliver(self.dispatcher.command(user, args, channel_id=self.where))
        elif text.startswith("/"):
            self._print("(The only slash command is /coregroup; try `/coregroup help`.)")
        else:
            reply = self.dispatcher.message(
                user, text, channel_id=self.where, direct=self.where is None
            )
            self._deliver(reply)

    def _reply(self, arg: str) -> None:
        user = self._require_user()
        found = _REPLY.match(arg)
        if user is None or found is None:
            return
        number, text = int(found.group(1)), found.group(2).strip()
        if number not in self._replyable:
            self._print(
                "(Say which message by its number, e.g. `reply 2 done`; the messages that take "
                "a reply show theirs.)"
            )
            return
        reply = self.dispatcher.message(
            user,
            text,
            channel_id=self.where,
            direct=self.where is None,
            answering=f"local-reply-{number}",
        )
        self._deliver(reply)

    def _click(self, arg: str) -> None:
        user = self._require_user()
        if user is None:
            return
        if not arg.isdigit() or int(arg) not in self._buttons:
            self._print("(Say which button by its number, e.g. `click 2`.)")
            return
        shown = self._buttons[int(arg)]
        if shown.button.ask:
            self._asking = shown
            self._print(f"? {shown.button.ask} (type your answer, or `cancel`)")
            return
        self._press(user, shown, None)

    def _answer(self, text: str) -> None:
        shown, self._asking = self._asking, None
        assert shown is not None
        if text.lower() == "cancel":
            self._print("(cancelled; nothing was changed)")
            return
        user = self._require_user()
        if user is not None:
            self._press(user, shown, text)

    def _press(self, user: Who, shown: _Shown, text: str | None) -> None:
        b = shown.button
        reply = self.dispatcher.click(user, b.action, b.value, text=text, channel_id=shown.channel)
        self._deliver(reply)

    def _clock(self, arg: str) -> None:
        step = _STEP.match(arg)
        if step:
            self.clock.advance(timedelta(**{_UNITS[step.group(2)]: int(step.group(1))}))
        else:
            try:
                when = datetime.fromisoformat(arg)
            except ValueError:
                self._print(
                    "(Move the clock with `clock +3d`, `clock +2h` or `clock 2027-01-15 09:00`.)"
                )
                return
            if when.tzinfo is None:
                when = when.replace(tzinfo=self.dispatcher.locale.tz)
            self.clock.set(when)
        self._print(f"(clock: {self._now_text()})")
        if self.on_clock is not None:
            self.on_clock()

    def forget_buttons(self) -> None:
        """Start numbering buttons from 1 again (after setup output nobody saw)."""
        self._buttons.clear()
        self._count = 0

    # Output -------------------------------------------------------------------------------

    def _deliver(self, reply: Reply) -> None:
        for effect in reply.effects:
            self._apply(effect)
        for outbound in reply.outbound:
            self._show(outbound)
        if self.after_reply is not None:
            self.after_reply()

    def _apply(self, effect: Effect) -> None:
        match effect:
            case CreateSpace(group_id=gid, name=name, topic=topic, member_ids=ids):
                self.dispatcher.record_space(gid, name, name)
                self._print(
                    f"* private space #{name} created ({topic}); members: {self._names(ids)}"
                )
            case AddToSpace(group_id=gid, person_ids=ids):
                self._print(f"* {self._names(ids)} added to #{self._channel(gid)}")
            case RemoveFromSpace(group_id=gid, person_id=pid):
                self._print(f"* {self._names([pid])} removed from #{self._channel(gid)}")
            case ArchiveSpace(group_id=gid):
                self._print(f"* #{self._channel(gid)} archived")

    def _show(self, outbound: Outbound) -> None:
        match outbound.to:
            case ToActor():
                who = self.user.display_name if self.user else "you"
                header, channel = f"[to {who}, only you]", self.where
            case ToGroup(group_id=gid):
                channel = self._channel(gid)
                header = f"[#{channel}]"
            case ToPerson(person_id=pid):
                header, channel = f"[DM to {self._names([pid])}]", None
            case InPlace():
                header, channel = "[message updated]", self.where
        self._print(header)
        self._print(self._render(outbound.message, channel))
        if outbound.message.attachment is not None:
            self._print(self._save(outbound.message.attachment, header))
        if outbound.message.expects:
            number = next(self._replies)
            self._replyable.add(number)
            self.dispatcher.remember_prompt(f"local-reply-{number}", outbound.message)
            self._print(f"    (reply {number} <your words> answers this message)")

    def _render(self, message: Message, channel: str | None) -> str:
        def number(button: Button) -> int:
            self._count += 1
            self._buttons[self._count] = _Shown(button, channel)
            return self._count

        return "\n".join("  " + line for line in render_text(message, number).splitlines())

    def _save(self, attachment: Attachment, header: str) -> str:
        """Write a file sent in the chat to the files folder; the line saying where it is."""
        if self.files_dir is None:
            return f"  [file] {attachment.filename} (not saved: no folder for files is set)"
        # One folder per recipient, so two people's copies never overwrite each other.
        who = re.sub(r"[^a-z0-9_-]+", "-", header.lower()).strip("-") or "files"
        folder = self.files_dir / who
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / attachment.filename
        path.write_bytes(attachment.data)
        return f"  [file] {attachment.filename} ({len(attachment.data):,} bytes) saved to {path}"

    def _channel(self, group_id: int) -> str:
        return self.dispatcher.group_channel(group_id) or f"group-{group_id}"

    def _names(self, person_ids: Iterable[int]) -> str:
        found = self.dispatcher.identities(person_ids)
        return ", ".join(found[p].user_id if p in found else f"person {p}" for p in person_ids)

    def _now_text(self) -> str:
        return self.clock.now().astimezone(self.dispatcher.locale.tz).strftime("%a %-d %b %Y %H:%M")

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # Outbox (proactive messages from reminders and prompts) -------------------------------

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        """Show a proactive message in the transcript (safe from the scheduler's threads)."""
        with self._sending:
            self._show(Outbound(to, message))
            ref = f"local-{next(self._refs)}"
            if message.key:
                self._sent[message.key] = ref
            return ref

    def find_sent(self, to: ToGroup | ToPerson, key: str) -> str | None:
        """A message already shown with this key, if any."""
        return self._sent.get(key)
