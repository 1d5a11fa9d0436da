"""The one entry point and error boundary for every platform: commands, clicks and messages."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.core.access import GroupView, audit, denials, resolve_group
from bot.core.context import Ctx, Locale
from bot.core.errors import Ambiguous, NotAllowed, NotFound, UserError
from bot.core.people import Directory, Who, person_for
from bot.core.routing import expected_by, remember_prompt
from bot.core.sent_messages import record_sent
from bot.logs import log_failure, request_scope
from bot.messages import Button, Buttons, Context, Heading, Message, Reply, Text
from commands.parse import Args, is_reference, tokenize
from commands.registry import Command, Registry
from storage.db import session_scope
from storage.enums import AuditKind, Platform
from storage.models import CardCopy, ChatIdentity, CoreGroup, Person

log = logging.getLogger(__name__)

COMMAND = "/coregroup"
# The buttons that answer "who do you mean?": each re-runs what was typed with the choice made.
CHOOSE = "people.choose"
MAX_VALUE = 2000  # the longest button value every platform keeps (Slack's limit)


class Dispatcher:
    """Routes what a person did on a platform to the handlers, inside one unit of work."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        locale: Locale,
        platform: Platform,
        directory: Directory,
        registry: Registry,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.locale = locale
        self.platform = platform
        self.directory = directory
        self.registry = registry

    # Entry points -------------------------------------------------------------------------

    def command(self, who: Who, text: str, *, channel_id: str | None = None) -> Reply:
        """Run `/coregroup <text>` for `who`."""
        return self._guarded(
            who,
            channel_id,
            f"{COMMAND} {text}".strip(),
            self._command(text),
            again=lambda token, choice: {"c": _chosen_in(text, token, choice)},
        )

    def click(
        self,
        who: Who,
        action: str,
        value: str,
        *,
        text: str | None = None,
        channel_id: str | None = None,
    ) -> Reply:
        """Handle a button or menu click (with the text it asked for, if any)."""
        if action == CHOOSE:
            return self._chosen(who, value, channel_id=channel_id)
        handler = self.registry.clicks.get(action)
        if handler is None:
            log.warning("click on unknown action %s", action)
            return Reply().say("That button no longer works. Run `/coregroup help` to start again.")
        return self._guarded(
            who,
            channel_id,
            text or "",
            lambda ctx: handler(ctx, value, text),
            again=lambda token, choice: {
                "a": action,
                "v": value,
                "t": _chosen_in(text or "", token, choice),
            },
        )

    def _chosen(self, who: Who, value: str, *, channel_id: str | None) -> Reply:
        """Re-run what was typed with the person chosen on a "who do you mean?" button."""
        try:
            again = json.loads(value)
        except ValueError:
            again = None
        if isinstance(again, dict) and isinstance(again.get("c"), str):
            return self.command(who, again["c"], channel_id=channel_id)
        if isinstance(again, dict) and isinstance(again.get("a"), str) and again["a"] != CHOOSE:
            return self.click(
                who, again["a"], str(again.get("v", "")), text=again.get("t"), channel_id=channel_id
            )
        return Reply().say("That button no longer works. Run `/coregroup help` to start again.")

    def message(
        self,
        who: Who,
        text: str,
        *,
        channel_id: str | None = None,
        direct: bool = True,
        answering: str | None = None,
    ) -> Reply:
        """Offer an ordinary message (a DM, or a reply in a thread) to the conversation handlers.

        `answering` is the platform's id of the message this one replies to (its thread, reply
        chain or quote), when it names one: what that message asked decides where this goes.
        """

        def run(ctx: Ctx) -> Reply:
            answers = (
                expected_by(ctx.session, platform=self.platform, ref=answering)
                if answering
                else None
            )
            for listener in self.registry.listeners:
                reply = listener(ctx, text, direct, answers)
                if reply is not None:
                    return reply
            if direct:
                return Reply().say(
                    "I'm the core group assistant. Type `/coregroup help` to see what I can do."
                )
            return Reply()

        return self._guarded(who, channel_id, text, run)

    # Addresses for adapters ---------------------------------------------------------------

    def group_channel(self, group_id: int) -> str | None:
        """The platform channel id of a group's space."""
        with Session(self.engine) as session:
            group = session.get(CoreGroup, group_id)
            return group.channel_id if group else None

    def identities(self, person_ids: Iterable[int]) -> dict[int, ChatIdentity]:
        """Each person's identity on this platform (people without one are left out)."""
        ids = list(person_ids)
        if not ids:
            return {}
        with Session(self.engine) as session:
            rows = session.exec(
                select(ChatIdentity).where(
                    ChatIdentity.platform == self.platform, col(ChatIdentity.person_id).in_(ids)
                )
            ).all()
            return {r.person_id: r for r in rows}

    def record_space(self, group_id: int, channel_id: str, name: str) -> None:
        """Remember the space an adapter created for a group."""
        with session_scope(self.engine) as session:
            group = session.get(CoreGroup, group_id)
            assert group is not None
            group.channel_id, group.channel_name, group.platform = channel_id, name, self.platform
            session.add(group)

    def remember_prompt(self, ref: str, message: Message) -> None:
        """Record what a reply to a message just sent answers (when it takes a reply)."""
        if not message.expects:
            return
        with session_scope(self.engine) as session:
            remember_prompt(
                session,
                platform=self.platform,
                ref=ref,
                expects=message.expects,
                now=self.clock.now(),
            )

    def remember_sent(self, place: str, message_id: str, service_url: str | None = None) -> None:
        """Record a message the adapter posted (its channel or conversation and its id), so
        retention can delete it later. It went out: a database fault is logged, not raised, so
        the sender does not take it for a failed send and send it again."""
        try:
            record_sent(
                self.engine,
                platform=self.platform,
                place=place,
                message_id=message_id,
                now=self.clock.now(),
                service_url=service_url,
            )
        except SQLAlchemyError:
            log_failure(log, "could not record a message sent in %s", place)

    def remember_dm(self, person_id: int, dm_channel_id: str, ref: dict | None = None) -> None:
        """Store where a person's direct messages with the bot live (and a Teams reference)."""
        with session_scope(self.engine) as session:
            ident = session.exec(
                select(ChatIdentity).where(
                    ChatIdentity.platform == self.platform, ChatIdentity.person_id == person_id
                )
            ).first()
            if ident is not None:
                ident.dm_channel_id = dm_channel_id
                if ref is not None:
                    ident.conversation_ref = ref
                session.add(ident)

    def display_names(self, person_ids: Iterable[int]) -> dict[int, str]:
        """Each person's display name, for telling the actor who did not get a copy."""
        ids = list(person_ids)
        if not ids:
            return {}
        with Session(self.engine) as session:
            people = session.exec(select(Person).where(col(Person.id).in_(ids))).all()
            return {p.id: p.display_name for p in people if p.id is not None}

    def remember_copy(
        self, card: str, place: str, message_id: str, service_url: str | None = None
    ) -> None:
        """Record one copy of a live card the adapter posted (a repeat is ignored)."""
        try:
            with session_scope(self.engine) as session:
                session.add(
                    CardCopy(
                        card=card,
                        platform=self.platform,
                        place=place,
                        message_id=message_id,
                        service_url=service_url,
                        sent_at=self.clock.now(),
                    )
                )
        except IntegrityError:
            return  # the same message recorded twice: once is enough

    def copies_of(self, card: str) -> list[CardCopy]:
        """Every recorded copy of a live card on this platform, oldest first."""
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(CardCopy)
                    .where(CardCopy.card == card, CardCopy.platform == self.platform)
                    .order_by(col(CardCopy.id))
                ).all()
            )

    # Internals ----------------------------------------------------------------------------

    def _command(self, text: str) -> Callable[[Ctx], Reply]:
        def run(ctx: Ctx) -> Reply:
            tokens = tokenize(text)
            ref = tokens.pop(0) if tokens and is_reference(tokens[0]) else None
            family = bool(ctx.actor.is_family)
            if not tokens:
                return help_reply(self.registry, None, family=family)
            name = tokens.pop(0)
            if name.lower() in ("help", "?"):
                return help_reply(self.registry, tokens[0] if tokens else None, family=family)
            cmd = self.registry.find(name)
            if cmd is None:
                raise _unknown_command(name, self.registry)
            if not cmd.needs_group:
                return cmd.handler(ctx, None, Args(([ref] if ref else []) + tokens, text))
            if ref is None and tokens and is_reference(tokens[0]):
                ref = tokens.pop(0)
            view = resolve_group(
                ctx,
                ref,
                include_closed=cmd.name in READ_CLOSED,
                observing=cmd.name in OBSERVER_READS,
            )
            which = _record_numbers(tokens)
            reply = cmd.handler(ctx, view, Args(tokens, text))
            _audit_command(ctx, view, cmd, which)
            return reply

        return run

    def _guarded(
        self,
        who: Who,
        channel_id: str | None,
        typed: str,
        run: Callable[[Ctx], Reply],
        *,
        again: Callable[[str, int], dict[str, str]] | None = None,
    ) -> Reply:
        with request_scope():  # every log line of this request carries its id
            log.debug("handling a request from %s on %s", who.user_id, self.platform.value)
            family = False
            refused: list[tuple[int | None, str, str]] = []
            try:
                with session_scope(self.engine) as session:
                    ctx = self._ctx(session, who, channel_id)
                    family = bool(ctx.actor.is_family)
                    try:
                        return run(ctx)
                    finally:
                        refused = denials(session)
            except Ambiguous as err:
                return choose_reply(err, typed, again)
            except UserError as err:
                if not refused and isinstance(err, NotFound | NotAllowed):
                    refused = [(None, "request", type(err).__name__)]
                if refused:  # the refusal's error rolled back their audit entries: record them
                    self._audit_denied(who, channel_id, refused)
                return error_reply(err, typed, family=family)
            except Exception:
                # No user text or exception message in the log: either may hold a child's name.
                error_id = log_failure(
                    log, "unexpected error handling a request from %s", who.user_id
                )
                return Reply().say(
                    Message(
                        text="Sorry, something went wrong on my side; nothing was changed.",
                        blocks=(
                            Text("Sorry, something went wrong on my side; nothing was changed."),
                            Context(f"Error reference {error_id}. You typed: {typed}"[:2900]),
                        ),
                    )
                )

    def _ctx(self, session: Session, who: Who, channel_id: str | None) -> Ctx:
        person = person_for(session, who, self.clock)
        return Ctx(
            session=session,
            clock=self.clock,
            locale=self.locale,
            actor=person,
            platform=self.platform,
            directory=self.directory,
            channel_id=channel_id,
        )

    def _audit_denied(
        self, who: Who, channel_id: str | None, refused: list[tuple[int | None, str, str]]
    ) -> None:
        with session_scope(self.engine) as session:
            ctx = self._ctx(session, who, channel_id)
            for group_id, what, detail in refused:
                audit(ctx, group_id=group_id, kind=AuditKind.DENIED, what=what, detail=detail)


