"""Slack's outgoing side: the Web API client, the user directory and the paced, keyed Outbox.

Every message the bot posts to a channel goes through `SlackOutbox.post`, which keeps at least
`interval` seconds between posts to one channel (Slack allows about one message per second per
channel) and lets slack_sdk's rate-limit handler retry a 429 after its Retry-After. Proactive
messages carry their idempotency key in message metadata, so after a crash `find_sent` can look for
it in the channel's recent history — the rare recovery path; the database is the record.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.adapters.metrics import CountingRateLimitHandler
from bot.config import Settings
from bot.core.people import Who
from bot.core.ports import DeliveryError
from bot.messages import Attachment, Message, ToGroup, ToPerson
from bot.render.blockkit import fallback_text, to_blocks, to_messages
from commands.dispatch import Dispatcher
from storage.enums import Platform

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


def slack_client(settings: Settings) -> WebClient:
    """A WebClient for the bot token on SLACK_API_URL (default slack.com) that retries 429s."""
    base_url = settings.slack_api_url or DEFAULT_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=15)
    client.retry_handlers.append(CountingRateLimitHandler(max_retry_count=3))  # /metrics
    if not any(isinstance(h, ConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(ConnectionErrorRetryHandler())
    return client


def error_code(exc: SlackClientError) -> str:
    """Slack's short error code (e.g. `channel_not_found`), or the exception type's name."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "unknown_error")
    return type(exc).__name__


class SlackDirectory:
    """Finds Slack users with `users.info`, remembering answers for an hour."""

    def __init__(self, client: WebClient, *, ttl: float = 3600.0) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Who | None]] = {}

    def describe(self, user_id: str) -> Who | None:
        """The user's name and timezone, or None if no such user is in the workspace."""
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


class SlackOutbox:
    """Delivers messages to group channels and DMs; the Outbox for reminders and prompts."""

    def __init__(
        self, client: WebClient, dispatcher: Dispatcher, *, pacer: Pacer | None = None
    ) -> None:
        self.client = client
        self.dispatcher = dispatcher
        self.pacer = pacer or Pacer()

    # The Outbox port ---------------------------------------------------------------------------

    def send(self, to: ToGroup | ToPerson, message: Message) -> str:
        """Post `message` to the group's channel or the person's DM; returns "channel:ts"."""
        channel = self.channel_for(to)
        try:
            return self.post(channel, message)
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

    # Used by the adapter too -------------------------------------------------------------------

    def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
        """chat.postMessage, paced per channel, with the key in metadata; returns "channel:ts"."""
        ref = ""
        for payload in to_messages(message):  # a long message goes as several posts
            args: dict[str, Any] = {**payload, "channel": channel}
            args.update(unfurl_links=False, unfurl_media=False)
            if thread_ts:
                args["thread_ts"] = thread_ts
            if message.key:
                args["metadata"] = {
                    "event_type": METADATA_EVENT,
                    "event_payload": {"key": message.key},
                }
            self.pacer.wait_turn(channel)
            response = self.client.chat_postMessage(**args)
            ref = f"{response['channel']}:{response['ts']}"
        self.dispatcher.remember_prompt(ref, message)  # a reply in its thread answers it
        if message.card:
            posted, _, ts = ref.partition(":")
            self.dispatcher.remember_copy(message.card, posted, ts)
        if message.attachment is not None:
            self.upload(channel, message.attachment, thread_ts=thread_ts)
        return ref

    def update_copies(self, message: Message, *, clicked: str | None = None) -> None:
        """Replace every other recorded copy of the message's live card (chat.update)."""
        if not message.card:
            return
        for copy in self.dispatcher.copies_of(message.card):
            if copy.message_id == clicked:
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
