"""Everything the bot sends to Microsoft: one paced, retrying HTTP client on its own event loop,
the Bot Connector REST calls built on it, and the Outbox for proactive messages.

Limits ("Rate limiting for agents"): per bot per conversation 7 sends a second, 8 in 2 seconds, 60
in 30 seconds and 1800 an hour; about 50 requests a second per app per tenant. 429, 412, 502, 503
and 504 are retried, honouring Retry-After, else after an exponential back-off with full jitter.
A message that still cannot be sent raises DeliveryError: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import yarl
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters import teams_pending, teams_sends
from bot.adapters.delivery import refused_for_good
from bot.adapters.metrics import rate_limited
from bot.adapters.teams_auth import BOT_FRAMEWORK_SCOPE, TokenError, TokenSource, Unreachable
from bot.adapters.teams_files import DownloadLinks, offer_download
from bot.core.ports import DeliveryError
from bot.logs import log_failure
from bot.messages import Message, ToGroup, ToPerson
from bot.render.adaptive import fit_activity, to_activities
from commands.dispatch import Dispatcher
from storage.models import TeamsPending

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({412, 429, 502, 503, 504})
CONVERSATION_LIMITS = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))
TENANT_LIMITS = ((1.0, 50),)
TENANT = "*"  # the pacing key of the app-wide limit
# Seconds added to every window: a send is timed as it leaves, Microsoft counts it as it arrives,
# and a send that arrives quicker than the one a window before it would otherwise be one too many
# (a 429, and its Retry-After, for want of a few milliseconds).
PACE_MARGIN = 0.05
REQUEST_TIMEOUT = 30.0
HELD = "held:"  # the ref `send` returns for a group post held while a removal is pending


# --- the event loop every outbound call runs on ---------------------------------------------------


class IoLoop:
    """A background event loop owning one aiohttp session; sync callers block on its results."""

    def __init__(self, *, ca_bundle: str | None = None) -> None:
        self._ca_bundle = ca_bundle
        self._loop = asyncio.new_event_loop()
        self._session: aiohttp.ClientSession | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="teams-io", daemon=True)
        self._thread.start()
        self.run(self._open())

    async def _open(self) -> None:
        context = ssl.create_default_context()
        if self._ca_bundle:
            context.load_verify_locations(self._ca_bundle)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        )

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared HTTP session (use it only from coroutines running on this loop)."""
        assert self._session is not None
        return self._session

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule `coro` on the loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (never call this from the loop itself)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("IoLoop.run called from its own thread; await the coroutine")
        return self.submit(coro).result()

    async def run_from(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on this loop from a coroutine running on another loop."""
        return await asyncio.wrap_future(self.submit(coro))

    def close(self) -> None:
        """Close the session and stop the loop."""
        if self._session is not None:
            self.run(self._session.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def get_json(self, url: str) -> Any:
        """GET a JSON document (OpenID metadata, key sets) with no credentials; Unreachable."""
        try:
            async with self.session.get(url) as response:
                response.raise_for_status()
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            where = yarl.URL(url).host
            raise Unreachable(f"{type(exc).__name__} from {where}") from exc


# --- pacing ---------------------------------------------------------------------------------------


class Pacer:
    """Sliding-window limits per conversation plus one app-wide limit (each window `margin`
    seconds longer than Microsoft's); `wait` until a send fits."""

    def __init__(
        self,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        margin: float = PACE_MARGIN,
    ) -> None:
        self.now = now
        self.sleep = sleep
        self.margin = margin
        self._sent: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, key: str) -> None:
        """Return once one more send to `key` keeps within every limit; records that send."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            await self._take(key, CONVERSATION_LIMITS)
        async with self._locks.setdefault(TENANT, asyncio.Lock()):
            await self._take(TENANT, TENANT_LIMITS)

    async def _take(self, key: str, limits: tuple[tuple[float, int], ...]) -> None:
        sent = self._sent.setdefault(key, deque())
        longest = max(window for window, _ in limits) + self.margin
        while True:
            now = self.now()
            while sent and sent[0] <= now - longest:
                sent.popleft()
            delay = max(
                _wait_for(sent, now, window + self.margin, count) for window, count in limits
            )
            if delay <= 0:
                sent.append(now)
                return
            await self.sleep(delay)


def _wait_for(sent: deque[float], now: float, window: float, count: int) -> float:
    """How long until fewer than `count` of the `sent` times fall within `window` of now."""
    recent = [t for t in sent if t > now - window]
    if len(recent) < count:
        return 0.0
    return recent[-count] + window - now


# --- one HTTP call, paced and retried -------------------------------------------------------------


class ApiError(DeliveryError):
    """Microsoft answered with an error status."""

    def __init__(self, message: str, *, status: int, retryable: bool) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status


class Http:
    """Authenticated JSON calls with pacing and the retry rules above."""

    def __init__(
        self,
        io: IoLoop,
        tokens: TokenSource | None,
        *,
        pacer: Pacer | None = None,
        attempts: int = 5,
        backoff: float = 1.0,
        max_delay: float = 60.0,
    ) -> None:
        self.io = io
        self.tokens = tokens
        self.pacer = pacer or Pacer()
        self.attempts = attempts
        self.backoff = backoff
        self.max_delay = max_delay

    async def call(
        self,
        method: str,
        url: str,
        *,
        scope: str,
        body: Any = None,
        pace: str | None = None,
    ) -> Any:
        """Send one request; returns the parsed JSON answer ({} when empty). Raises ApiError."""
        for attempt in range(1, self.attempts + 1):
            if pace is not None:
                await self.pacer.wait(pace)
            try:
                headers = await self._headers(scope)
            except TokenError as exc:
                if not exc.retryable or attempt == self.attempts:
                    log.error("no token to call Microsoft: %s", exc)
                    raise DeliveryError(str(exc), retryable=exc.retryable) from exc
                delay = self._delay(attempt, None)
                log.warning("no token to call Microsoft yet: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            try:
                async with self.io.session.request(
                    method, yarl.URL(url, encoded=True), json=body, headers=headers
                ) as response:
                    status, text = response.status, await response.text()
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, text, retry_after = 0, type(exc).__name__, None
            if 200 <= status < 300:
                return json.loads(text) if text.strip() else {}
            if status == 429:
                rate_limited("teams")  # /metrics
            retryable = status == 0 or status in RETRY_STATUSES
            if not retryable or attempt == self.attempts:
                # The answer's text may quote what we sent (user text): log only the status.
                where = yarl.URL(url, encoded=True).path.split("/")[1:3]
                raise ApiError(
                    f"{method} /{'/'.join(where)}… failed with status {status or text}",
                    status=status,
                    retryable=retryable,
                )
            delay = self._delay(attempt, retry_after)
            log.info("%s answered %s; retrying in %.1fs", method, status or text, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    async def _headers(self, scope: str) -> dict[str, str]:
        if self.tokens is None:  # the anonymous development mode
            return {}
        return {"Authorization": f"Bearer {await self.tokens.token(scope)}"}

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        told = _retry_after(retry_after)
        if told is not None:
            return min(told, self.max_delay)
        return random.uniform(0, min(self.max_delay, self.backoff * 2 ** (attempt - 1)))


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


# --- the Bot Connector ----------------------------------------------------------------------------


def _conversation_url(service_url: str, conversation_id: str, *rest: str) -> str:
    parts = [
        "v3",
        "conversations",
        quote(conversation_id, safe=""),
        *(quote(p, safe="") for p in rest),
    ]
    return service_url.rstrip("/") + "/" + "/".join(parts)


class Connector:
    """The Bot Connector REST API of one bot: send, reply, update, open a chat, look up a member."""

    def __init__(self, http: Http) -> None:
        self.http = http

    async def send(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        """Post a new message to a conversation; returns its activity id."""
        url = _conversation_url(service_url, conversation_id, "activities")
        answer = await self._post(url, activity, conversation_id)
        return str(answer.get("id", ""))

    async def reply(
        self, service_url: str, conversation_id: str, reply_to: str, activity: dict[str, Any]
    ) -> str:
        """Post a message as a reply to `reply_to` (a threaded reply in a channel)."""
        url = _conversation_url(service_url, conversation_id, "activities", reply_to)
        answer = await self._post(url, {**activity, "replyToId": reply_to}, conversation_id)
        return str(answer.get("id", ""))

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> None:
        """Replace a message the bot sent earlier (a clicked card, updated in place)."""
        url = _conversation_url(service_url, conversation_id, "activities", activity_id)
        body = {**activity, "id": activity_id}
        await self.http.call("PUT", url, scope=BOT_FRAMEWORK_SCOPE, body=body, pace=conversation_id)

    async def delete(self, service_url: str, conversation_id: str, activity_id: str) -> None:
        """Delete a message the bot sent (retention)."""
        url = _conversation_url(service_url, conversation_id, "activities", activity_id)
        await self.http.call("DELETE", url, scope=BOT_FRAMEWORK_SCOPE, pace=conversation_id)

    async def open_personal(
        self, service_url: str, *, bot_id: str, user_id: str, tenant_id: str | None
    ) -> str:
        """The id of the bot's 1:1 chat with a user (created if need be)."""
        params: dict[str, Any] = {
            "bot": {"id": bot_id},
            "members": [{"id": user_id}],
            "isGroup": False,
        }
        if tenant_id:
            params["tenantId"] = tenant_id
            params["channelData"] = {"tenant": {"id": tenant_id}}
        url = service_url.rstrip("/") + "/v3/conversations"
        answer = await self.http.call("POST", url, scope=BOT_FRAMEWORK_SCOPE, body=params)
        conversation = answer.get("id")
        if not isinstance(conversation, str):
            raise DeliveryError("the Bot Connector opened no conversation", retryable=True)
        return conversation

    async def member(self, service_url: str, conversation_id: str, user_id: str) -> dict[str, Any]:
        """One member of a conversation (with aadObjectId, name, e-mail)."""
        url = _conversation_url(service_url, conversation_id, "members", user_id)
        answer = await self.http.call("GET", url, scope=BOT_FRAMEWORK_SCOPE)
        return answer if isinstance(answer, dict) else {}

    async def members(self, service_url: str, conversation_id: str) -> list[dict[str, Any]]:
        """Everyone in a conversation (each with id, name and aadObjectId)."""
        url = _conversation_url(service_url, conversation_id, "members")
        answer = await self.http.call("GET", url, scope=BOT_FRAMEWORK_SCOPE)
        return [m for m in answer if isinstance(m, dict)] if isinstance(answer, list) else []

    async def _post(self, url: str, activity: dict[str, Any], conversation_id: str) -> Any:
        return await self.http.call(
            "POST", url, scope=BOT_FRAMEWORK_SCOPE, body=activity, pace=conversation_id
        )


# --- the Outbox -----------------------------------------------------------------------------------


@dataclass
class Place:
    """Where to post in Teams: a conversation at a Bot Connector service URL."""

    service_url: str
    conversation_id: str


def message_ref(conversation_id: str, activity_id: str) -> str:
    """The id we record for a sent message: conversation and activity."""
    return f"{conversation_id}|{activity_id}"


class TeamsOutbox:
    """Proactive messages (reminders, prompts, briefs) to a group's space or a person's 1:1 chat.

    The Bot Connector offers no way to search a conversation for a message by its channelData,
    so `find_sent` answers from the bot's own durable record (bot.adapters.teams_sends): a keyed
    message is recorded as being sent before the call and as sent after it. Delivery is at least
    once: only a message whose call was in flight when the bot stopped can arrive twice.
    """

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        io: IoLoop,
        connector: Connector,
        bot_id: str,
        service_url: str,
        tenant_id: str | None,
    ) -> None:
        self.dispatcher = dispatcher
        self.io = io
        self.connector = connector
        self.bot_id = bot_id
        self.service_url = service_url  # updated from each authenticated inbound activity
        self.tenant_id = tenant_id
        self.links: DownloadLinks | None = None  # set when PUBLIC_URL and a link secret are

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        """Deliver `message`; returns "conversation|activity". Raises DeliveryError.

        A post for a group whose chat someone removed may still be in is kept, not sent, and
        returns "held:<id>" (`send_held` sends it once they are out).
        """
        place = self.place_for(to)
        if isinstance(to, ToGroup) and teams_pending.removal_pending(
            self.dispatcher.engine, to.group_id
        ):
            return HELD + str(self._hold(to.group_id, place, message))
        download_for = to.person_id if isinstance(to, ToPerson) else None
        return message_ref(
            place.conversation_id, self.post(place, message, download_for=download_for)
        )

    def find_sent(self, to: ToGroup | ToPerson, key: str) -> str | None:
        """The message already sent with `key`, if the record says so; None if it never was, or
        if it was being sent when the bot stopped (Teams cannot say: it is sent again)."""
        record = teams_sends.lookup(self.dispatcher.engine, key)
        if record is None:
            return None
        if record.sent_at is None:
            log.warning(
                "message %s was being sent to Teams when the bot stopped; sending it again "
                "(Teams cannot be asked whether it arrived)",
                key,
            )
            return None
        return record.ref

    def post(
        self,
        place: Place,
        message: Message,
        *,
        reply_to: str | None = None,
        download_for: int | None = None,
    ) -> str:
        """Post a message in a known conversation (as a threaded reply when `reply_to` is given);
        a long one goes as several activities. Returns the id of the last, which holds any
        buttons (and the download button of an attachment sent to `download_for`), and remembers
        it as a copy of the message's live card."""
        activities = to_activities(message)
        if message.attachment is not None and download_for is not None:
            offer_download(activities[-1], message.attachment, self.links, person_id=download_for)
        return self._post_activities(
            place,
            activities,
            key=message.key,
            card=message.card,
            expects=message.expects,
            reply_to=reply_to,
        )

    def _post_activities(
        self,
        place: Place,
        activities: list[dict[str, Any]],
        *,
        key: str | None,
        card: str | None,
        expects: str | None,
        reply_to: str | None = None,
    ) -> str:
        activity_id = ""
        if key:
            teams_sends.begin(
                self.dispatcher.engine,
                key=key,
                conversation=place.conversation_id,
                now=self.dispatcher.clock.now(),
            )
        for activity in activities:
            if reply_to:
                coro = self.connector.reply(
                    place.service_url, place.conversation_id, reply_to, activity
                )
            else:
                coro = self.connector.send(place.service_url, place.conversation_id, activity)
            activity_id = self.io.run(coro)
            if activity_id:  # recorded for retention to delete
                self.dispatcher.remember_sent(place.conversation_id, activity_id, place.service_url)
        if key:
            self._record_sent(key, message_ref(place.conversation_id, activity_id))
        if card and activity_id:
            self.dispatcher.remember_copy(
                card, place.conversation_id, activity_id, place.service_url
            )
        if expects and activity_id:  # a reply to it answers what it asked
            self.dispatcher.remember_prompt(
                message_ref(place.conversation_id, activity_id), Message(text="", expects=expects)
            )
        return activity_id

    # Posts held while someone removed is still in the group chat -------------------------

    def _hold(self, group_id: int, place: Place, message: Message) -> int:
        if message.attachment is not None:  # files go to people, never to a group's chat
            log.warning("a held Teams post dropped its attachment %s", message.kind)
        payload = {
            "activities": to_activities(message),
            "key": message.key,
            "card": message.card,
            "expects": message.expects,
        }
        held = teams_pending.hold_post(
            self.dispatcher.engine,
            group_id=group_id,
            chat=place.conversation_id,
            payload=payload,
            now=self.dispatcher.clock.now(),
        )
        log.info("held a post for group %s's chat (a removal is pending): %s", group_id, held)
        return held

    def send_held(self) -> int:
        """Send the held posts of groups no removal holds any more, oldest first; returns how
        many went. A group's posts stop at the first Teams will not take yet (kept in order)."""
        engine, now = self.dispatcher.engine, self.dispatcher.clock.now()
        sent = 0
        waiting: set[int] = set()
        for row in teams_pending.released_posts(engine):
            assert row.id is not None
            if row.group_id in waiting:
                continue
            payload = dict(row.payload)
            left: list[dict[str, Any]] = list(payload["activities"])
            place = Place(self.service_url, row.chat)
            try:
                while left:  # one at a time: a part-sent post resumes where it stopped
                    last = len(left) == 1
                    self._post_activities(
                        place,
                        left[:1],
                        key=payload.get("key") if last else None,
                        card=payload.get("card") if last else None,
                        expects=payload.get("expects") if last else None,
                    )
                    left.pop(0)
            except DeliveryError as exc:
                # Retryable: tried again next time, the group's later posts after it; else lost.
                wait = timedelta(0) if exc.retryable else None
                teams_pending.tried(
                    engine,
                    row.id,
                    now,
                    error=str(exc),
                    wait=wait,
                    payload={**payload, "activities": left},
                )
                if exc.retryable:
                    waiting.add(row.group_id)
                else:
                    log.error("Teams refused held post %s: %s", row.id, exc)
                    self._tell_of_loss(row, now, str(exc))
                continue
            teams_pending.tried(engine, row.id, now, error=None)
            log.info("posted held post %s", row.id)
            sent += 1
        return sent

    def _tell_of_loss(self, row: TeamsPending, now: datetime, error: str) -> None:
        """A held post Teams refused for good: the reminders it carried fail after all (their
        chairs are told through the ledger); for another group post, its chairs hear here."""
        refused_for_good(
            self.dispatcher.engine,
            refs=[f"{HELD}{row.id}"],
            group_id=row.group_id,
            error=error,
            now=now,
            send=self.send,
            lost=f"lost held post {row.id}",
        )

    def _record_sent(self, key: str, ref: str) -> None:
        try:
            teams_sends.finish(
                self.dispatcher.engine, key=key, ref=ref, now=self.dispatcher.clock.now()
            )
        except SQLAlchemyError:  # it went out: the reminder ledger's mark may still record it
            log_failure(log, "could not record that message %s was sent to Teams", key)

    def update(self, place: Place, activity_id: str, message: Message) -> None:
        """Replace the card `activity_id` with `message` (shortened if it would not fit)."""
        self.io.run(
            self.connector.update(
                place.service_url, place.conversation_id, activity_id, fit_activity(message)
            )
        )

    def delete(self, ref: str) -> bool | None:
        """Delete a message the bot sent ("conversation|activity"), for retention; False if
        Teams will not, None if it is busy or unreachable (try again later)."""
        conversation, _, activity_id = ref.partition("|")
        if not activity_id:
            return False
        try:
            self.io.run(self.connector.delete(self.service_url, conversation, activity_id))
        except DeliveryError as exc:
            log.warning("could not delete a message: %s", exc)
            return None if exc.retryable else False
        return True

    def update_copies(self, message: Message, *, clicked: str | None = None) -> int:
        """Replace every other recorded copy of the message's live card; returns how many.

        A copy Teams will not update (deleted, the bot removed from the chat) is logged and
        skipped: the others still change. Copies in a group chat someone removed may still be in
        are left as they are.
        """
        if not message.card:
            return 0
        updated = 0
        copies = self.dispatcher.copies_of(message.card)
        held = teams_pending.chats_held(self.dispatcher.engine, {c.place for c in copies})
        for copy in copies:
            if copy.message_id == clicked or copy.place in held:
                continue  # a card in a chat someone removed may still be in keeps what it showed
            place = Place(copy.service_url or self.service_url, copy.place)
            try:
                self.update(place, copy.message_id, message)
            except DeliveryError as exc:
                log.warning("could not update a copy of card %s: %s", message.card, exc)
                continue
            updated += 1
        return updated

    def place_for(self, to: ToGroup | ToPerson) -> Place:
        """The conversation a group's messages or a person's direct messages go to."""
        if isinstance(to, ToGroup):
            conversation = self.dispatcher.group_channel(to.group_id)
            if conversation is None:
                raise DeliveryError("the group has no Teams space yet", retryable=False)
            return Place(self.service_url, conversation)
        return self.personal_place(to.person_id)

    def personal_place(self, person_id: int) -> Place:
        """A person's 1:1 chat with the bot, opened (and remembered) if there is none yet."""
        ident = self.dispatcher.identities([person_id]).get(person_id)
        if ident is None:
            raise DeliveryError("the person has no Teams account on record", retryable=False)
        ref = ident.conversation_ref or {}
        conversation = (ref.get("conversation") or {}).get("id") or ident.dm_channel_id
        if conversation:
            return Place(ref.get("serviceUrl") or self.service_url, conversation)
        conversation = self.io.run(
            self.connector.open_personal(
                self.service_url,
                bot_id=self.bot_id,
                user_id=ident.user_id,
                tenant_id=self.tenant_id,
            )
        )
        reference = {
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "conversation": {"id": conversation, "conversationType": "personal"},
            "bot": {"id": self.bot_id},
            "user": {"id": ident.user_id},
        }
        self.dispatcher.remember_dm(person_id, conversation, reference)
        return Place(self.service_url, conversation)
