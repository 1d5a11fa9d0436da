"""The Microsoft Teams adapter: Bot Framework activities in, the neutral core, Adaptive Cards out.

`POST /api/messages` receives activities from the Bot Connector. Each is authenticated (see
teams_auth), parsed with the Agents SDK's Activity model, then handled on a worker thread: a card
submit is a click, `@CoreGroup schedule …` in a channel or group chat is a command, and in a 1:1
chat `schedule …` or `/coregroup schedule …` is a command while anything else goes to the
conversations (answers to update questions, replies to reminders). Replies go out through the
paced Bot Connector client (teams_outbox); group spaces are made with Microsoft Graph (teams_graph).

Teams has no private ("ephemeral") replies in a shared conversation, so what the core addresses to
the actor alone is sent to the actor's 1:1 chat with the bot, never to the channel or group chat.

With credentials (single-tenant), an activity naming another tenant (`channelData.tenant.id`, else
`conversation.tenantId`) than MICROSOFT_APP_TENANT_ID is refused with 403 before any work; the
anonymous development mode checks none. A redelivered activity (same `id`) is handled once.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from microsoft_agents.activity import Activity, ChannelAccount
from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.adapters import teams_pending
from bot.adapters.delivery import describe, undelivered_report
from bot.adapters.downloads import download_routes
from bot.adapters.family_web import AlertSender, family_routes, mailer_for
from bot.adapters.mailer import Mailer
from bot.adapters.metrics import instrument
from bot.adapters.readiness import readiness_routes, teams_readiness
from bot.adapters.shutdown import stop_gracefully
from bot.adapters.signed_links import LinkSigner
from bot.adapters.teams_auth import BotFrameworkAuth, KeysUnavailable, TokenSource, Unauthorized
from bot.adapters.teams_files import DownloadLinks
from bot.adapters.teams_graph import NO_CHAT, NOT_IN_CHAT, Graph, Removal
from bot.adapters.teams_outbox import (
    HELD,
    ApiError,
    Connector,
    Http,
    IoLoop,
    Place,
    TeamsOutbox,
    message_ref,
)
from bot.adapters.web import WebServer, build_web_app
from bot.clock import Clock
from bot.config import ConfigError, Settings
from bot.core.context import Locale
from bot.core.groups import active_membership, chairs, space_name
from bot.core.people import Who, identity_of
from bot.core.ports import DeliveryError, Outbox
from bot.core.updates import active_update
from bot.logs import log_failure
from bot.messages import (
    AddToSpace,
    ArchiveSpace,
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
from bot.render.adaptive import BOT_NAME, parse_submit
from bot.render.preview import kind_of
from commands import build_registry
from commands.dispatch import COMMAND, Dispatcher
from commands.parse import is_reference
from storage.db import session_scope
from storage.enums import Platform
from storage.models import Case, ChatIdentity, CoreGroup, ProcessedEvent, TeamsPending

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
BOT_FRAMEWORK_METADATA = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ENTRA_AUTHORITY = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
SERVICE_URL = "https://smba.trafficmanager.net/teams/"
MAX_BODY = 256 * 1024  # activities are a few kilobytes; refuse anything absurd before parsing
PERSONAL = "personal"
LOOPBACK = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"
CHANNEL = "channel"
REMOVAL_RETRY_FIRST = timedelta(seconds=30)  # before a refused removal is tried again (doubling)
REMOVAL_RETRY_MAX = timedelta(minutes=10)
RETRY_EVERY = 15.0  # seconds between looks for refused removals and held posts that are due
HELD_NOTE = (
    "Not posted in the group chat yet: someone removed from the group can still see it (Teams "
    "would not take them out), so it is kept and will be posted once they are out."
)


class EntraUnknown(DeliveryError):
    """Nobody could say which Entra account a person is, so Graph cannot be asked to remove
    them from a chat (they may still be in it)."""


class TeamsSettings(BaseSettings):
    """Teams-only settings (TEAMS_*), read beside the shared Settings."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    teams_openid_metadata_url: str = BOT_FRAMEWORK_METADATA
    teams_authority_url: str = ENTRA_AUTHORITY
    teams_graph_url: str = GRAPH_URL
    teams_service_url: str = SERVICE_URL
    teams_space_mode: Literal["groupchat", "channel"] = "groupchat"
    teams_team_id: str | None = None
    teams_anonymous_dev: bool = False
    teams_port: int = 3978
    # Unset: 127.0.0.1 in the anonymous mode (nothing else may reach it), else every interface.
    teams_host: str | None = None
    teams_ca_bundle: str | None = None
    teams_developer_name: str = "Core Group Bot"
    teams_website_url: str = (
        "https://www.gov.uk/government/publications/working-together-to-safeguard-children--2"
    )
    teams_privacy_url: str = "https://www.gov.uk/help/privacy-notice"
    teams_terms_url: str = "https://www.gov.uk/help/terms-conditions"

    @model_validator(mode="after")
    def _channel_needs_team(self) -> TeamsSettings:
        if self.teams_space_mode == "channel" and not self.teams_team_id:
            raise ValueError("TEAMS_SPACE_MODE=channel needs TEAMS_TEAM_ID (the team's group id)")
        return self


def load_teams_settings(**overrides: Any) -> TeamsSettings:
    """Read and validate the TEAMS_* settings, as one clear ConfigError when they are wrong."""
    try:
        return TeamsSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in exc.errors())
        raise ConfigError(f"Invalid configuration — {problems}") from None


