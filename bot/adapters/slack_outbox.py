"""Slack's outgoing side: the Web API client, the user directory and the paced, keyed Outbox.

Every message the bot posts to a channel goes through `SlackOutbox.post`, which keeps at least
`interval` seconds between posts to one channel (Slack allows about one message per second per
channel). A 429 is retried in place only when its Retry-After is short (`SHORT_WAIT`); a longer
one marks that method busy (`RateLimits`, per method: other methods carry on) and the post is
kept as a `SlackDelivery` row that `retry_posts` sends once Slack allows — so no worker sleeps
behind a rate limit, and neither the limit nor a restart loses the post. Proactive
messages carry their idempotency key in message metadata, so after a crash `find_sent` can look for
it in the channel's recent history — the rare recovery path; the database is the record.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bot.adapters import metrics
from bot.adapters.delivery import refused_for_good
from bot.config import Settings
from bot.core.people import Who
from bot.core.ports import DeliveryError
from bot.messages import Attachment, Message, ToGroup, ToPerson
from bot.render.blockkit import fallback_text, to_blocks, to_messages
from commands.dispatch import Dispatcher
from storage.db import session_scope
from storage.enums import Platform
from storage.models import SlackChannelPace, SlackDelivery

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
METADATA_EVENT = "coregroup_reminder"
HISTORY_LIMIT = 100  # how far back find_sent looks: recent messages only
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

# Errors that trying again later will not fix.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "channel_not_found",
        "invalid_auth",
        "invalid_blocks",
        "is_archived",
        "msg_too_long",
        "no_text",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "too_many_attachments",
        "user_not_found",
        "user_disabled",
    }
)


SHORT_WAIT = 2.0  # seconds: a Retry-After up to this is waited out in place; longer is deferred
DEFERRED = "deferred:"  # the ref `post` returns for a post kept to send when Slack allows
HELD = "held:"  # the ref for a group post held while a removed member is still in the channel
POST_METHOD = "chat.postMessage"
RETRY_BACKOFF_MAX = timedelta(minutes=10)


class RateLimits:
    """Per Web API method, when Slack's Retry-After lets it be called again (this process)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def note(self, method: str, seconds: float) -> None:
        """Slack answered `method` with 429 and this Retry-After."""
        with self._lock:
            until = self.now() + seconds
            self._until[method] = max(until, self._until.get(method, until))

    def wait_left(self, method: str) -> float:
        """Seconds until `method` may be called again (0 when it may now)."""
        with self._lock:
            return max(0.0, self._until.get(method, 0.0) - self.now())


def _retry_after(headers: Any) -> float:
    """Slack's Retry-After header in seconds (1 if missing or unreadable)."""
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            text = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(text))
            except (TypeError, ValueError):
                return 1.0
    return 1.0


def rate_limited(exc: BaseException) -> float | None:
    """The Retry-After of a 429 from Slack, or None if `exc` is not one."""
    if not isinstance(exc, SlackApiError):
        return None
    response = exc.response
    if response.status_code != 429 and response.get("error") != "ratelimited":
        return None
    return _retry_after(response.headers)


class ShortRateLimitRetry(RateLimitErrorRetryHandler):
    """Retries a 429 in place only when its Retry-After is short; notes every 429 per method."""

    def __init__(self, limits: RateLimits, *, short: float = SHORT_WAIT) -> None:
        super().__init__(max_retry_count=2)
        self.limits = limits
        self.short = short

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        metrics.rate_limited("slack")  # /metrics
        wait = _retry_after(response.headers)
        self.limits.note(request.url.rstrip("/").rpartition("/")[2], wait)
        return wait <= self.short


