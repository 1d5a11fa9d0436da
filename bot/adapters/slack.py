"""The Slack adapter: Bolt verifies and acknowledges at once; the work runs after, elsewhere.

Every listener is an ack function that acknowledges and hands Slack's payload to the work pool as a
SlackJob (bot.adapters.slack_work): worker threads here, or worker processes in production, so
the HTTP answer never waits for the GIL behind database and Web API work. The app runs with
process_before_response=True, so Bolt answers as soon as the ack function returns (without it
Bolt polls for the ack every 10 ms). This is Bolt's lazy-listener idea — ack now, work after —
with our own pool, because Bolt's lazy functions can only run as threads of this process.
`SlackHandlers` does the work: it translates the payload, calls the dispatcher and delivers the
Reply (effects on channels first, then messages, then archiving).

A command or click that opens a modal has it opened from the ack path by `ModalOpener`, never
behind the queue: Slack's trigger_id lasts 3 seconds. The HTTP route checks the signature on the
raw bytes before anything is parsed, and answers a signed but malformed body with 400. Work Slack
rate-limits for long (a post, a channel, a name) is kept as a SlackDelivery row and done later by
`SlackHandlers.retry_deferred` (every few seconds in the running bot).

Retried events (same `event_id`) are dropped by inserting a ProcessedEvent row first: the unique key
makes the second insert fail, whichever delivery path (HTTP retry headers or Socket Mode) sent it.
A command, click or modal submission is recorded the same way by its `trigger_id` when its work
starts (in the worker, so the ack never waits for the database), so a signed request replayed
within Slack's 5-minute window is acked and does nothing more. (A replayed command or click that
opens a modal may open it again; what the modal submits has its own trigger_id.)

Every request must come from the installed workspace (`installed_id`: SLACK_TEAM_ID, else
auth.test's team); on Enterprise Grid (an id starting E) the request's enterprise id is checked
instead. Others are refused: a command is told so, anything else is acked and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from aiohttp import web
from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from bot.adapters.delivery import describe, undelivered_report
from bot.adapters.downloads import download_routes
from bot.adapters.family_web import AlertSender, family_routes, mailer_for
from bot.adapters.metrics import instrument
from bot.adapters.readiness import readiness_routes, slack_readiness
from bot.adapters.shutdown import stop_gracefully
from bot.adapters.signed_links import LinkSigner
from bot.adapters.slack_forms import FORMS, form_for
from bot.adapters.slack_outbox import (
    DEFERRED,
    HELD,
    Pacer,
    RateLimits,
    SharedPacer,
    SlackDirectory,
    SlackOutbox,
    error_code,
    rate_limited,
    slack_client,
)
from bot.adapters.slack_work import ProcessWork, SlackJob, ThreadWork
from bot.adapters.web import WebServer, build_web_app
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings
from bot.core.context import Locale
from bot.core.groups import space_name, space_topic
from bot.core.people import Who, identity_of
from bot.core.ports import DeliveryError, Outbox
from bot.logs import configure_logging, log_failure
from bot.messages import (
    AddToSpace,
    ArchiveSpace,
    Bullets,
    CreateSpace,
    Effect,
    InPlace,
    Message,
    Outbound,
    RemoveFromSpace,
    Reply,
    Text,
    ToActor,
    ToGroup,
    ToPerson,
)
from bot.render.blockkit import (
    ASK_CALLBACK,
    FORM_CALLBACK,
    PRIVATE_METADATA,
    ask_modal,
    fit,
    form_modal,
    form_values,
    home_view,
    modal_answer,
    parse_click,
    to_messages,
)
from bot.render.preview import kind_of
from commands import build_registry
from commands.dispatch import COMMAND, Dispatcher
from storage.blind_index import handle_of, name_index
from storage.crypto import KeyEncryptionKeys
from storage.db import insert_for, make_engine, session_scope
from storage.enums import GroupStatus, Platform
from storage.keys import keys_of
from storage.models import (
    Case,
    CoreGroup,
    Membership,
    Person,
    ProcessedEvent,
    SlackDelivery,
)

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
RETRY_EVERY = 5.0  # seconds between looks for deferred Slack work that is due
HELD_NOTE = (
    "Not posted in the group's channel yet: someone removed from the group can still see it "
    "(Slack refused to remove them), so it is held and will be posted once they are out."
)
REMOVAL_RETRY_FIRST = 30.0  # seconds before a refused removal is tried again (then doubling)
CHANNEL_NAME_MAX = 80
TOPIC_MAX = 250
CLOSED_TOPIC = (
    "This core group is closed and its members have left the channel. It is archived once the "
    "bot has deleted its messages here at the end of the retention period."
)


# --- inbound text -------------------------------------------------------------------------------

_BROADCAST = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[^|>]+(?:\|([^>]*))?>")
_LABELLED = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def inbound_text(text: str) -> str:
    """Slack's message/command markup turned into the neutral model's literal text.

    User mentions (`<@U123|name>`) stay as they are: the core resolves them. Broadcasts, group
    mentions, channel links and links become their visible words, and the entities Slack uses for
    a typed &, < and > become the characters again (the renderer escapes them on the way out).
    """
    text = _BROADCAST.sub(lambda m: f"@{m.group(1)}", text)
    text = _SUBTEAM.sub(lambda m: m.group(1) or "@group", text)
    text = _LABELLED.sub(lambda m: m.group(1), text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}", text)
    text = _LINK.sub(
        lambda m: (
            m.group(1)
            if not m.group(2) or m.group(2) == m.group(1)
            else f"{m.group(2)} ({m.group(1)})"
        ),
        text,
    )
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def channel_name(name: str) -> str:
    """A valid Slack channel name: lower case letters, digits, - and _, at most 80 characters."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower())
    slug = re.sub(r"-{2,}", "-", slug).strip("-_")
    return slug[:CHANNEL_NAME_MAX].rstrip("-_") or "core-group"


# --- where a request came from, and so where its reply goes -------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a request came from: decides how ToActor and InPlace replies reach the person."""

    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    message_ts: str | None = None  # the clicked message, for InPlace
    ephemeral: bool = False  # the clicked message was ephemeral: replace it via response_url
    thread_ts: str | None = None  # answer in this DM thread
    direct: bool = False  # the request is a message in the person's DM with the bot
    home: bool = False  # the click was on the Home tab

    def metadata(self, action: str, value: str) -> str:
        """This origin and a pending click, packed into a modal's private_metadata."""
        packed: dict[str, Any] = {
            "a": action,
            "v": value,
            "c": self.channel_id,
            "t": self.message_ts,
            "e": self.ephemeral,
            "h": self.home,
            "r": self.response_url,
        }
        text = json.dumps(packed, separators=(",", ":"))
        if len(text) > PRIVATE_METADATA:  # a long response_url is the only thing we can spare
            packed["r"] = None
            text = json.dumps(packed, separators=(",", ":"))
        return text

    @classmethod
    def from_metadata(cls, user_id: str, text: str) -> tuple[Origin, str, str]:
        """The origin and pending (action, value) packed by `metadata`."""
        packed = json.loads(text)
        origin = cls(
            user_id=user_id,
            channel_id=packed.get("c"),
            message_ts=packed.get("t"),
            ephemeral=bool(packed.get("e")),
            home=bool(packed.get("h")),
            response_url=packed.get("r"),
        )
        return origin, str(packed["a"]), str(packed["v"])