def teams_requested(settings: Settings, teams: TeamsSettings) -> bool:
    """Whether the environment asks for Teams at all (credentials, or the anonymous mode)."""
    return bool(
        settings.microsoft_app_id
        or settings.microsoft_app_password
        or settings.microsoft_app_tenant_id
        or teams.teams_anonymous_dev
    )


def is_anonymous(settings: Settings, teams: TeamsSettings) -> bool:
    """Whether to run without authentication; refuses any half-configured combination."""
    credentials = (
        ("MICROSOFT_APP_ID", settings.microsoft_app_id),
        ("MICROSOFT_APP_PASSWORD", settings.microsoft_app_password),
        ("MICROSOFT_APP_TENANT_ID", settings.microsoft_app_tenant_id),
    )
    given = [name for name, value in credentials if value]
    if teams.teams_anonymous_dev and given:
        raise ConfigError(
            "Invalid configuration — TEAMS_ANONYMOUS_DEV=true turns authentication off, so it "
            f"cannot be combined with {', '.join(given)}: unset TEAMS_ANONYMOUS_DEV to run the "
            "registered bot, or unset the MICROSOFT_APP_* variables to try it locally"
        )
    if given:
        missing = [name for name, value in credentials if not value]
        if missing:
            raise ConfigError(f"Invalid configuration — Teams needs {' and '.join(missing)}")
        return False
    if teams.teams_anonymous_dev:
        return True
    raise ConfigError(
        "Invalid configuration — set MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and "
        "MICROSOFT_APP_TENANT_ID, or TEAMS_ANONYMOUS_DEV=true to try the bot locally without "
        "authentication (development only)"
    )


def listen_host(teams: TeamsSettings, *, anonymous: bool) -> str:
    """The address to listen on: TEAMS_HOST, else loopback only when unauthenticated."""
    if teams.teams_host:
        return teams.teams_host
    return LOOPBACK if anonymous else ALL_INTERFACES


# --- inbound text -------------------------------------------------------------------------------