# Commands that still work on a closed group (reading its record).
READ_CLOSED = frozenset({"status", "actions", "minutes", "members", "meetings", "outcomes"})


# What the conference chair told of a disagreement may read of the group (not a member).
OBSERVER_READS = frozenset({"status", "minutes"})


def _record_numbers(tokens: list[str]) -> str:
    """Which numbered records a command named (`minutes 2`, `action 3`): its words that are
    plain numbers, for the audit; no other word, as those may be free text."""
    numbers = [t.lstrip("#") for t in tokens if t.lstrip("#").isdigit()][:5]
    return f"n={','.join(numbers)}" if numbers else ""


def _audit_command(ctx: Ctx, view: GroupView, cmd: Command, which: str) -> None:
    kind = AuditKind.CHANGE if cmd.changes else AuditKind.READ
    detail = " ".join(filter(None, ["as conference chair" if view.is_observer else "", which]))
    audit(ctx, group_id=view.id, kind=kind, what=f"command:{cmd.name}", detail=detail)


def _closest_command(name: str, registry: Registry) -> str | None:
    """The command a typo most likely meant: fewest edits (a swap of two letters is one), then
    the closest match; `help` first among equals, as it changes nothing ("hepl" is help)."""
    words = ["help", *registry.words()]
    key = name.lower()
    close = process.extract(key, words, limit=None, score_cutoff=70)
    if not close:
        return None
    return min(close, key=lambda c: (OSA.distance(key, c[0]), -c[1], c[2]))[0]