@dataclass
class _Delivery:
    """State while one Reply is delivered: spaces just created wait to have a message pinned."""

    origin: Origin
    bot_user_id: str | None
    to_pin: dict[int, str] = field(default_factory=dict)  # group id → its new channel
    pin_later: set[int] = field(default_factory=set)  # groups whose channel Slack deferred
    problems: list[str] = field(default_factory=list)
    deferred: list[Outbound] = field(default_factory=list)  # posts kept until Slack allows
    held: bool = False  # a post to a channel a removed member can still see was held
    refused_removal: bool = False  # the actor was told why (which covers the held posts)


# --- the work ---------------------------------------------------------------------------------


@contextmanager
def _unless(*codes: str) -> Iterator[None]:
    """Let Slack errors with these codes pass: the change they refuse is already in place."""
    try:
        yield
    except SlackApiError as exc:
        if error_code(exc) not in codes:
            raise


# Told when a worker process died while doing what the person asked (SlackHandlers.job_lost).
INTERRUPTED = (
    "Sorry: something went wrong while I was doing that, so I can't tell whether it was done. "
    "Please check before you try again, so it isn't done twice."
)


def _record_attempt(
    session: Session, row: SlackDelivery, now: datetime, *, error: str | None, wait: float | None
) -> None:
    """Count one try of a kept Slack delivery: try again in `wait` seconds, or it is done."""
    stored = session.get(SlackDelivery, row.id)
    assert stored is not None
    stored.attempts += 1
    stored.last_error = error
    if wait is not None:
        stored.next_try_at = now + timedelta(seconds=wait)
    else:
        stored.done_at = now
    session.add(stored)