def slack_client(settings: Settings, *, limits: RateLimits | None = None) -> WebClient:
    """A WebClient for the bot token on SLACK_API_URL (default slack.com).

    A 429 is retried in place only for a short Retry-After; longer ones raise at once (noted in
    `limits`), so a worker never sleeps through one.
    """
    base_url = settings.slack_api_url or DEFAULT_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=15)
    client.retry_handlers = [
        h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)
    ]
    client.retry_handlers.append(ShortRateLimitRetry(limits or RateLimits()))
    if not any(isinstance(h, ConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(ConnectionErrorRetryHandler())
    return client


def error_code(exc: SlackClientError) -> str:
    """Slack's short error code (e.g. `channel_not_found`), or the exception type's name."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "unknown_error")
    return type(exc).__name__


class SlackDirectory:
    """Finds Slack users with `users.info`, remembering answers for an hour.

    When Slack rate-limits the lookup of someone mentioned, their user id stands in for the name
    and they are listed in `stand_ins` (user id, stand-in, Retry-After) for the caller to look up
    again later — outside the request's database transaction, which is still open here.
    """

    def __init__(self, client: WebClient, *, ttl: float = 3600.0) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Who | None]] = {}
        self._stand_ins: list[tuple[str, str, float]] = []
        self._lock = threading.Lock()

    def take_stand_ins(self) -> list[tuple[str, str, float]]:
        """The stand-in names given out since the last call (and forget them)."""
        with self._lock:
            taken, self._stand_ins = self._stand_ins, []
        return taken

    def describe(self, user_id: str) -> Who | None:
        """The user's name and timezone, or None if no such user is in the workspace."""
        try:
            return self.lookup(user_id)
        except SlackApiError as exc:
            wait = rate_limited(exc)
            if wait is None:
                raise
            with self._lock:
                self._stand_ins.append((user_id, user_id, wait))
            return Who(Platform.SLACK, user_id, user_id)

    def lookup(self, user_id: str) -> Who | None:
        """`describe`, but a rate limit raises (the caller has a better stand-in name)."""
        if not USER_ID.match(user_id):
            return None  # a typed name, not an id: Slack cannot look it up
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            user = self.client.users_info(user=user_id)["user"]
        except SlackApiError as exc:
            if error_code(exc) not in ("user_not_found", "user_not_visible"):
                raise
            who = None
        else:
            profile = user.get("profile") or {}
            name = profile.get("real_name") or user.get("real_name") or user.get("name") or user_id
            who = Who(Platform.SLACK, user_id, str(name), user.get("tz"))
        self._cache[user_id] = (time.monotonic() + self.ttl, who)
        return who


class Pacer:
    """Spaces posts to one channel at least `interval` seconds apart, across threads."""

    def __init__(
        self,
        interval: float = 1.0,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self.now = now
        self.sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait_turn(self, channel: str) -> None:
        """Block until `channel` may take another post, and book the slot after it."""
        with self._lock:
            now = self.now()
            slot = max(now, self._next.get(channel, now))
            self._next[channel] = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


class SharedPacer(Pacer):
    """A Pacer whose slots are booked in the database, so every process of the bot (the front
    process and each worker) spaces its posts to one channel after the others' (PostgreSQL locks
    the channel's row; SQLite's single writer serialises the booking)."""

    def __init__(
        self,
        engine: Engine,
        now: Callable[[], datetime],
        interval: float = 1.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(interval, sleep=sleep)
        self.engine = engine
        self.wall = now

    def wait_turn(self, channel: str) -> None:
        """Book the channel's next slot in the database and wait for it."""
        wait = self._book(channel)
        if wait > 0:
            self.sleep(wait)

    def _book(self, channel: str) -> float:
        step = timedelta(seconds=self.interval)
        for _ in range(5):
            now = self.wall()
            try:
                with self._lock, session_scope(self.engine) as session:
                    row = session.exec(
                        select(SlackChannelPace)
                        .where(SlackChannelPace.channel == channel)
                        .with_for_update()
                    ).first()
                    if row is None:
                        session.add(SlackChannelPace(channel=channel, next_at=now + step))
                        return 0.0
                    slot = max(now, row.next_at)
                    row.next_at = slot + step
                    session.add(row)
                return (slot - now).total_seconds()
            except (IntegrityError, OperationalError):
                continue  # another process booked or created the row at the same moment
        log.warning("could not book a posting slot for %s; posting unpaced", channel)
        return 0.0


class SlackOutbox:
    """Delivers messages to group channels and DMs; the Outbox for reminders and prompts."""

    def __init__(
        self,
        client: WebClient,
        dispatcher: Dispatcher,
        *,
        pacer: Pacer | None = None,
        limits: RateLimits | None = None,
    ) -> None:
        self.client = client
        self.dispatcher = dispatcher
        self.pacer = pacer or Pacer()
        self.limits = limits or RateLimits()

    # The Outbox port ---------------------------------------------------------------------------

    def send(self, to: ToGroup | ToPerson, message: Message, *, pin: bool = False) -> str:
        """Post `message` to the group's channel or the person's DM; returns "channel:ts".

        A post Slack defers returns "deferred:<id>" (sent later by `retry_posts`), as does a post
        for a group whose channel is still to be created. `pin` pins it once posted, when
        deferred (the caller pins a post that went at once).
        """
        if (
            isinstance(to, ToGroup)
            and self.dispatcher.group_channel(to.group_id) is None
            and self.channel_pending(to.group_id)
        ):
            return self._defer(None, message, self._payloads(message), None, 0.0, to.group_id, pin)
        if isinstance(to, ToGroup) and self.removal_pending(to.group_id):
            # Someone removed from the group can still see its channel: nothing more goes there
            # until Slack lets them be removed (`retry_posts` then posts what was held).
            held = self._defer(None, message, self._payloads(message), None, 0.0, to.group_id, pin)
            return HELD + held.removeprefix(DEFERRED)
        channel = self.channel_for(to)
        group_id = to.group_id if isinstance(to, ToGroup) else None
        try:
            return self.post(channel, message, group_id=group_id, pin=pin)
        except SlackClientError as exc:
            code = error_code(exc)
            raise DeliveryError(
                f"Slack refused the message ({code})",
                retryable=code not in PERMANENT_ERRORS,
            ) from None

    def find_sent(self, to: ToGroup | ToPerson, key: str) -> str | None:
        """A recent message in the destination carrying `key` in its metadata, if any."""
        channel = self._known_channel(to)
        if channel is None:
            return None
        try:
            history = self.client.conversations_history(
                channel=channel, limit=HISTORY_LIMIT, include_all_metadata=True
            )
        except SlackClientError as exc:
            raise DeliveryError(f"Slack history unavailable ({error_code(exc)})") from None
        for item in history.get("messages") or []:
            metadata = item.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key:
                return f"{channel}:{item['ts']}"
        return None

    def delete(self, ref: str) -> bool | None:
        """chat.delete a message the bot posted ("channel:ts"), for retention; False if Slack
        will not (a message already gone counts as deleted), None while it rate-limits."""
        channel, _, ts = ref.partition(":")
        if not ts or channel == "deferred":
            return False
        try:
            self.client.chat_delete(channel=channel, ts=ts)
        except SlackClientError as exc:
            code = error_code(exc)
            if code == "message_not_found":
                return True
            if rate_limited(exc) is not None:
                return None
            log.warning("could not delete a message in %s (%s)", channel, code)
            return False
        return True

    def archive_space(self, place: str) -> bool:
        """conversations.archive a closed group's channel once retention has deleted the bot's
        messages in it (already archived counts); False if Slack will not, for now."""
        try:
            self.client.conversations_archive(channel=place)
        except SlackClientError as exc:
            code = error_code(exc)
            if code == "already_archived":
                return True
            log.warning("could not archive %s (%s)", place, code)
            return False
        return True

    # Used by the adapter too -------------------------------------------------------------------

    def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        group_id: int | None = None,
        pin: bool = False,
    ) -> str:
        """chat.postMessage, paced per channel, with the key in metadata; returns "channel:ts".

        A short Retry-After (up to SHORT_WAIT, even one Slack gave another post) is waited out
        in place; when Slack rate-limits it for longer, what is not yet posted is kept and
        "deferred:<id>" returned: `retry_posts` sends it later.
        """
        payloads = self._payloads(message)
        ref = ""
        for n, args in enumerate(payloads):
            wait = self.limits.wait_left(POST_METHOD)
            if 0 < wait <= SHORT_WAIT:  # another post's short Retry-After: wait it out here too
                self.pacer.sleep(wait)
                wait = self.limits.wait_left(POST_METHOD)
            if wait <= 0:
                self.pacer.wait_turn(channel)
                try:
                    response = self._post_one(channel, args, thread_ts)
                except SlackApiError as exc:
                    retry_after = rate_limited(exc)
                    if retry_after is None:
                        raise
                    self.limits.note(POST_METHOD, retry_after)
                    wait = retry_after
                else:
                    ref = self._sent(response)
                    continue
            return self._defer(channel, message, payloads[n:], thread_ts, wait, group_id, pin)
        self._posted(ref, message.card, message.expects)
        if message.attachment is not None:
            self.upload(channel, message.attachment, thread_ts=thread_ts)
        return ref

    def post_payload(self, channel: str, payload: dict[str, Any]) -> str:
        """One already rendered page (`text` and `blocks`) posted to `channel`; "channel:ts"."""
        self.pacer.wait_turn(channel)
        args = {**payload, "unfurl_links": False, "unfurl_media": False}
        return self._sent(self._post_one(channel, args, None))

    @staticmethod
    def _payloads(message: Message) -> list[dict[str, Any]]:
        """chat.postMessage's arguments but the channel: a long message goes as several posts."""
        payloads = []
        for payload in to_messages(message):
            args: dict[str, Any] = {**payload}
            args.update(unfurl_links=False, unfurl_media=False)
            if message.key:
                args["metadata"] = {
                    "event_type": METADATA_EVENT,
                    "event_payload": {"key": message.key},
                }
            payloads.append(args)
        return payloads

    def _post_one(self, channel: str, args: dict[str, Any], thread_ts: str | None) -> Any:
        call: dict[str, Any] = {**args, "channel": channel}
        if thread_ts:
            call["thread_ts"] = thread_ts
        return self.client.chat_postMessage(**call)

    def _sent(self, response: Any) -> str:
        """Record a message Slack posted (for retention to delete); returns "channel:ts"."""
        channel, ts = str(response["channel"]), str(response["ts"])
        self.dispatcher.remember_sent(channel, ts)
        return f"{channel}:{ts}"

    def _posted(self, ref: str, card: str | None, expects: str | None) -> None:
        self.dispatcher.remember_prompt(ref, Message(text="", expects=expects))
        if card:
            posted, _, ts = ref.partition(":")
            self.dispatcher.remember_copy(card, posted, ts)

    # Deferred posts ----------------------------------------------------------------------------

    def _defer(
        self,
        channel: str | None,
        message: Message,
        payloads: list[dict[str, Any]],
        thread_ts: str | None,
        wait: float,
        group_id: int | None,
        pin: bool,
    ) -> str:
        now = self.dispatcher.clock.now()
        if message.attachment is not None:  # files are not kept: the chair is told what was not
            log.warning("a deferred Slack post dropped its attachment %s", message.kind)
        row = SlackDelivery(
            kind="post",
            group_id=group_id,
            channel=channel,
            thread_ts=thread_ts,
            payload={
                "posts": payloads,
                "card": message.card,
                "expects": message.expects,
                "pin": pin,
            },
            created_at=now,
            next_try_at=now + timedelta(seconds=wait),
        )
        with session_scope(self.dispatcher.engine) as session:
            session.add(row)
            session.flush()
            row_id = row.id
        log.info(
            "Slack deferred a post (%s, retry in %.0fs): kept as delivery %s", channel, wait, row_id
        )
        return f"{DEFERRED}{row_id}"

    def channel_pending(self, group_id: int) -> bool:
        """Whether the group's channel is waiting to be created (Slack rate-limited it)."""
        with Session(self.dispatcher.engine) as session:
            found = session.exec(
                select(SlackDelivery.id).where(
                    SlackDelivery.kind == "channel",
                    SlackDelivery.group_id == group_id,
                    col(SlackDelivery.done_at).is_(None),
                )
            ).first()
        return found is not None

    def removal_pending(self, group_id: int) -> bool:
        """Whether someone removed from the group is still in its channel (Slack refused)."""
        with Session(self.dispatcher.engine) as session:
            found = session.exec(
                select(SlackDelivery.id).where(
                    SlackDelivery.kind == "removal",
                    SlackDelivery.group_id == group_id,
                    col(SlackDelivery.done_at).is_(None),
                )
            ).first()
        return found is not None

    def channels_held(self, channels: set[str]) -> set[str]:
        """Those of `channels` that someone removed from the group can still see (Slack refused
        the removal): nothing new is shown there, not even an edit of a card already posted."""
        if not channels:
            return set()
        with Session(self.dispatcher.engine) as session:
            found = session.exec(
                select(SlackDelivery.channel).where(
                    SlackDelivery.kind == "removal",
                    col(SlackDelivery.channel).in_(sorted(channels)),
                    col(SlackDelivery.done_at).is_(None),
                )
            ).all()
        return {channel for channel in found if channel is not None}

    def retry_posts(self) -> int:
        """Send the deferred posts that are due, oldest first; returns how many went."""
        now = self.dispatcher.clock.now()
        with Session(self.dispatcher.engine) as session:
            due = session.exec(
                select(SlackDelivery)
                .where(
                    SlackDelivery.kind == "post",
                    col(SlackDelivery.done_at).is_(None),
                    SlackDelivery.next_try_at <= now,
                )
                .order_by(col(SlackDelivery.id))
            ).all()
        sent = 0
        for row in due:
            if self.limits.wait_left(POST_METHOD) > 0:
                break  # still in Slack's Retry-After: leave the rest in order for next time
            channel = row.channel
            if channel is None and row.group_id is not None:
                channel = self.dispatcher.group_channel(row.group_id)
            if channel is None and row.group_id is not None and self.channel_pending(row.group_id):
                continue  # its group's channel is not created yet
            if row.group_id is not None and self.removal_pending(row.group_id):
                continue  # held: a removed member is still in the channel
            if channel is None:  # and never will be (Slack refused it for good): give up
                self._give_up(row, now, "no_channel")
                continue
            sent += self._retry_one(row, channel, now)
        return sent

    def _retry_one(self, row: SlackDelivery, channel: str, now: datetime) -> int:
        payload = dict(row.payload)
        posts: list[dict[str, Any]] = list(payload["posts"])
        ref = ""
        error: str | None = None
        while posts:
            self.pacer.wait_turn(channel)
            try:
                response = self._post_one(channel, posts[0], row.thread_ts)
            except SlackApiError as exc:
                retry_after = rate_limited(exc)
                if retry_after is not None:
                    self.limits.note(POST_METHOD, retry_after)
                    self._reschedule(
                        row, posts, now + timedelta(seconds=retry_after), "ratelimited"
                    )
                    return 0
                error = error_code(exc)
                break
            except SlackClientError as exc:
                backoff = min(timedelta(seconds=5 * 2 ** min(row.attempts, 10)), RETRY_BACKOFF_MAX)
                self._reschedule(row, posts, now + backoff, error_code(exc))
                return 0
            ref = self._sent(response)
            posts.pop(0)
        if error is not None and error not in PERMANENT_ERRORS:
            backoff = min(timedelta(seconds=5 * 2 ** min(row.attempts, 10)), RETRY_BACKOFF_MAX)
            self._reschedule(row, posts, now + backoff, error)
            return 0
        with session_scope(self.dispatcher.engine) as session:
            stored = session.get(SlackDelivery, row.id)
            assert stored is not None
            stored.done_at, stored.last_error = now, error
            stored.attempts += 1
            session.add(stored)
        if error is not None:
            log.error("Slack refused deferred delivery %s: %s", row.id, error)
            self._tell_of_loss(row, now, error)
            return 0
        self._posted(ref, payload.get("card"), payload.get("expects"))
        if payload.get("pin"):
            try:
                self.client.pins_add(channel=channel, timestamp=ref.partition(":")[2])
            except SlackClientError as exc:
                log.warning("could not pin deferred delivery %s: %s", row.id, error_code(exc))
        log.info("posted deferred delivery %s", row.id)
        return 1

    def _give_up(self, row: SlackDelivery, now: datetime, why: str) -> None:
        with session_scope(self.dispatcher.engine) as session:
            stored = session.get(SlackDelivery, row.id)
            assert stored is not None
            stored.done_at, stored.last_error = now, why
            session.add(stored)
        log.error("gave up deferred delivery %s: %s", row.id, why)
        self._tell_of_loss(row, now, why)

    def _tell_of_loss(self, row: SlackDelivery, now: datetime, why: str) -> None:
        """A kept post Slack refused for good: the reminders it carried fail after all (their
        chairs are told through the ledger); for another group post, its chairs hear here."""
        assert row.id is not None
        refused_for_good(
            self.dispatcher.engine,
            refs=[f"{DEFERRED}{row.id}", f"{HELD}{row.id}"],
            group_id=row.group_id,
            error=f"Slack refused it ({why})",
            now=now,
            send=self.send,
            lost=f"lost delivery {row.id}",
        )

    def _reschedule(
        self, row: SlackDelivery, posts: list[dict[str, Any]], when: datetime, why: str
    ) -> None:
        with session_scope(self.dispatcher.engine) as session:
            stored = session.get(SlackDelivery, row.id)
            assert stored is not None
            stored.payload = {**stored.payload, "posts": posts}
            stored.attempts += 1
            stored.next_try_at, stored.last_error = when, why
            session.add(stored)

    def update_copies(self, message: Message, *, clicked: str | None = None) -> None:
        """Replace every other recorded copy of the message's live card (chat.update), except
        copies in a channel someone removed can still see (its cards keep what they showed)."""
        if not message.card:
            return
        copies = self.dispatcher.copies_of(message.card)
        held = self.channels_held({copy.place for copy in copies})
        for copy in copies:
            if copy.message_id == clicked or copy.place in held:
                continue
            try:
                self.client.chat_update(
                    channel=copy.place,
                    ts=copy.message_id,
                    text=fallback_text(message),
                    blocks=to_blocks(message),
                )
            except SlackClientError as exc:
                log.warning("could not update a copy of card %s: %s", message.card, error_code(exc))

    def upload(self, channel: str, attachment: Attachment, *, thread_ts: str | None = None) -> str:
        """Share a file in `channel` with Slack's current upload flow; returns the file's id.

        files_upload_v2 makes the three calls: files.getUploadURLExternal, the upload of the bytes
        to the URL it returns, and files.completeUploadExternal sharing the file in the channel.
        """
        self.pacer.wait_turn(channel)
        response = self.client.files_upload_v2(
            channel=channel,
            content=attachment.data,
            filename=attachment.filename,
            title=attachment.title,
            thread_ts=thread_ts,
        )
        file = response.get("file") or {}
        return str(file.get("id", ""))

    def channel_for(self, to: ToGroup | ToPerson) -> str:
        """The channel id to post to, opening the person's DM (and remembering it) if needed."""
        match to:
            case ToGroup(group_id=group_id):
                channel = self.dispatcher.group_channel(group_id)
                if channel is None:
                    raise DeliveryError(f"group {group_id} has no Slack channel", retryable=False)
                return channel
            case ToPerson(person_id=person_id):
                ident = self.dispatcher.identities([person_id]).get(person_id)
                if ident is None:
                    raise DeliveryError(f"person {person_id} is not on Slack", retryable=False)
                if ident.dm_channel_id:
                    return ident.dm_channel_id
                try:
                    opened = self.client.conversations_open(users=ident.user_id)
                except SlackClientError as exc:
                    code = error_code(exc)
                    raise DeliveryError(
                        f"cannot open a DM ({code})", retryable=code not in PERMANENT_ERRORS
                    ) from None
                channel = str(opened["channel"]["id"])
                self.dispatcher.remember_dm(person_id, channel)
                return channel
        raise TypeError(f"not a proactive destination: {to!r}")

    def _known_channel(self, to: ToGroup | ToPerson) -> str | None:
        match to:
            case ToGroup(group_id=group_id):
                return self.dispatcher.group_channel(group_id)
            case ToPerson(person_id=person_id):
                ident = self.dispatcher.identities([person_id]).get(person_id)
                return ident.dm_channel_id if ident else None
        raise TypeError(f"not a proactive destination: {to!r}")