_BREAK = re.compile(r"<br\s*/?>|</p>|</div>", re.IGNORECASE)
# Teams' "Reply" to one message quotes it: the quote names the message, and is not part of the
# reply's own words.
_QUOTE = re.compile(
    r"<blockquote[^>]*schema\.skype\.com/Reply[^>]*>.*?</blockquote>", re.IGNORECASE | re.DOTALL
)
_QUOTED_ID = re.compile(r'itemid="([^"]+)"', re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_NOT_PEOPLE = frozenset({"tag", "channel", "team"})
_THREAD = "19:"
_REPEATED_MENTION = re.compile(r"(<@[^>\s]+>)(?: \1)+")


def inbound_text(activity: Activity) -> str:
    """The activity's text as the core's literal text: the bot's mention dropped, people's
    mentions as `<@id>` tokens, HTML markup and entities turned back into plain characters."""
    text = _QUOTE.sub("", (activity.text or "").replace("\x00", ""))
    tokens: dict[str, str] = {}
    bot_id = activity.recipient.id if activity.recipient else None
    for number, mention in enumerate(activity.get_mentions()):
        account = mention.mentioned
        if not mention.text or account is None or mention.text not in text:
            continue
        if account.id == bot_id:
            token = ""
        elif is_person(account):
            token = f"<@{account.id}>"
        else:  # a tag, channel or team mention: keep its visible words
            token = "@" + html.unescape(_TAG.sub("", mention.text))
        marker = f"\x00{number}\x00"
        text = text.replace(mention.text, marker, 1)
        tokens[marker] = token
    text = html.unescape(_TAG.sub("", _BREAK.sub("\n", text))).replace("\xa0", " ")
    for marker, token in tokens.items():
        text = text.replace(marker, token)
    text = re.sub(r"[ \t]+", " ", text).strip()
    # Teams may mention "Megan Bowen" as two entities, one a word, both naming the same person.
    return _REPEATED_MENTION.sub(r"\1", text)


def is_person(account: ChannelAccount) -> bool:
    """Whether a mentioned account is a person (not a tag, a channel or a team).

    Teams' own user ids start `29:` or `8:orgid:`; the Agents Playground's are `user-id-1` and
    so on. Tags, channels and teams say so in the account's `type`, and channels and teams have
    thread ids (`19:…`).
    """
    kind = (account.model_extra or {}).get("type")
    if kind in _NOT_PEOPLE or (account.id or "").startswith(_THREAD):
        return False
    return bool(account.id)


def answered_id(activity: Activity) -> str | None:
    """The id of the message this one answers: the one it quotes, or its reply-chain parent."""
    quote = _QUOTE.search(activity.text or "")
    found = _QUOTED_ID.search(quote.group(0)) if quote else None
    return found.group(1) if found else activity.reply_to_id


def command_text(text: str, *, personal: bool, known: set[str]) -> str | None:
    """The /coregroup arguments in `text`, or None when it is an ordinary message.

    Everything addressed to the bot in a channel or group chat is a command; in a 1:1 chat only
    text starting with `/coregroup`, a command word (`known`) or a case reference is.
    """
    typed_name = "@" + BOT_NAME  # the bot's hints say "@Core Group Bot status"; typed as text
    if text.lower().startswith(typed_name.lower()):
        return text[len(typed_name) :].strip()
    first, _, rest = text.partition(" ")
    if first.lower() in (COMMAND, COMMAND.lstrip("/")):
        return rest.strip()
    if not personal:
        return text
    if first.lower() in known or is_reference(first):
        return text
    return None


# --- who is who -----------------------------------------------------------------------------------


class TeamsDirectory:
    """People the bot has seen in activities (senders and mentions), with their Entra ids."""

    def __init__(self) -> None:
        self._people: dict[str, Who] = {}
        self._entra: dict[str, str] = {}

    def learn(self, user_id: str, name: str | None, entra_id: str | None = None) -> None:
        """Remember a Teams user from an activity."""
        known = self._people.get(user_id)
        self._people[user_id] = Who(
            Platform.TEAMS, user_id, name or (known.display_name if known else "") or user_id
        )
        if entra_id:
            self._entra[user_id] = entra_id

    def describe(self, user_id: str) -> Who | None:
        """A Teams user seen before (a mention in this very message included)."""
        return self._people.get(user_id)

    def entra_id(self, user_id: str) -> str | None:
        """The user's Entra object id, if Teams has told us."""
        return self._entra.get(user_id)


@dataclass(frozen=True)
class Turn:
    """One inbound activity: who sent it, from which conversation, answering which card."""

    service_url: str
    conversation_id: str  # where to answer (a channel thread includes ";messageid=…")
    space_id: str  # what the core calls the place: the chat id, or the channel id
    personal: bool
    user_id: str
    user_name: str
    activity_id: str | None
    reply_to_id: str | None
    timezone: str | None

    @classmethod
    def of(cls, activity: Activity) -> Turn:
        """The turn an activity starts."""
        conversation = activity.conversation
        kind = conversation.conversation_type or PERSONAL
        space = conversation.id
        channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        if kind == CHANNEL:
            space = (channel_data.get("channel") or {}).get("id") or space.split(";")[0]
        sender = activity.from_property
        return cls(
            service_url=activity.service_url or "",
            conversation_id=conversation.id,
            space_id=space,
            personal=kind == PERSONAL,
            user_id=sender.id if sender else "",
            user_name=(sender.name if sender else "") or "",
            activity_id=activity.id,
            reply_to_id=activity.reply_to_id,
            timezone=activity.local_timezone,
        )

    @property
    def place(self) -> Place:
        """The conversation this turn came from."""
        return Place(self.service_url, self.conversation_id)


# --- the bot --------------------------------------------------------------------------------------


class TeamsBot:
    """Authenticates activities, hands them to the dispatcher and delivers the replies."""

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        directory: TeamsDirectory,
        outbox: TeamsOutbox,
        io: IoLoop,
        auth: BotFrameworkAuth | None,
        graph: Graph | None,
        teams: TeamsSettings,
        app_id: str | None,
        tenant_id: str | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.directory = directory
        self.outbox = outbox
        self.io = io
        self.auth = auth
        self.graph = graph
        self.teams = teams
        self.app_id = app_id
        self.tenant_id = tenant_id  # the only tenant served; None: any (anonymous mode)
        self._lock = threading.Lock()
        self._waiting: dict[int, list[Message]] = {}  # group messages held until its chat exists
        # Per worker thread: whether this turn's private answer went to the actor's 1:1 chat.
        self._turn = threading.local()

    # HTTP ----------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        """`POST /api/messages`: 401 unless authenticated, else handle the activity, then 200."""
        authorization = request.headers.get("Authorization")
        if self.auth is not None and not authorization:
            return _refuse("no Authorization header")
        if (request.content_length or 0) > MAX_BODY:
            return web.json_response({"error": "activity too large"}, status=413)
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"error": "the body is not an activity"}, status=400)
        try:
            await self._authenticate(authorization, payload)
        except Unauthorized as exc:
            return _refuse(str(exc))
        except KeysUnavailable as exc:
            log.error(
                "could not check a request to %s: the Bot Framework signing keys are "
                "unreachable (%s); answered 503 so the Bot Connector may try again",
                MESSAGES_PATH,
                exc,
            )
            return web.json_response({"error": "signing keys unavailable"}, status=503)
        tenant = tenant_of(payload)
        if self.tenant_id and tenant is not None and tenant.lower() != self.tenant_id.lower():
            log.warning("refused a Teams activity from tenant %r", tenant[:64])
            return web.json_response({"error": "another tenant"}, status=403)
        try:
            activity = Activity.model_validate(payload)
        except ValidationError:
            return web.json_response({"error": "the body is not an activity"}, status=400)
        await asyncio.to_thread(self.process, activity)
        return web.Response(status=200)

    async def _authenticate(self, authorization: str | None, payload: dict[str, Any]) -> None:
        if self.auth is None:  # the anonymous development mode
            return
        service_url, channel_id = payload.get("serviceUrl"), payload.get("channelId")
        await self.io.run_from(
            self.auth.check(
                authorization,
                service_url=service_url if isinstance(service_url, str) else None,
                channel_id=channel_id if isinstance(channel_id, str) else None,
            )
        )

    # Activities ----------------------------------------------------------------------------

    def process(self, activity: Activity) -> None:
        """Handle one authenticated activity (on a worker thread)."""
        if (
            activity.type != "message"
            or activity.conversation is None
            or not activity.from_property
        ):
            return
        turn = Turn.of(activity)
        if not self._first_delivery(turn):
            return
        self._learn(activity, turn)
        who = Who(Platform.TEAMS, turn.user_id, turn.user_name, _timezone(turn.timezone))
        reply = self._dispatch(activity, turn, who)
        if reply is None:
            return
        if turn.personal:
            self._remember_dm(activity, turn)
        self.deliver(reply, turn)

    def _dispatch(self, activity: Activity, turn: Turn, who: Who) -> Reply | None:
        click = parse_submit(activity.value) if activity.value is not None else None
        if click is not None:
            return self.dispatcher.click(
                who, click.action, click.value, text=click.text, channel_id=turn.space_id
            )
        text = inbound_text(activity)
        if not text and turn.personal:
            return None
        registry = self.dispatcher.registry
        known = {*registry.words(), "help", "?"}
        command = command_text(text, personal=turn.personal, known=known)
        typed_command = text.lower().startswith(COMMAND.lstrip("/")) or text.startswith(COMMAND)
        if command is not None and turn.personal and not typed_command and self._answering(turn):
            command = None  # part-way through an update, "team work is good" is an answer
        if command is not None:
            return self.dispatcher.command(who, command, channel_id=turn.space_id)
        answered = answered_id(activity)
        return self.dispatcher.message(
            who,
            text,
            channel_id=turn.space_id,
            direct=True,
            answering=message_ref(turn.conversation_id, answered) if answered else None,
        )

    def _answering(self, turn: Turn) -> bool:
        """Whether the sender is part-way through answering their update questions."""
        with Session(self.dispatcher.engine) as session:
            ident = identity_of(session, Platform.TEAMS, turn.user_id)
            if ident is None:
                return False
            now = self.dispatcher.clock.now()
            return active_update(session, person_id=ident.person_id, now=now) is not None

    def _learn(self, activity: Activity, turn: Turn) -> None:
        sender = activity.from_property
        assert sender is not None
        self.directory.learn(sender.id, sender.name, sender.aad_object_id)
        bot_id = activity.recipient.id if activity.recipient else None
        for mention in activity.get_mentions():
            account = mention.mentioned
            if account is not None and is_person(account) and account.id != bot_id:
                self.directory.learn(account.id, account.name, account.aad_object_id)
        if turn.service_url:
            self.outbox.service_url = turn.service_url
        tenant = activity.conversation.tenant_id if activity.conversation else None
        if tenant and not self.outbox.tenant_id:
            self.outbox.tenant_id = tenant

    def _first_delivery(self, turn: Turn) -> bool:
        """False when this activity was handled before (the connector delivered it twice)."""
        if not turn.activity_id:
            return True
        digest = hashlib.sha256(f"{turn.conversation_id}|{turn.activity_id}".encode()).hexdigest()
        try:
            with session_scope(self.dispatcher.engine) as session:
                session.add(ProcessedEvent(key=f"teams:{digest}", at=self.dispatcher.clock.now()))
        except IntegrityError:
            log.info("dropped a repeated delivery of a Teams activity")
            return False
        return True

    def _remember_dm(self, activity: Activity, turn: Turn) -> None:
        """Keep the reference to a person's 1:1 chat, for reminders and update questions."""
        with Session(self.dispatcher.engine) as session:
            ident = identity_of(session, Platform.TEAMS, turn.user_id)
            if ident is None or ident.dm_channel_id == turn.conversation_id:
                return
            person_id = ident.person_id
        reference = activity.get_conversation_reference().model_dump(
            by_alias=True, exclude_none=True, mode="json"
        )
        reference.pop("activityId", None)
        self.dispatcher.remember_dm(person_id, turn.conversation_id, reference)

    # Delivery ------------------------------------------------------------------------------

    def deliver(self, reply: Reply, turn: Turn) -> None:
        """Carry out the reply's effects and send its messages; closing a space comes last.

        Copies for others that Teams refused are reported to the actor afterwards, so nobody
        is told a copy went out when it did not.
        """
        first = [e for e in reply.effects if not isinstance(e, ArchiveSpace)]
        last = [e for e in reply.effects if isinstance(e, ArchiveSpace)]
        self._turn.privately = self._turn.held = self._turn.refused = False
        notes = self._apply_all(first, turn)
        failed: list[Outbound] = []
        for item in [*reply.outbound, *(Outbound(ToActor(), Message.plain(n)) for n in notes)]:
            if not self._send(item, turn):
                failed.append(item)
        for note in self._apply_all(last, turn):
            self._send(Outbound(ToActor(), Message.plain(note)), turn)
        if self._turn.held and not self._turn.refused:  # a refusal's own note says it all
            self._send(Outbound(ToActor(), Message.plain(HELD_NOTE)), turn)
        report = undelivered_report(reply.outbound, failed, self.dispatcher.display_names)
        if report is not None:
            self._send(Outbound(ToActor(), report), turn)
        if self._turn.privately and not self._held(turn):
            self._point_to_private_reply(turn)

    def _send(self, item: Outbound, turn: Turn) -> bool:
        try:
            self._route(item.to, item.message, turn)
        except DeliveryError as exc:
            log.error("could not deliver %s %s: %s", kind_of(item.message), describe(item.to), exc)
            return False
        return True

    def _route(self, to: object, message: Message, turn: Turn) -> None:
        match to:
            case InPlace() if turn.reply_to_id and self._held(turn):
                # Someone removed may still be in this chat: the clicked card keeps what it
                # showed, and the person who clicked is answered privately.
                self._to_actor(message, turn)
                self.outbox.update_copies(message, clicked=turn.reply_to_id)
            case InPlace() if turn.reply_to_id:
                self.outbox.update(turn.place, turn.reply_to_id, message)
                self.outbox.update_copies(message, clicked=turn.reply_to_id)
            case ToActor() | InPlace():
                self._to_actor(message, turn)
            case ToGroup(group_id=group_id) if self._space_pending(group_id):
                # The group chat starts with the first member added; say this there and then.
                with self._lock:
                    self._waiting.setdefault(group_id, []).append(message)
            case ToGroup() | ToPerson():
                if self.outbox.send(to, message).startswith(HELD):
                    self._turn.held = True

    def _held(self, turn: Turn) -> bool:
        """Whether the turn came from a group chat someone removed may still be in."""
        space = turn.space_id
        return not turn.personal and bool(teams_pending.chats_held(self.dispatcher.engine, {space}))

    def _point_to_private_reply(self, turn: Turn) -> None:
        """In a channel or group chat, say visibly where the private answer went."""
        name = turn.user_name.split(" ")[0] or "you"
        try:
            self.outbox.post(
                turn.place,
                Message.plain(
                    f"{name}: I've answered you in our 1:1 chat (Chat → Core Group Bot)."
                ),
                reply_to=turn.activity_id,
            )
        except DeliveryError as exc:
            log.warning("could not point to a private answer: %s", exc)

    def _space_pending(self, group_id: int) -> bool:
        return (
            self.graph is not None
            and self.teams.teams_space_mode != CHANNEL
            and self.dispatcher.group_channel(group_id) is None
        )

    def _space_created(self, group_id: int, space: str, name: str) -> None:
        self.dispatcher.record_space(group_id, space, name)
        with self._lock:
            waiting = self._waiting.pop(group_id, [])
        for message in waiting:
            self.outbox.send(ToGroup(group_id), message)

    def _to_actor(self, message: Message, turn: Turn) -> None:
        if turn.personal:
            self.outbox.post(turn.place, message)
            return
        person_id = self._person_id(turn.user_id)
        try:
            if person_id is None:
                raise DeliveryError("unknown person", retryable=False)
            self.outbox.post(self.outbox.personal_place(person_id), message)
            self._turn.privately = True  # said in the channel or group chat: say where it went
        except DeliveryError as exc:
            log.warning("could not answer privately: %s", exc)
            if self._held(turn):  # someone removed may still read this chat: nothing new in it
                return
            self.outbox.post(
                turn.place,
                Message.plain(
                    "I couldn't message you privately. Open a chat with Core Group Bot "
                    "(search for it under Apps) and try again there."
                ),
                reply_to=turn.activity_id,
            )

    def _person_id(self, user_id: str) -> int | None:
        with Session(self.dispatcher.engine) as session:
            ident = identity_of(session, Platform.TEAMS, user_id)
            return ident.person_id if ident else None

    # Spaces --------------------------------------------------------------------------------

    def _apply_all(self, effects: Sequence[Effect], turn: Turn) -> list[str]:
        notes: list[str] = []
        for effect in effects:
            try:
                notes += self._apply(effect, turn)
            except DeliveryError as exc:
                log.error("Microsoft Graph refused %s: %s", type(effect).__name__, exc)
                notes.append(
                    "I couldn't update the group's Teams space. Ask your Teams administrator to "
                    "check Core Group Bot's Graph permissions; nothing else was affected."
                )
        return notes

    def _apply(self, effect: Effect, turn: Turn) -> list[str]:
        if self.graph is None:
            return self._apply_anonymous(effect, turn)
        match effect:
            case CreateSpace(group_id=group_id, name=name, topic=topic, member_ids=members):
                if self.dispatcher.group_channel(group_id) is not None:
                    return self._add(group_id, members, turn)
                return self._create(group_id, name, topic, members, turn)
            case AddToSpace(group_id=group_id, person_ids=people):
                return self._add(group_id, people, turn)
            case RemoveFromSpace(group_id=group_id, person_id=person_id):
                return self._remove(group_id, person_id, turn)
            case ArchiveSpace(group_id=group_id):
                return self._archive(group_id)
        return []

    def _apply_anonymous(self, effect: Effect, turn: Turn) -> list[str]:
        """Development mode has no Graph: the conversation in use stands in for a new space."""
        if (
            isinstance(effect, CreateSpace)
            and self.dispatcher.group_channel(effect.group_id) is None
        ):
            self.dispatcher.record_space(effect.group_id, turn.space_id, effect.name)
            return [
                "Development mode: no Teams group chat was created; this conversation stands in "
                "for the group's space."
            ]
        return []

    def _create(
        self, group_id: int, name: str, topic: str, members: tuple[int, ...], turn: Turn
    ) -> list[str]:
        assert self.graph is not None
        graph = self.graph
        if self.teams.teams_space_mode == CHANNEL:
            team = self.teams.teams_team_id
            assert team is not None
            channel = self.io.run(graph.create_channel(team, name, topic))
            notes = self._add_to_team(members, turn)
            self._space_created(group_id, channel, name)
            return notes
        found, notes = self._entra_ids(members, turn)
        if len(found) < 2:
            # A group chat needs at least two people; it is made when the first member is added.
            return notes
        chat = self.io.run(graph.create_chat(name, list(found.values())))
        self.io.run(graph.install_in_chat(chat, self._app_id()))
        self._space_created(group_id, chat, name)
        return notes

    def _add(self, group_id: int, people: tuple[int, ...], turn: Turn) -> list[str]:
        assert self.graph is not None
        graph = self.graph
        space = self.dispatcher.group_channel(group_id)
        if space is None and self.teams.teams_space_mode != CHANNEL:
            actor = self._person_id(turn.user_id)
            everyone = tuple(dict.fromkeys(((actor,) if actor else ()) + people))
            return self._create(group_id, self._space_name(group_id), "", everyone, turn)
        if space is None:
            return []
        if self.teams.teams_space_mode == CHANNEL:
            return self._add_to_team(people, turn)
        found, notes = self._entra_ids(people, turn)
        for entra in found.values():
            self.io.run(graph.add_to_chat(space, entra))
        return notes

    def _add_to_team(self, people: tuple[int, ...], turn: Turn) -> list[str]:
        """Channel mode: a standard channel is open to the team, so members join the team."""
        assert self.graph is not None and self.teams.teams_team_id is not None
        found, notes = self._entra_ids(people, turn)
        for entra in found.values():
            self.io.run(self.graph.add_to_team(self.teams.teams_team_id, entra))
        return notes

    def _remove(self, group_id: int, person_id: int, turn: Turn) -> list[str]:
        assert self.graph is not None
        space = self.dispatcher.group_channel(group_id)
        if space is None:
            return []
        if self.teams.teams_space_mode == CHANNEL:
            return [
                "They still belong to the team that holds the group's channel: if they should no "
                "longer see it, a team owner must remove them from the team."
            ]
        try:
            outcome = self._take_out(person_id, space)
        except DeliveryError as exc:
            return [self._removal_refused(group_id, person_id, space, exc, turn)]
        if outcome == NO_CHAT:
            log.info(
                "group %s's chat is gone from Teams: person %s counted out", group_id, person_id
            )
        return []

    def _take_out(self, person_id: int, chat: str, aad_id: str | None = None) -> Removal:
        """Take a person out of the group chat. Raises DeliveryError: Graph refused, or
        EntraUnknown (their Entra id is neither known nor in the chat's roster)."""
        assert self.graph is not None
        ident = self.dispatcher.identities([person_id]).get(person_id)
        if ident is None:  # never on Teams with the bot, so never added to its chat
            return NOT_IN_CHAT
        entra = aad_id or self._known_entra_id(ident)
        if entra is None:
            try:
                roster = self.io.run(self.outbox.connector.members(self.outbox.service_url, chat))
            except DeliveryError as exc:
                raise EntraUnknown(f"the chat's roster could not be read: {exc}") from exc
            member = next((m for m in roster if m.get("id") == ident.user_id), None)
            if member is None:  # the chat's own roster does not list them
                return NOT_IN_CHAT
            entra = member.get("aadObjectId")
            if not isinstance(entra, str) or not entra:
                raise EntraUnknown("the chat's roster gives no Entra id")
            self.directory.learn(ident.user_id, member.get("name"), entra)
        return self.io.run(self.graph.remove_from_chat(chat, entra))

    def _removal_refused(
        self, group_id: int, person_id: int, chat: str, exc: DeliveryError, turn: Turn
    ) -> str:
        """Keep the removal to retry (`retry_deferred`); the chat gets nothing meanwhile."""
        unknown = isinstance(exc, EntraUnknown)
        ident = self.dispatcher.identities([person_id]).get(person_id)
        teams_pending.hold_removal(
            self.dispatcher.engine,
            group_id=group_id,
            chat=chat,
            person_id=person_id,
            aad_id=self._known_entra_id(ident) if ident and not unknown else None,
            told=self._person_id(turn.user_id),
            now=self.dispatcher.clock.now(),
            wait=REMOVAL_RETRY_FIRST,
            error=str(exc),
        )
        self._turn.refused = True
        log.warning("could not remove person %s from group %s's chat: %s", person_id, group_id, exc)
        name = self.dispatcher.display_names([person_id]).get(person_id, "the person removed")
        if unknown:
            opening = (
                f"I couldn't take {name} out of the group chat: Teams hasn't told me which "
                f"Microsoft account is theirs, so {name} may still be able to read it."
            )
            check = ""
        else:
            opening = (
                f"Teams would not let me take {name} out of the group chat, so {name} can "
                "still read it."
            )
            check = (
                " and to check that Core Group Bot still has the ChatMember.ReadWrite.All "
                "permission in Microsoft Graph"
            )
        return (
            f"{opening} Until they are out, nothing new will be posted in the group chat: "
            "messages for the group are kept and posted once they are (members still get their "
            "own reminders in their chat with Core Group Bot). I'll keep trying every few "
            f"minutes. To do it now, ask your Teams administrator to remove {name} from the "
            f'group chat "{self._space_name(group_id)}"{check}.'
        )

    def retry_deferred(self) -> int:
        """Try the refused removals that are due, then send the posts no removal holds any
        more, then tell whoever heard of each refusal that it is done; returns how many
        removals and posts were done."""
        now = self.dispatcher.clock.now()
        done = 0
        out: list[tuple[TeamsPending, Removal]] = []
        for row in teams_pending.due_removals(self.dispatcher.engine, now):
            done += self._retry_removal(row, now, out)
        done += self.outbox.send_held()
        for row, outcome in out:
            self._tell_out(row, outcome)
        return done

    def _retry_removal(
        self, row: TeamsPending, now: datetime, out: list[tuple[TeamsPending, Removal]]
    ) -> int:
        """Try a refused removal again; done once they are out (added to `out`) or back in
        the group."""
        assert row.id is not None
        person_id = int(row.payload["person_id"])
        error: str | None = None
        if self.graph is not None and not self._in_group(row.group_id, person_id):
            try:
                out.append((row, self._take_out(person_id, row.chat, row.payload.get("aad_id"))))
            except DeliveryError as exc:
                error = str(exc)
        wait = min(REMOVAL_RETRY_FIRST * 2 ** min(row.attempts + 1, 10), REMOVAL_RETRY_MAX)
        teams_pending.tried(self.dispatcher.engine, row.id, now, error=error, wait=wait)
        if error is not None:
            log.warning("could not do removal %s again: %s", row.id, error)
            return 0
        log.info("removal %s done: the group's chat gets its posts again", row.id)
        return 1

    def _tell_out(self, row: TeamsPending, outcome: Removal) -> None:
        """One line, in their 1:1 chat, for whoever heard of the refusal (else the chairs)."""
        person_id = int(row.payload["person_id"])
        name = self.dispatcher.display_names([person_id]).get(person_id, "the person removed")
        who, chat = name[:1].upper() + name[1:], self._space_name(row.group_id)
        if outcome == NO_CHAT:
            line = f'The group chat "{chat}" no longer exists in Teams, so {name} cannot read it.'
        elif teams_pending.removal_pending(self.dispatcher.engine, row.group_id):
            line = (
                f'{who} is now out of the group chat "{chat}"; what was kept for it waits '
                "until everyone removed is out."
            )
        elif teams_pending.posts_refused(self.dispatcher.engine, row.group_id, row.created_at):
            line = (
                f'{who} is now out of the group chat "{chat}", but Teams refused a message kept '
                "for it, so the members have not seen it; the chairs have been told."
            )
        else:
            line = (
                f'{who} is now out of the group chat "{chat}", and what was kept for it has '
                "been posted there."
            )
        told = row.payload.get("told")
        if isinstance(told, int):
            people = [told]
        else:
            with Session(self.dispatcher.engine) as session:
                people = [p.id for p in chairs(session, group_id=row.group_id) if p.id is not None]
        for person in people:
            try:
                self.outbox.send(ToPerson(person), Message.plain(line))
            except DeliveryError as exc:
                log.warning("could not tell person %s removal %s is done: %s", person, row.id, exc)

    def _in_group(self, group_id: int, person_id: int) -> bool:
        with Session(self.dispatcher.engine) as session:
            found = active_membership(session, group_id=group_id, person_id=person_id)
        return found is not None

    def _archive(self, group_id: int) -> list[str]:
        assert self.graph is not None
        space = self.dispatcher.group_channel(group_id)
        if space is None:
            return []
        if self.teams.teams_space_mode == CHANNEL:
            assert self.teams.teams_team_id is not None
            self.io.run(self.graph.archive_channel(self.teams.teams_team_id, space))
            return []
        # Graph cannot archive a group chat: mark it closed in its name instead.
        self.io.run(self.graph.rename_chat(space, f"{self._space_name(group_id)} (closed)"))
        return []

    def _entra_ids(self, people: tuple[int, ...], turn: Turn) -> tuple[dict[int, str], list[str]]:
        """Each person's Entra object id; a note naming anyone Teams has not told us about."""
        idents = self.dispatcher.identities(people)
        found: dict[int, str] = {}
        missing: list[str] = []
        for person_id in people:
            ident = idents.get(person_id)
            entra = None
            if ident is not None:
                entra = self._known_entra_id(ident) or self._roster_entra_id(ident.user_id, turn)
            if entra:
                found[person_id] = entra
            else:
                who = self.directory.describe(ident.user_id) if ident else None
                missing.append(who.display_name if who else f"person {person_id}")
        if not missing:
            return found, []
        return found, [
            f"I couldn't add {', '.join(missing)} to the group's Teams space: Teams hasn't told "
            "me their account yet. Mention them in a chat or channel I'm in, or ask them to open "
            "a chat with Core Group Bot, then add them again."
        ]

    def _known_entra_id(self, ident: ChatIdentity) -> str | None:
        """The Entra id Teams has given us for a person (their 1:1 chat's reference, or seen)."""
        entra = ((ident.conversation_ref or {}).get("user") or {}).get("aadObjectId")
        return entra if isinstance(entra, str) and entra else self.directory.entra_id(ident.user_id)

    def _roster_entra_id(self, user_id: str, turn: Turn) -> str | None:
        try:
            member = self.io.run(
                self.outbox.connector.member(turn.service_url, turn.conversation_id, user_id)
            )
        except ApiError:
            return None
        entra = member.get("aadObjectId")
        if isinstance(entra, str) and entra:
            self.directory.learn(user_id, member.get("name"), entra)
            return entra
        return None

    def _space_name(self, group_id: int) -> str:
        with Session(self.dispatcher.engine) as session:
            group = session.get(CoreGroup, group_id)
            case = session.get(Case, group.case_id) if group else None
            return space_name(case.reference) if case else f"core-group-{group_id}"

    def _app_id(self) -> str:
        assert self.app_id is not None
        return self.app_id