def _unknown_command(name: str, registry: Registry) -> UserError:
    close = _closest_command(name, registry)
    if close == "help":
        return UserError(
            f"I don't know `{name}`. Did you mean `help`?",
            hint=f"Type `{COMMAND} help` to see the commands with examples.",
        )
    if close is not None:
        cmd = registry.find(close)
        assert cmd is not None
        return UserError(
            f"I don't know `{name}`. Did you mean `{close}`?",
            hint=f"For example: `{cmd.examples[0]}`" if cmd.examples else "",
        )
    return UserError(
        f"I don't know `{name}`.", hint=f"Type `{COMMAND} help` to see the commands with examples."
    )


def _chosen_in(text: str, token: str, person_id: int) -> str:
    """`text` with the typed name `token` (e.g. `@sam`) replaced by the choice `@sam#12`."""
    pattern = re.compile(r"(?<!\S)" + re.escape(token) + r"(?!\S)")
    return pattern.sub(lambda _: f"{token}#{person_id}", text, count=1)


def choose_reply(
    err: Ambiguous, typed: str, again: Callable[[str, int], dict[str, str]] | None
) -> Reply:
    """Nothing was done: ask who was meant, one button per person (nothing else about them)."""
    blocks: list = [Text(err.message)]
    if again is not None and err.choices:
        values = [json.dumps(again(err.token, c.person_id)) for c in err.choices]
        if all(len(v) <= MAX_VALUE for v in values):  # else only the hint: mention them
            blocks.append(
                Buttons(
                    tuple(
                        Button(c.label[:75], CHOOSE, v)
                        for c, v in zip(err.choices, values, strict=True)
                    )
                )
            )
    if err.hint:
        blocks.append(Context(err.hint))
    if typed:
        blocks.append(Context(f"You typed: {typed}"[:2900]))
    return Reply().say(Message(text=err.message, blocks=tuple(blocks)))