class SlackHandlers:
    """The work behind each acknowledged request, and the delivery of Replies to Slack."""

    def __init__(self, dispatcher: Dispatcher, client: WebClient, outbox: SlackOutbox) -> None:
        self.dispatcher = dispatcher
        self.client = client
        self.outbox = outbox

    def run(self, job: SlackJob) -> None:
        """Do the work of one acknowledged request."""
        handler = {
            "command": self.on_command,
            "action": self.on_action,
            "answer": self.on_answer,
            "form": self.on_form,
            "message": self.on_message,
            "home": self.on_home_opened,
        }[job.kind]
        trigger_id = job.body.get("trigger_id")
        if trigger_id and not self.first_request(str(trigger_id)):
            log.info("dropped a replayed Slack %s", job.kind)
            return
        try:
            handler(job.body, job.bot_user_id)
        finally:
            self._keep_stand_ins()

    def _keep_stand_ins(self) -> None:
        """People mentioned while users.info was rate-limited: look them up again later."""
        directory = self.dispatcher.directory
        if isinstance(directory, SlackDirectory):
            for user_id, stand_in, wait in directory.take_stand_ins():
                self.refresh_name_later(user_id, stand_in, wait)

    # Requests ----------------------------------------------------------------------------------

    def on_command(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        """`/coregroup …`: run it and answer privately through the response_url."""
        origin = Origin(
            user_id=body["user_id"],
            channel_id=body.get("channel_id"),
            response_url=body.get("response_url"),
        )
        text = inbound_text(body.get("text") or "")
        # A form for this command was opened in the ack (ModalOpener); it reaches here only when
        # Slack would not open it, and then runs as typed (its usage message says what to add).
        who = self._who(origin.user_id, body.get("user_name", ""))
        reply = self.dispatcher.command(who, text, channel_id=origin.channel_id)
        self.deliver(reply, origin, bot_user_id)

    def on_form(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        """A form modal was submitted: run the command its answers make."""
        user_id = body["user"]["id"]
        packed = json.loads(body["view"]["private_metadata"])
        origin = Origin(user_id=user_id, channel_id=packed.get("c"), response_url=packed.get("r"))
        text = FORMS[packed["f"]].compose(form_values(body["view"]))
        who = self._who(user_id, body["user"].get("name", ""))
        reply = self.dispatcher.command(who, text, channel_id=origin.channel_id)
        self.deliver(reply, origin, bot_user_id)

    def on_action(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        """A button or menu click: open the question modal, or pass the click to the core."""
        action = body["actions"][0]
        raw_value = action.get("value") or (action.get("selected_option") or {}).get("value", "")
        click = parse_click(action["action_id"], raw_value)
        origin = self.origin_of_click(body)
        if click.ask is not None:
            # Its question modal was opened in the ack (ModalOpener); the click reaches here only
            # when Slack would not open it: say so rather than do nothing.
            why = body.get(MODAL_FAILED) or "no trigger"
            note = (
                f"Slack couldn't open the question window ({why}). Please click the button "
                "again; nothing was changed."
            )
            self._send(Outbound(ToActor(), Message.plain(note)), _Delivery(origin, bot_user_id))
            return
        who = self._who(origin.user_id, body.get("user", {}).get("name", ""))
        reply = self.dispatcher.click(who, click.action, click.value, channel_id=origin.channel_id)
        self.deliver(reply, origin, bot_user_id)

    def on_answer(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        """The question modal was submitted: complete the click with the typed text."""
        user_id = body["user"]["id"]
        origin, action, value = Origin.from_metadata(user_id, body["view"]["private_metadata"])
        who = self._who(user_id, body["user"].get("name", ""))
        text = modal_answer(body["view"])
        reply = self.dispatcher.click(who, action, value, text=text, channel_id=origin.channel_id)
        self.deliver(reply, origin, bot_user_id)

    def on_message(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        """A message in someone's DM with the bot (threads included) goes to the conversations."""
        event = body["event"]
        origin = self.origin_of_message(event)
        if origin is None or not self._first_delivery(body):
            return
        who = self._who(origin.user_id)
        text = inbound_text(event.get("text") or "")
        # A reply in a message's thread answers that message (see SlackOutbox.post).
        answering = f"{event['channel']}:{origin.thread_ts}" if origin.thread_ts else None
        reply = self.dispatcher.message(
            who, text, channel_id=origin.channel_id, direct=True, answering=answering
        )
        self.deliver(reply, origin, bot_user_id)

    def on_home_opened(self, body: dict[str, Any], bot_user_id: str | None) -> None:
        """Someone opened the Home tab: publish their personal overview."""
        event = body["event"]
        if event.get("tab") != "home" or not self._first_delivery(body):
            return
        self._publish_home(event["user"])

    def job_lost(self, job: SlackJob) -> None:
        """A worker process died while doing `job`. It may have changed something, so it is not
        run again (a command has no replay check): the person is told it may not have been done.
        A Home tab is simply published again."""
        body = job.body
        origin: Origin | None
        match job.kind:
            case "home":
                if body["event"].get("tab") == "home":
                    self._publish_home(body["event"]["user"])
                return
            case "command":
                origin = Origin(
                    user_id=body["user_id"],
                    channel_id=body.get("channel_id"),
                    response_url=body.get("response_url"),
                )
            case "action":
                origin = self.origin_of_click(body)
            case "answer":
                origin = Origin.from_metadata(body["user"]["id"], body["view"]["private_metadata"])[
                    0
                ]
            case "form":
                packed = json.loads(body["view"]["private_metadata"])
                origin = Origin(
                    user_id=body["user"]["id"],
                    channel_id=packed.get("c"),
                    response_url=packed.get("r"),
                )
            case _:
                origin = self.origin_of_message(body["event"])
        if origin is not None:
            log.warning("told the person a Slack %s job was interrupted", job.kind)
            self._to_actor(Message.plain(INTERRUPTED), origin)

    # Delivery ----------------------------------------------------------------------------------

    def deliver(self, reply: Reply, origin: Origin, bot_user_id: str | None = None) -> None:
        """Carry out the reply's effects, send its messages where they belong, archive last.

        Archiving a channel comes after the messages: Slack refuses posts to an archived channel
        (`is_archived`), and the closing notice and cancelled meetings must reach the members.
        """
        state = _Delivery(origin, bot_user_id)
        first = [e for e in reply.effects if not isinstance(e, ArchiveSpace)]
        last = [e for e in reply.effects if isinstance(e, ArchiveSpace)]
        self._apply_all(first, state)
        outbound = list(reply.outbound)
        outbound += [Outbound(ToActor(), Message.plain(text)) for text in state.problems]
        failed: list[Outbound] = []
        for item in outbound:
            try:
                self._send(item, state)
            except SlackClientError as exc:
                failed.append(item)
                log.error(
                    "Slack refused %s %s: %s",
                    kind_of(item.message),
                    describe(item.to),
                    error_code(exc),
                )
            except DeliveryError as exc:
                failed.append(item)
                log.error(
                    "could not deliver %s %s: %s", kind_of(item.message), describe(item.to), exc
                )
        state.problems.clear()
        self._apply_all(last, state)
        report = undelivered_report(reply.outbound, failed, self.dispatcher.display_names)
        notes = [Message.plain(text) for text in state.problems]
        if state.deferred:
            notes.append(self._deferred_note(state.deferred))
        if state.held and not state.refused_removal:
            notes.append(Message.plain(HELD_NOTE))
        for note in [*notes, *([report] if report is not None else [])]:
            try:
                self._send(Outbound(ToActor(), note), state)
            except (SlackClientError, DeliveryError) as exc:
                log.error("could not report undelivered messages: %s", exc)

    def _deferred_note(self, deferred: list[Outbound]) -> Message:
        """Tell the actor which posts wait for Slack (never that they were posted)."""
        who = self.dispatcher.display_names(
            [o.to.person_id for o in deferred if isinstance(o.to, ToPerson)]
        )
        lines = []
        for item in deferred:
            kind = kind_of(item.message)
            if isinstance(item.to, ToPerson):
                lines.append(f"the {kind} for {who.get(item.to.person_id, 'a member')}")
            else:
                lines.append(f"the {kind} for the group's channel")
        return Message(
            text="Slack is busy: some messages will follow",
            kind="not yet delivered",
            blocks=(
                Text(
                    "Slack is busy just now, so these have not been posted yet; they will be "
                    "posted when Slack allows (nothing more to do):"
                ),
                Bullets(tuple(lines)),
            ),
        )

    def _apply_all(self, effects: Sequence[Effect], state: _Delivery) -> None:
        for effect in effects:
            try:
                self._apply(effect, state)
            except SlackApiError as exc:
                if rate_limited(exc) is None or not isinstance(effect, CreateSpace | AddToSpace):
                    self._effect_failed(effect, exc, state)
                    continue
                self.defer_channel(effect.group_id, rate_limited(exc) or 0.0)
                if isinstance(effect, CreateSpace):
                    state.pin_later.add(effect.group_id)
                    state.problems.append(
                        "Slack is busy just now, so the group's private channel will be created "
                        "(and its members invited) when Slack allows; messages for the group will "
                        "be posted there then. Nothing more to do."
                    )
                else:
                    state.problems.append(
                        "Slack is busy just now, so the new members will be invited to the "
                        "group's channel when Slack allows. Nothing more to do."
                    )
            except (SlackClientError, DeliveryError) as exc:
                self._effect_failed(effect, exc, state)

    def _effect_failed(
        self, effect: Effect, exc: SlackClientError | DeliveryError, state: _Delivery
    ) -> None:
        why = error_code(exc) if isinstance(exc, SlackClientError) else str(exc)
        log.error("Slack refused %s: %s", type(effect).__name__, why)
        state.problems.append(
            f"I couldn't update the group's Slack channel ({why}). Ask your Slack "
            "admin to check Core Group Bot's permissions; nothing else was affected."
        )

    # Work Slack deferred -----------------------------------------------------------------------

    def defer_channel(self, group_id: int, wait: float) -> None:
        """Keep the group's channel set-up (create, invite members) to do when Slack allows."""
        if self.outbox.channel_pending(group_id):
            return
        now = self.dispatcher.clock.now()
        with session_scope(self.dispatcher.engine) as session:
            session.add(
                SlackDelivery(
                    kind="channel",
                    group_id=group_id,
                    created_at=now,
                    next_try_at=now + timedelta(seconds=wait),
                )
            )
        log.info("Slack deferred the channel of group %s (retry in %.0fs)", group_id, wait)

    def retry_deferred(self) -> int:
        """Do the deferred channel set-ups and posts that are due; returns how many were done."""
        now = self.dispatcher.clock.now()
        with Session(self.dispatcher.engine) as session:
            due = session.exec(
                select(SlackDelivery)
                .where(
                    SlackDelivery.kind == "channel",
                    col(SlackDelivery.done_at).is_(None),
                    SlackDelivery.next_try_at <= now,
                )
                .order_by(col(SlackDelivery.id))
            ).all()
        done = 0
        for row in due:
            assert row.group_id is not None
            done += self._retry_channel(row, now)
        with Session(self.dispatcher.engine) as session:
            names = session.exec(
                select(SlackDelivery).where(
                    SlackDelivery.kind == "name",
                    col(SlackDelivery.done_at).is_(None),
                    SlackDelivery.next_try_at <= now,
                )
            ).all()
        for row in names:
            done += self._retry_name(row, now)
        with Session(self.dispatcher.engine) as session:
            removals = session.exec(
                select(SlackDelivery).where(
                    SlackDelivery.kind == "removal",
                    col(SlackDelivery.done_at).is_(None),
                    SlackDelivery.next_try_at <= now,
                )
            ).all()
        for row in removals:  # before the posts: those held for a removal may go now
            done += self._retry_removal(row, now)
        return done + self.outbox.retry_posts()

    def _group_space(self, group_id: int) -> tuple[str, str, tuple[int, ...]] | None:
        """An open group without a channel: its channel name, topic and members now."""
        with Session(self.dispatcher.engine) as session:
            group = session.get(CoreGroup, group_id)
            if group is None or group.channel_id or group.status != GroupStatus.ACTIVE:
                return None
            case = session.get(Case, group.case_id)
            assert case is not None
            members = session.exec(
                select(Membership.person_id).where(
                    Membership.group_id == group_id, col(Membership.active).is_(True)
                )
            ).all()
            return space_name(case.reference), space_topic(case.reference), tuple(members)

    def _retry_channel(self, row: SlackDelivery, now: datetime) -> int:
        assert row.group_id is not None
        space = self._group_space(row.group_id)
        error: str | None = None
        wait: float | None = None
        if space is not None:
            name, topic, members = space
            state = _Delivery(Origin(user_id=""), None)
            try:
                self._apply(CreateSpace(row.group_id, name, topic, members), state)
            except SlackApiError as exc:
                wait, error = rate_limited(exc), error_code(exc)
            except (SlackClientError, DeliveryError) as exc:
                error = error_code(exc) if isinstance(exc, SlackClientError) else str(exc)
                wait = min(5.0 * 2 ** min(row.attempts, 10), 600.0)
        with session_scope(self.dispatcher.engine) as session:
            _record_attempt(session, row, now, error=error, wait=wait)
        if error is not None and wait is None:
            log.error("Slack refused the deferred channel of group %s: %s", row.group_id, error)
        return 1 if error is None else 0

    def _send(self, item: Outbound, state: _Delivery) -> None:
        origin, message = state.origin, item.message
        match item.to:
            case ToActor():
                self._to_actor(message, origin)
            case InPlace():
                self._in_place(message, origin)
            case ToGroup(group_id=group_id):
                channel = state.to_pin.pop(group_id, None)
                pin = channel is not None or group_id in state.pin_later
                state.pin_later.discard(group_id)
                ref = self.outbox.send(item.to, message, pin=pin)
                if ref.startswith(DEFERRED):
                    state.deferred.append(item)
                elif ref.startswith(HELD):
                    state.held = True
                elif channel is not None:
                    self.client.pins_add(channel=channel, timestamp=ref.partition(":")[2])
            case ToPerson():
                if self.outbox.send(item.to, message).startswith(DEFERRED):
                    state.deferred.append(item)

    def _to_actor(self, message: Message, origin: Origin) -> None:
        if origin.direct and origin.channel_id:
            self.outbox.post(origin.channel_id, message, thread_ts=origin.thread_ts)
        elif origin.response_url:
            self._respond(origin.response_url, message, replace=False)
        elif origin.channel_id:
            for payload in to_messages(message):
                self.client.chat_postEphemeral(
                    channel=origin.channel_id, user=origin.user_id, **payload
                )
        else:
            opened = self.client.conversations_open(users=origin.user_id)
            self.outbox.post(opened["channel"]["id"], message)

    def _in_place(self, message: Message, origin: Origin) -> None:
        if origin.home:
            self._publish_home(origin.user_id)
        elif origin.ephemeral and origin.response_url:
            self._respond(origin.response_url, message, replace=True)
        elif (
            origin.message_ts
            and origin.channel_id
            and self.outbox.channels_held({origin.channel_id})
        ):
            # Someone removed can still see this channel: the clicked card keeps what it showed,
            # and the person who clicked is answered privately.
            self._to_actor(message, origin)
        elif origin.message_ts and origin.channel_id:
            # A message longer than Slack's 50 blocks: the clicked one becomes its first page,
            # the rest follow it as new messages (nothing cut).
            first, *more = to_messages(message)
            self.client.chat_update(channel=origin.channel_id, ts=origin.message_ts, **first)
            for payload in more:
                self.outbox.post_payload(origin.channel_id, payload)
        else:
            self._to_actor(message, origin)
            return
        self.outbox.update_copies(message, clicked=origin.message_ts)

    def _respond(self, url: str, message: Message, *, replace: bool) -> None:
        webhook = WebhookClient(
            url,
            timeout=15,
            retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler()],
        )
        # A long answer goes as several messages; a replacement replaces with its first page.
        for n, payload in enumerate(to_messages(message)):
            if replace and n == 0:
                sent = webhook.send(**payload, replace_original=True)
            else:
                sent = webhook.send(**payload, response_type="ephemeral")
            if sent.status_code != 200:
                log.error("response_url answered %s", sent.status_code)

    def _publish_home(self, user_id: str) -> None:
        who = self._who(user_id)
        command = "home" if self.dispatcher.registry.find("home") else "help"
        reply = self.dispatcher.command(who, command)
        messages = [o.message for o in reply.outbound if isinstance(o.to, ToActor)]
        try:
            self.client.views_publish(user_id=user_id, view=home_view(messages))
        except SlackClientError as exc:
            log.error("views.publish failed: %s", error_code(exc))

    # Effects on channels -----------------------------------------------------------------------

    def _apply(self, effect: Effect, state: _Delivery) -> None:
        match effect:
            case CreateSpace(group_id=group_id, name=name, topic=topic, member_ids=members):
                channel = self.dispatcher.group_channel(group_id)
                if channel is None:  # not created before (a repeated effect must not duplicate)
                    channel = self._create_channel(group_id, name)
                    state.to_pin[group_id] = channel
                self._invite(channel, members, state.bot_user_id)
                self.client.conversations_setTopic(channel=channel, topic=fit(topic, TOPIC_MAX))
                self.client.conversations_setPurpose(
                    channel=channel,
                    purpose=fit(
                        "The core group's private space: members only, kept by Core Group Bot.",
                        TOPIC_MAX,
                    ),
                )
            case AddToSpace(group_id=group_id, person_ids=people):
                channel = self.dispatcher.group_channel(group_id)
                if channel is not None:
                    self._invite(channel, people, state.bot_user_id)
            case RemoveFromSpace(group_id=group_id, person_id=person_id):
                channel = self.dispatcher.group_channel(group_id)
                ident = self.dispatcher.identities([person_id]).get(person_id)
                if channel is not None and ident is not None:
                    try:
                        with _unless("not_in_channel"):
                            self.client.conversations_kick(channel=channel, user=ident.user_id)
                    except SlackClientError as exc:
                        self._removal_refused(group_id, person_id, channel, ident.user_id, exc)
                        state.problems.append(self._removal_note(person_id, channel, exc))
                        state.refused_removal = True
            case ArchiveSpace(group_id=group_id, member_ids=members):
                # Not archived yet: Slack will not let the bot delete its messages in an
                # archived channel, so retention archives it once they are deleted. Meanwhile
                # nobody stays in it: a closed group's channel is read and watched by no one.
                channel = self.dispatcher.group_channel(group_id)
                if channel is not None:
                    self.client.conversations_setTopic(channel=channel, topic=CLOSED_TOPIC)
                    self._empty_closed_channel(channel, members, state)

    def _empty_closed_channel(
        self, channel: str, members: tuple[int, ...], state: _Delivery
    ) -> None:
        """Take every member out of a closed group's channel; the actor hears of any refusal."""
        idents = self.dispatcher.identities(list(members))
        refused: list[int] = []
        for person_id in members:
            ident = idents.get(person_id)
            if ident is None or ident.user_id == state.bot_user_id:
                continue
            try:
                with _unless("not_in_channel", "cant_kick_self"):
                    self.client.conversations_kick(channel=channel, user=ident.user_id)
            except SlackClientError as exc:
                log.warning("closed channel: Slack refused a removal: %s", error_code(exc))
                refused.append(person_id)
        if refused:
            names = ", ".join(
                self.dispatcher.display_names(refused).get(p, "a member") for p in refused
            )
            state.problems.append(
                f"Slack would not take {names} out of the closed group's channel, so they can "
                "still read it. A workspace admin can remove them."
            )

    def _removal_refused(
        self, group_id: int, person_id: int, channel: str, user_id: str, exc: SlackClientError
    ) -> None:
        """Keep the removal to retry (`retry_deferred`); the channel gets nothing meanwhile."""
        now = self.dispatcher.clock.now()
        wait = rate_limited(exc) if isinstance(exc, SlackApiError) else None
        with session_scope(self.dispatcher.engine) as session:
            session.add(
                SlackDelivery(
                    kind="removal",
                    group_id=group_id,
                    channel=channel,
                    payload={"user_id": user_id, "person_id": person_id},
                    created_at=now,
                    next_try_at=now + timedelta(seconds=wait or REMOVAL_RETRY_FIRST),
                    last_error=error_code(exc),
                )
            )
        log.warning(
            "Slack refused to remove person %s from group %s's channel", person_id, group_id
        )

    def _removal_note(self, person_id: int, channel: str, exc: SlackClientError) -> str:
        name = self.dispatcher.display_names([person_id]).get(person_id, "They")
        return (
            f"Slack would not take {name} out of the group's channel <#{channel}> "
            f"({error_code(exc)}), so *{name} can still see the channel*. Until they are out, "
            "nothing new is posted there: messages for the channel are held until then (members "
            "still get their own reminders by direct message). I'll keep trying every few "
            "minutes. "
            "To do it now, a Slack workspace admin can remove them: open the channel, click its "
            "name, then Members, and choose Remove from channel."
        )

    def _retry_removal(self, row: SlackDelivery, now: datetime) -> int:
        """Try a refused removal again; done once they are out (or back in the group)."""
        assert row.group_id is not None and row.channel is not None
        person_id = int(row.payload["person_id"])
        error: str | None = None
        wait: float | None = None
        if not self._in_group(row.group_id, person_id):
            try:
                with _unless("not_in_channel", "channel_not_found", "is_archived"):
                    self.client.conversations_kick(channel=row.channel, user=row.payload["user_id"])
            except SlackClientError as exc:
                error = error_code(exc)
                told = rate_limited(exc) if isinstance(exc, SlackApiError) else None
                wait = told or min(REMOVAL_RETRY_FIRST * 2 ** min(row.attempts, 10), 600.0)
        with session_scope(self.dispatcher.engine) as session:
            _record_attempt(session, row, now, error=error, wait=wait)
        if error is None:
            log.info("removal %s done: the group's channel gets its posts again", row.id)
        return 1 if error is None else 0

    def _in_group(self, group_id: int, person_id: int) -> bool:
        """Whether the person is (again) an active member of the group, or it is closed."""
        with Session(self.dispatcher.engine) as session:
            group = session.get(CoreGroup, group_id)
            member = session.exec(
                select(Membership.id).where(
                    Membership.group_id == group_id,
                    Membership.person_id == person_id,
                    col(Membership.active).is_(True),
                )
            ).first()
        return member is not None or group is None or group.status != GroupStatus.ACTIVE

    def _create_channel(self, group_id: int, name: str) -> str:
        base = channel_name(name)
        candidate = base
        for attempt in range(2, 20):
            try:
                created = self.client.conversations_create(name=candidate, is_private=True)
            except SlackApiError as exc:
                if error_code(exc) != "name_taken":
                    raise
                suffix = f"-{attempt}"
                candidate = base[: CHANNEL_NAME_MAX - len(suffix)] + suffix
                continue
            channel = str(created["channel"]["id"])
            self.dispatcher.record_space(group_id, channel, candidate)
            return channel
        raise DeliveryError("every channel name for this group is taken", retryable=False)

    def _invite(self, channel: str, person_ids: tuple[int, ...], bot_user_id: str | None) -> None:
        found = self.dispatcher.identities(person_ids)
        users = [found[p].user_id for p in person_ids if p in found]
        users = [user for user in users if user != bot_user_id]
        if not users:
            return
        harmless = ("already_in_channel", "cant_invite_self")
        try:
            self.client.conversations_invite(channel=channel, users=",".join(users))
        except SlackApiError as exc:
            if error_code(exc) not in harmless:
                raise
            if len(users) > 1:  # one member already there fails the whole call: one by one
                for user in users:
                    with _unless(*harmless):
                        self.client.conversations_invite(channel=channel, users=user)

    # Helpers -----------------------------------------------------------------------------------

    def _who(self, user_id: str, fallback_name: str = "") -> Who:
        directory = self.dispatcher.directory
        try:
            if isinstance(directory, SlackDirectory):
                found = directory.lookup(user_id)
            else:
                found = directory.describe(user_id)
        except SlackClientError as exc:
            log.warning("users.info failed for %s: %s", user_id, error_code(exc))
            stand_in = fallback_name or user_id
            self.refresh_name_later(user_id, stand_in, rate_limited(exc))
            return Who(Platform.SLACK, user_id, stand_in)
        return found or Who(Platform.SLACK, user_id, fallback_name or user_id)

    def refresh_name_later(self, user_id: str, stand_in: str, wait: float | None) -> None:
        """users.info failed: the Slack username stands in for the name until a retry finds it."""
        with session_scope(self.dispatcher.engine) as session:
            pending = session.exec(
                select(SlackDelivery).where(
                    SlackDelivery.kind == "name", col(SlackDelivery.done_at).is_(None)
                )
            ).all()
            if any(row.payload.get("user_id") == user_id for row in pending):
                return
            now = self.dispatcher.clock.now()
            session.add(
                SlackDelivery(
                    kind="name",
                    payload={"user_id": user_id, "stand_in": stand_in},
                    created_at=now,
                    next_try_at=now + timedelta(seconds=wait if wait is not None else 60.0),
                )
            )

    def _retry_name(self, row: SlackDelivery, now: datetime) -> int:
        """Look the person up again; replace the stand-in name (only if nobody changed it)."""
        user_id, stand_in = str(row.payload["user_id"]), str(row.payload["stand_in"])
        error: str | None = None
        wait: float | None = None
        who: Who | None = None
        try:
            directory = self.dispatcher.directory
            if isinstance(directory, SlackDirectory):
                who = directory.lookup(user_id)
            else:
                who = directory.describe(user_id)
        except SlackClientError as exc:
            error = error_code(exc)
            wait = rate_limited(exc) or min(60.0 * 2 ** min(row.attempts, 6), 3600.0)
        with session_scope(self.dispatcher.engine) as session:
            if who is not None:
                ident = identity_of(session, Platform.SLACK, user_id)
                person = session.get(Person, ident.person_id) if ident is not None else None
                if ident is not None and person is not None and person.display_name == stand_in:
                    person.display_name = who.display_name
                    if who.timezone:
                        person.timezone = who.timezone
                    conn = session.connection()
                    if ident.handle_index == name_index(conn, handle_of(stand_in)):
                        ident.handle_index = name_index(conn, handle_of(who.display_name))
                    session.add(person)
                    session.add(ident)
            _record_attempt(session, row, now, error=error, wait=wait)
        return 1 if wait is None else 0

    @staticmethod
    def origin_of_message(event: dict[str, Any]) -> Origin | None:
        """Where a person's message in their DM with the bot came from; None for anything else
        (other channels, edits and other subtypes, bots)."""
        if (
            event.get("channel_type") != "im"
            or event.get("subtype")
            or event.get("bot_id")
            or not event.get("user")
        ):
            return None
        return Origin(
            user_id=event["user"],
            channel_id=event["channel"],
            thread_ts=event.get("thread_ts"),
            direct=True,
        )

    @staticmethod
    def origin_of_click(body: dict[str, Any]) -> Origin:
        """Where a click came from (its message, channel, response_url or the Home tab)."""
        container = body.get("container") or {}
        view = body.get("view") or {}
        return Origin(
            user_id=body["user"]["id"],
            channel_id=container.get("channel_id") or (body.get("channel") or {}).get("id"),
            response_url=body.get("response_url"),
            message_ts=container.get("message_ts"),
            ephemeral=bool(container.get("is_ephemeral")),
            home=view.get("type") == "home",
        )

    def first_request(self, trigger_id: str) -> bool:
        """Record a command's or click's `trigger_id`: False if it was recorded before (Slack's
        signed request replayed). True when the database cannot say: the work then meets the
        same fault and tells the person, rather than their request vanishing."""
        engine = self.dispatcher.engine
        statement = (
            insert_for(engine.dialect.name)(ProcessedEvent)
            .values(key=f"trigger:{trigger_id}"[:200], at=self.dispatcher.clock.now())
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(ProcessedEvent.id))  # rowcount is -1 here on PostgreSQL
        )
        try:
            with engine.begin() as connection:
                return connection.execute(statement).scalar_one_or_none() is not None
        except SQLAlchemyError:
            log_failure(log, "could not record a trigger_id; the request runs unrecorded")
            return True

    def _first_delivery(self, body: dict[str, Any]) -> bool:
        event_id = body.get("event_id")
        if not event_id:
            return True
        try:
            with session_scope(self.dispatcher.engine) as session:
                session.add(ProcessedEvent(key=f"slack:{event_id}", at=self.dispatcher.clock.now()))
        except IntegrityError:
            log.info("dropped a repeated delivery of event %s", event_id)
            return False
        return True


# --- the app, its HTTP route and the runner -----------------------------------------------------


MODAL_FAILED = "coregroup_modal_failed"  # set on a job whose modal Slack would not open


def modal_for(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The modal a command or click opens at once (a form, or a button's question), if any.

    Built from the payload alone — no database, no Web API — so it can run in the ack path.
    """
    if not body.get("trigger_id"):
        return None
    if kind == "command":
        form = form_for(inbound_text(body.get("text") or ""))
        if form is None:
            return None
        packed = {
            "f": form.form.name,
            "c": body.get("channel_id"),
            "r": body.get("response_url"),
        }
        return form_modal(form.form, json.dumps(packed, separators=(",", ":")))
    if kind == "action":
        actions = body.get("actions") or [{}]
        action = actions[0]
        raw_value = action.get("value") or (action.get("selected_option") or {}).get("value", "")
        click = parse_click(str(action.get("action_id", "")), str(raw_value))
        if click.ask is None:
            return None
        origin = SlackHandlers.origin_of_click(body)
        return ask_modal(click.ask, origin.metadata(click.action, click.value))
    return None


class ModalOpener:
    """Opens modals from the ack path, on threads of the front process that never queue behind
    the work: Slack's trigger_id expires 3 seconds after the click, whatever the backlog.

    When Slack will not open one, the request goes to the work as usual (marked MODAL_FAILED): a
    command runs as typed, a click tells the person to try again.
    """

    def __init__(
        self, client: WebClient, submit: Callable[[SlackJob], None], *, threads: int = 4
    ) -> None:
        self.client = client
        self.submit = submit
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="slack-modal")

    def open_if_asked(self, job: SlackJob) -> bool:
        """Start opening the job's modal and return True, or False if it opens none."""
        try:
            view = modal_for(job.kind, job.body)
        except (KeyError, TypeError, ValueError, AttributeError):
            return False  # not shaped as expected: the work will say what is wrong
        if view is None:
            return False
        self._pool.submit(self._open, job, view)
        return True

    def _open(self, job: SlackJob, view: dict[str, Any]) -> None:
        try:
            self.client.views_open(trigger_id=job.body["trigger_id"], view=view)
        except SlackClientError as exc:
            code = error_code(exc)
            log.warning("views.open failed for a %s: %s", job.kind, code)
            body = {**job.body, "trigger_id": None, MODAL_FAILED: code}
            self.submit(SlackJob(job.kind, body, job.bot_user_id))
        except Exception:  # the opener's boundary: log, never lose the thread
            log_failure(log, "views.open crashed for a %s", job.kind)

    def close(self) -> None:
        """Finish the modals being opened."""
        self._pool.shutdown(wait=True)


def slack_mode(settings: Settings) -> str:
    """ "socket" or "http", or a ConfigError naming only the Slack settings that mode lacks."""
    if not settings.slack_bot_token:
        raise ConfigError(
            "Invalid configuration — Slack needs SLACK_BOT_TOKEN (the bot token, xoxb-…), with "
            "SLACK_APP_TOKEN for Socket Mode or SLACK_SIGNING_SECRET for HTTP mode"
        )
    if settings.slack_app_token:
        return "socket"
    if not settings.slack_signing_secret:
        raise ConfigError(
            "Invalid configuration — SLACK_SIGNING_SECRET is required in HTTP mode "
            "(or set SLACK_APP_TOKEN to use Socket Mode)"
        )
    return "http"


OTHER_WORKSPACE = "This app is installed for another workspace."


def installed_id(settings: Settings, context: BoltContext) -> str | None:
    """The workspace (T…) or Enterprise Grid org (E…) the app serves: SLACK_TEAM_ID, else the
    team auth.test names (its org for an org-wide install, where auth.test names no team)."""
    if settings.slack_team_id:
        return settings.slack_team_id
    result = context.authorize_result
    if result is None:
        return None
    return result.team_id or result.enterprise_id


def from_installed(settings: Settings, context: BoltContext) -> bool:
    """Whether the request comes from the installed workspace (or org, for an E… id)."""
    installed = installed_id(settings, context)
    if installed is None:
        return False  # auth.test could not say: refuse rather than serve anyone
    if installed.startswith("E"):
        return context.enterprise_id == installed
    return context.team_id == installed


def build_slack_app(
    settings: Settings,
    *,
    client: WebClient,
    submit: Callable[[SlackJob], None],
    modals: ModalOpener | None = None,
) -> App:
    """The Bolt app: every listener acknowledges at once and `submit`s the work as a SlackJob.

    A command or click that opens a modal has it opened by `modals` instead, from the ack path.
    A request from another workspace is refused (`from_installed`).
    """
    slack_mode(settings)
    app = App(
        name="coregroup",
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode needs no signing secret: Slack's connection is the proof of origin.
        request_verification_enabled=bool(settings.slack_signing_secret),
        process_before_response=True,
    )

    def ack_then(kind: str) -> Callable[..., None]:
        def ack_and_submit(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
            if not from_installed(settings, context):
                log.warning(
                    "refused a Slack %s from workspace %s (enterprise %s)",
                    kind,
                    context.team_id,
                    context.enterprise_id,
                )
                if kind == "command":
                    ack(text=OTHER_WORKSPACE, response_type="ephemeral")
                else:
                    ack()
                return
            ack()
            job = SlackJob(kind, body, context.bot_user_id)
            if modals is not None and modals.open_if_asked(job):
                return
            submit(job)

        return ack_and_submit

    app.command(COMMAND)(ack_then("command"))
    app.action(re.compile(".+"))(ack_then("action"))
    app.view(ASK_CALLBACK)(ack_then("answer"))
    app.view(FORM_CALLBACK)(ack_then("form"))
    app.event("message")(ack_then("message"))
    app.event("app_home_opened")(ack_then("home"))
    return app


# What Bolt raises reading a body not shaped as Slack sends it (a signed but broken request).
MALFORMED = (ValueError, TypeError, KeyError, AttributeError, IndexError)
SIGNATURE_MAX_AGE = 5 * 60  # seconds: Slack's own rule for replayed requests


def signed_by_slack(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> bool:
    """Whether the request carries Slack's v0 signature of `body`, made in the last 5 minutes.

    A missing or non-numeric timestamp is simply unsigned (401), never an error.
    """
    if not secret or not timestamp or not signature or not timestamp.isascii():
        return False
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


# Top-level keys Slack always sends as objects, and as lists of objects, when it sends them at all.
_OBJECTS = ("event", "view", "user", "team", "container", "channel", "enterprise", "message")
_LISTS = ("actions", "authorizations")


def slack_shaped(body: Any) -> bool:
    """Whether a parsed body has the shape of Slack's payloads where Bolt reads it."""
    if not isinstance(body, dict):
        return False
    for key in _OBJECTS:
        if body.get(key) is not None and not isinstance(body[key], dict):
            return False
    for key in _LISTS:
        items = body.get(key)
        if items is not None and not (
            isinstance(items, list) and all(isinstance(item, dict) for item in items)
        ):
            return False
    return True


def _refused(status: int, why: str) -> web.Response:
    return web.json_response({"error": why}, status=status)


def slack_routes(
    app: App, *, signing_secret: str | None = None, now: Callable[[], float] = time.time
) -> list[web.RouteDef]:
    """`POST /slack/events`: Slack's events, slash commands and interactivity, into Bolt.

    The signature is checked on the raw bytes before anything is parsed (401 when it is missing,
    wrong, stale or its timestamp is not a number); a signed body that is not what Slack sends
    (not UTF-8, broken JSON, not an object) answers 400. Neither ever reaches the work.
    """
    secret = signing_secret if signing_secret is not None else app._signing_secret

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()
        headers = request.headers
        if not signed_by_slack(
            secret,
            headers.get("X-Slack-Request-Timestamp"),
            headers.get("X-Slack-Signature"),
            raw,
            now(),
        ):
            return _refused(401, "invalid_request")
        try:
            bolt_request = BoltRequest(
                body=raw.decode("utf-8"), query=request.query_string, headers=dict(headers)
            )
        except MALFORMED:  # not UTF-8, a payload that is not JSON, JSON that is not an object
            return _refused(400, "malformed_body")
        if not slack_shaped(bolt_request.body):
            return _refused(400, "malformed_body")
        # Bolt only verifies, routes and acks here (no I/O): run it inline on the event loop.
        response = app.dispatch(bolt_request)
        if response.status >= 500:  # Bolt could not read it (it logged why): the request's fault
            log.warning("refused a signed Slack request Bolt could not read")
            return _refused(400, "malformed_body")
        return web.Response(
            status=response.status,
            body=response.body.encode(),
            headers=response.first_headers_without_set_cookie(),
        )

    return [web.post(EVENTS_PATH, events)]


def slack_handlers(
    settings: Settings, engine: Engine, clock: Clock, *, pacer: Pacer | None = None
) -> SlackHandlers:
    """The work side: Web API client, directory, dispatcher and outbox behind the handlers."""
    limits = RateLimits(now=lambda: clock.now().timestamp())  # Retry-After on the bot's clock
    client = slack_client(settings, limits=limits)
    dispatcher = Dispatcher(
        engine=engine,
        clock=clock,
        locale=Locale.from_settings(settings),
        platform=Platform.SLACK,
        directory=SlackDirectory(client),
        registry=build_registry(),
    )
    # Posts to one channel are spaced across every process of the bot (booked in the database);
    # a simulated clock lives in one process, where the in-process pacer does.
    if pacer is None:
        pacer = SharedPacer(engine, clock.now) if isinstance(clock, SystemClock) else Pacer()
    outbox = SlackOutbox(client, dispatcher, pacer=pacer, limits=limits)
    return SlackHandlers(dispatcher, client, outbox)


def process_runner(
    settings: Settings, keks: KeyEncryptionKeys | None
) -> Callable[[SlackJob], None]:
    """In a worker process: handlers on their own database engine (opening the data keys with the
    parent's KEKs) and the system clock."""
    configure_logging(settings.log_level, settings.log_format)
    engine = make_engine(settings.database_url, keks)
    return slack_handlers(settings, engine, SystemClock()).run


class Work(Protocol):
    """Where acknowledged requests are worked on (bot.adapters.slack_work)."""

    def submit(self, job: SlackJob) -> None: ...

    def ready(self) -> bool: ...

    def close(self) -> None: ...


@dataclass
class SlackRuntime:
    """The Slack side: the Bolt app, the dispatcher and outbox behind it, and its work pool."""

    app: App
    dispatcher: Dispatcher
    outbox: SlackOutbox
    work: Work
    modals: ModalOpener
    handlers: SlackHandlers

    def retry_deferred(self) -> int:
        """Do the work Slack deferred (rate-limited posts and channels) that is now due."""
        return self.handlers.retry_deferred()

    def ready(self) -> bool:
        """Whether the workers can work (for `/healthz`)."""
        return self.work.ready()

    def close(self) -> None:
        """Finish the modals being opened and the work in hand, then stop the pool."""
        self.modals.close()
        self.work.close()


def build_slack_runtime(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    *,
    pacer: Pacer | None = None,
    processes: int = 0,
) -> SlackRuntime:
    """The Slack app and its work pool: `processes` worker processes, or threads here if 0."""
    handlers = slack_handlers(settings, engine, clock, pacer=pacer)
    work: Work
    if processes:
        keks = keys_of(engine.dialect).keks
        work = ProcessWork(
            partial(process_runner, settings, keks), processes=processes, on_lost=handlers.job_lost
        )
    else:
        work = ThreadWork(handlers.run)
    modals = ModalOpener(handlers.client, work.submit)
    app = build_slack_app(settings, client=handlers.client, submit=work.submit, modals=modals)
    return SlackRuntime(app, handlers.dispatcher, handlers.outbox, work, modals, handlers)


def default_processes(clock: Clock) -> int:
    """Worker processes for `coregroup run`: one per CPU (2 to 8); none for a simulated clock."""
    if not isinstance(clock, SystemClock):
        return 0  # a simulated clock lives in this process only
    return max(2, min(8, os.cpu_count() or 2))


def connect_socket_mode(runtime: SlackRuntime, settings: Settings) -> SocketModeHandler:
    """Connect to Slack over Socket Mode (apps.connections.open, then the WebSocket it names):
    envelopes are acked on the connection and their work goes to the runtime's pool. The client
    reconnects by itself when Slack says `disconnect` or the connection drops."""
    socket = SocketModeHandler(
        runtime.app, settings.slack_app_token or "", web_client=runtime.handlers.client
    )
    socket.connect()
    return socket


def run_slack(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    *,
    on_outbox: Callable[[Outbox], Any] | None = None,
) -> None:
    """Serve Slack until SIGINT/SIGTERM: Socket Mode if SLACK_APP_TOKEN is set, else HTTP.

    `on_outbox` receives the Slack outbox once the app is built (the reminder scheduler).
    """
    mode = slack_mode(settings)  # before any worker starts: a clear error names what is missing
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime = build_slack_runtime(settings, engine, clock, processes=default_processes(clock))
    scheduler = on_outbox(runtime.outbox) if on_outbox is not None else None

    def retry_loop() -> None:  # the work Slack deferred, from this process only: one retrier
        while not stop.wait(RETRY_EVERY):
            try:
                runtime.retry_deferred()
            except Exception:  # the loop's boundary: log it and try again next time
                log_failure(log, "retrying deferred Slack work failed")

    threading.Thread(target=retry_loop, name="slack-retry", daemon=True).start()
    socket: SocketModeHandler | None = None
    if mode == "socket":
        socket = connect_socket_mode(runtime, settings)
        routes: list[web.RouteDef] = []
    else:
        routes = slack_routes(runtime.app)
    signer = LinkSigner.from_settings(settings, clock)
    if signer is not None:  # signed download links in emails (EMAIL_DELIVERY=link)
        routes += download_routes(engine=engine, locale=runtime.dispatcher.locale, signer=signer)
    # The family's pages (/family/...), when PUBLIC_URL and DOCUMENT_LINK_SECRET are set.
    routes += family_routes(
        engine=engine,
        locale=runtime.dispatcher.locale,
        clock=clock,
        alert=AlertSender(runtime.outbox, mailer_for(settings)),
    )
    readiness = slack_readiness(settings, engine)
    routes += readiness_routes(readiness)
    # /healthz waits for the workers; /readyz for the database and Slack; /metrics.
    web_app = instrument(build_web_app(engine, routes, ready=runtime.ready), engine, clock.now)
    server = WebServer(web_app, port=settings.port).start()
    if socket is not None:
        mode = "Socket Mode (connected to Slack; no public URL needed)"
    else:
        mode = f"HTTP mode (Slack sends requests to POST {EVENTS_PATH} on port {server.port})"
    sys.stdout.write(
        f"Core Group Bot is running on Slack in {mode}; GET /healthz on port {server.port}.\n"
    )
    sys.stdout.flush()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        closers = [socket.close] if socket is not None else []
        stop_gracefully(
            readiness=readiness,
            server=server,
            scheduler=scheduler,
            closers=[*closers, runtime.close],
            drain_seconds=settings.shutdown_drain_seconds,
        )