def tenant_of(payload: dict[str, Any]) -> str | None:
    """The tenant an activity names: `channelData.tenant.id`, else `conversation.tenantId`."""
    channel_data = payload.get("channelData")
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    found = tenant.get("id") if isinstance(tenant, dict) else None
    if not isinstance(found, str):
        conversation = payload.get("conversation")
        found = conversation.get("tenantId") if isinstance(conversation, dict) else None
    return found if isinstance(found, str) and found else None


def _refuse(reason: str) -> web.Response:
    log.warning("refused a request to %s: %s", MESSAGES_PATH, reason)
    return web.json_response({"error": "unauthorized"}, status=401)


def _timezone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


# --- wiring ---------------------------------------------------------------------------------------


def teams_routes(bot: TeamsBot) -> list[web.RouteDef]:
    """`POST /api/messages` for the shared web server."""
    return [web.post(MESSAGES_PATH, bot.handle)]


@dataclass
class TeamsRuntime:
    """The running Teams side: the bot, its dispatcher, the Outbox and the I/O loop under them."""

    bot: TeamsBot
    dispatcher: Dispatcher
    outbox: TeamsOutbox
    http: Http
    io: IoLoop
    anonymous: bool
    links: LinkSigner | None = None

    def routes(self, engine: Engine, mailer: Mailer | None = None) -> list[web.RouteDef]:
        """Every route the Teams side serves: activities, and signed downloads when configured."""
        routes = teams_routes(self.bot)
        if self.links is not None:
            locale = self.dispatcher.locale
            routes += download_routes(engine=engine, locale=locale, signer=self.links)
        # The family's pages (/family/...), when PUBLIC_URL and DOCUMENT_LINK_SECRET are set.
        routes += family_routes(
            engine=engine,
            locale=self.dispatcher.locale,
            clock=self.dispatcher.clock,
            alert=AlertSender(self.outbox, mailer),
        )
        return routes

    def retry_deferred(self) -> int:
        """Retry the refused removals that are due and send the posts they held."""
        return self.bot.retry_deferred()

    def close(self) -> None:
        """Stop the I/O loop (after the web server has stopped)."""
        self.io.close()