def error_reply(err: UserError, typed: str, *, family: bool = False) -> Reply:
    """A private reply explaining the problem, how to fix it, and echoing what was typed."""
    message, hint = err.worded(family=family)
    blocks: list = [Text(message)]
    if hint:
        blocks.append(Text(hint))
    if typed:
        blocks.append(Context(f"You typed: {typed}"[:2900]))
    return Reply().say(Message(text=message, blocks=tuple(blocks)))


# What a parent, carer or young person can ask, in their words (the rest is the key worker's).
FAMILY_HELP = (
    ("status", "when and where the next meeting is, and what you agreed to do"),
    ("actions mine", "the things you agreed to do"),
    ("action 2", "one of them, with buttons to say how it is going"),
    ("myupdate", "what you have told us before the next meeting; change any answer"),
    ("meetings", "your family's meetings, coming up and past"),
    ("members", "who is in the group"),
    ("minutes", "what was agreed at the last meeting"),
    ("hours 9am-8pm", "the hours I may send you messages"),
)


def _family_help(registry: Registry, topic: str | None = None) -> Reply:
    """What the family can ask, in their words; for one command, just that one (or, for one
    their key worker uses, that it is theirs to ask about)."""
    cmd = registry.find(topic) if topic else None
    name = cmd.name if cmd is not None else (topic or "").lower()
    chosen = [(usage, what) for usage, what in FAMILY_HELP if usage.split()[0] == name]
    blocks: list = [Heading(f"{COMMAND} {name}" if chosen else "What you can ask me")]
    if topic and not chosen:
        why = "That's something your key worker does." if cmd else "I don't know that one."
        blocks.append(Text(f"{why} Here is what you can ask me:"))
    lines = [f"{COMMAND} {usage} — {what}" for usage, what in chosen or FAMILY_HELP]
    blocks += [
        Text("\n".join(lines)),
        Context("If something isn't clear, or you'd like something changed, ask your key worker."),
    ]
    return Reply().say(Message(text="What you can ask me", blocks=tuple(blocks)))


def help_reply(registry: Registry, topic: str | None, *, family: bool = False) -> Reply:
    """The list of commands with examples, or the detail of one command (for the family: what
    they can ask, in their words)."""
    if family:
        return _family_help(registry, topic)
    if topic:
        cmd = registry.find(topic)
        if cmd is None:
            raise _unknown_command(topic, registry)
        lines = [f"Usage: {COMMAND} {cmd.usage}", *[f"e.g. {e}" for e in cmd.examples]]
        blocks = (Heading(f"{COMMAND} {cmd.name}"), Text(cmd.summary), Text("\n".join(lines)))
        return Reply().say(Message(text=f"{COMMAND} {cmd.name}: {cmd.summary}", blocks=blocks))
    by_topic: dict[str, list[Command]] = {}
    for cmd in registry.commands.values():
        by_topic.setdefault(cmd.topic, []).append(cmd)
    blocks_list: list = [Heading("Core group assistant — commands")]
    for topic_name, cmds in by_topic.items():
        lines = [f"{COMMAND} {c.usage} — {c.summary}" for c in cmds]
        blocks_list.append(Text(f"{topic_name}:\n" + "\n".join(lines)))
    blocks_list.append(
        Context(
            f"`{COMMAND} help <command>` shows examples. Outside the group's channel, "
            f"add the case reference, e.g. `{COMMAND} status CP-2026-0142`."
        )
    )
    return Reply().say(Message(text="Core group assistant — commands", blocks=tuple(blocks_list)))