def build_teams_runtime(
    settings: Settings, engine: Engine, clock: Clock, teams: TeamsSettings | None = None
) -> TeamsRuntime:
    """Tokens, clients, dispatcher, Outbox and bot for the configured Teams app."""
    teams = teams or load_teams_settings()
    anonymous = is_anonymous(settings, teams)
    io = IoLoop(ca_bundle=teams.teams_ca_bundle)
    tokens = None
    if not anonymous:
        assert settings.microsoft_app_id and settings.microsoft_app_password
        tokens = TokenSource(
            app_id=settings.microsoft_app_id,
            password=settings.microsoft_app_password,
            authority=f"{teams.teams_authority_url.rstrip('/')}/{settings.microsoft_app_tenant_id}",
            ca_bundle=teams.teams_ca_bundle,
            known_authority=teams.teams_authority_url.rstrip("/") == ENTRA_AUTHORITY,
        )
    http = Http(io, tokens)
    connector = Connector(http)
    directory = TeamsDirectory()
    dispatcher = Dispatcher(
        engine=engine,
        clock=clock,
        locale=Locale.from_settings(settings),
        platform=Platform.TEAMS,
        directory=directory,
        registry=build_registry(),
    )
    outbox = TeamsOutbox(
        dispatcher=dispatcher,
        io=io,
        connector=connector,
        bot_id=f"28:{settings.microsoft_app_id or 'anonymous'}",
        service_url=teams.teams_service_url,
        tenant_id=settings.microsoft_app_tenant_id,
    )
    signer = LinkSigner.from_settings(settings, clock)
    if signer is not None:
        outbox.links = DownloadLinks(
            signer, timedelta(minutes=settings.document_link_minutes), settings.display_tz
        )
    auth = None
    if not anonymous:
        assert settings.microsoft_app_id
        auth = BotFrameworkAuth(
            app_id=settings.microsoft_app_id,
            metadata_url=teams.teams_openid_metadata_url,
            fetch_json=io.get_json,
        )
    else:
        log.warning(
            "*** Teams ANONYMOUS DEVELOPMENT MODE: requests to %s are NOT authenticated and "
            "nothing is sent to Microsoft Graph. Never expose this to a network. ***",
            MESSAGES_PATH,
        )
    bot = TeamsBot(
        dispatcher=dispatcher,
        directory=directory,
        outbox=outbox,
        io=io,
        auth=auth,
        graph=None if anonymous else Graph(http, teams.teams_graph_url),
        teams=teams,
        app_id=settings.microsoft_app_id,
        tenant_id=None if anonymous else settings.microsoft_app_tenant_id,
    )
    return TeamsRuntime(bot, dispatcher, outbox, http, io, anonymous, signer)


def run_teams(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    *,
    on_outbox: Callable[[Outbox], Any] | None = None,
) -> None:
    """Serve Teams on TEAMS_PORT (3978) until SIGINT/SIGTERM; `on_outbox` starts reminders."""
    teams = load_teams_settings()
    runtime = build_teams_runtime(settings, engine, clock, teams)
    scheduler = on_outbox(runtime.outbox) if on_outbox is not None else None
    host = listen_host(teams, anonymous=runtime.anonymous)
    readiness = teams_readiness(
        engine, runtime.http.tokens, runtime.io, teams.teams_graph_url, settings.microsoft_app_id
    )
    routes = [*runtime.routes(engine, mailer_for(settings)), *readiness_routes(readiness)]
    web_app = instrument(build_web_app(engine, routes), engine, clock.now)  # /metrics
    server = WebServer(web_app, host=host, port=teams.teams_port)
    server.start()
    mode = (
        "ANONYMOUS DEVELOPMENT MODE (no authentication; never expose it)"
        if runtime.anonymous
        else "authenticated Bot Framework mode"
    )
    sys.stdout.write(
        f"Core Group Bot is running on Teams in {mode}: POST {MESSAGES_PATH} and GET /healthz "
        f"on {host} port {server.port}.\n"
    )
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def retry_loop() -> None:  # refused removals and the posts they hold
        while not stop.wait(RETRY_EVERY):
            try:
                runtime.retry_deferred()
            except Exception:  # the loop's boundary: log it and try again next time
                log_failure(log, "retrying refused Teams removals failed")

    threading.Thread(target=retry_loop, name="teams-retry", daemon=True).start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_gracefully(
            readiness=readiness,
            server=server,
            scheduler=scheduler,
            closers=[runtime.close],
            drain_seconds=settings.shutdown_drain_seconds,
        )
