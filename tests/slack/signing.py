"""Inbound requests built and signed exactly as Slack sends them, posted over real HTTP.

Slash commands are form-encoded; block actions and view submissions are form-encoded with one
`payload=` field holding JSON; Events API callbacks are JSON. Each carries
`X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{ts}:{body}">`
("Verifying requests from Slack").
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.slack.fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APP_ID = "A0COREGROUP"
VERIFICATION_TOKEN = "legacy-verification-token"  # still sent by Slack; Bolt ignores it
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def entered(view: dict[str, Any], **values: str) -> dict[str, Any]:
    """A form's state as Slack sends it: each input block's value in its element's own shape."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        element, value = block["element"], values.get(block["block_id"])
        key = {
            "datepicker": "selected_date",
            "timepicker": "selected_time",
            "users_select": "selected_user",
        }.get(element["type"], "value")
        if element["type"] == "static_select":
            shown = {"value": value, "text": {"type": "plain_text", "text": str(value)}}
            item: dict[str, Any] = {"selected_option": shown if value else None}
        else:
            item = {key: value}
        state[block["block_id"]] = {element["action_id"]: {"type": element["type"], **item}}
    return state


def signature(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Answer:
    """The app's HTTP answer and how long it took to arrive."""

    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class SlackClient:
    """Plays Slack's side of the conversation with the app under test."""

    def __init__(self, app_url: str, fake: FakeSlack, *, secret: str = SIGNING_SECRET) -> None:
        parts = urlsplit(app_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.fake = fake
        self.secret = secret
        self._seq = itertools.count(1)
        self._last: tuple[str, str, str] | None = None  # body, content type, timestamp

    # Transport ---------------------------------------------------------------------------------

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        path: str = "/slack/events",
    ) -> Answer:
        """POST `body` signed (with `secret`, at `timestamp`) to the app; returns its answer."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        self._last = (body, content_type, stamp)
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(secret or self.secret, stamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        return self.request("POST", path, body, all_headers)

    def replay(self) -> Answer:
        """The last request again, byte for byte with its signature (within the 5 minutes)."""
        assert self._last is not None, "nothing sent yet"
        body, content_type, stamp = self._last
        return self.post(body, content_type, timestamp=int(stamp))

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Answer:
        """Any HTTP request to the app."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body.encode(), headers=headers or {})
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        return Answer(response.status, text, time.perf_counter() - started)

    # Slack's requests --------------------------------------------------------------------------

    def slash_command(
        self,
        text: str,
        *,
        user_id: str,
        user_name: str = "",
        channel_id: str = "C0GENERAL",
        channel_name: str = "general",
        team_id: str = TEAM_ID,
        enterprise_id: str | None = None,
    ) -> tuple[Answer, str]:
        """`/coregroup <text>` typed by `user_id` (in workspace `team_id`); returns the ack and
        its response_url."""
        response_url = self.fake.response_url()
        form = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": "council",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": "/coregroup",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self._trigger_id(),
        }
        if enterprise_id:
            form["enterprise_id"] = enterprise_id
        return self.post(urlencode(form), FORM), response_url

    def block_action(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str,
        channel_id: str,
        message_ts: str,
        ephemeral: bool = False,
        kind: str = "button",
    ) -> tuple[Answer, str]:
        """A click on a button (or a choice in a static_select) in a message."""
        response_url = self.fake.response_url()
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": "b1",
            "type": kind,
            "action_ts": f"{time.time():.6f}",
        }
        if kind == "static_select":
            action["selected_option"] = {
                "text": {"type": "plain_text", "text": value},
                "value": value,
            }
        else:
            action["value"] = value
            action["text"] = {"type": "plain_text", "text": "Button"}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": self._trigger_id(),
            "team": {"id": TEAM_ID, "domain": "council"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": "privategroup"},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), FORM), response_url

    def home_action(self, *, user_id: str, action_id: str, value: str) -> Answer:
        """A click on a button in the Home tab (no channel, no response_url)."""
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": "V0HOME"},
            "trigger_id": self._trigger_id(),
            "team": {"id": TEAM_ID, "domain": "council"},
            "view": {"id": "V0HOME", "type": "home", "team_id": TEAM_ID, "blocks": []},
            "actions": [
                {"action_id": action_id, "block_id": "b1", "type": "button", "value": value}
            ],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), FORM)

    def view_submission(self, *, user_id: str, view: dict[str, Any], answer: str) -> Answer:
        """Submitting a one-question modal the app opened, with `answer` typed into it."""
        block = view["blocks"][0]
        entered = {"type": "plain_text_input", "value": answer}
        return self.form_submission(
            user_id=user_id,
            view=view,
            state={block["block_id"]: {block["element"]["action_id"]: entered}},
        )

    def form_submission(
        self, *, user_id: str, view: dict[str, Any], state: dict[str, Any]
    ) -> Answer:
        """Submitting a modal the app opened with `state` as Slack reports the inputs' values."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "council"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._trigger_id(),
            "view": {
                **view,
                "id": view.get("id", "V0MODAL"),
                "team_id": TEAM_ID,
                "state": {"values": state},
                "hash": "156772938.1827394",
                "app_id": APP_ID,
                "bot_id": "B0COREBOT",
            },
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), FORM)

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry: int | None = None,
        team_id: str = TEAM_ID,
    ) -> tuple[Answer, str]:
        """An Events API callback (a retry when `retry` is set); returns the ack and event_id."""
        event_id = event_id or f"Ev{uuid.uuid4().hex[:10].upper()}"
        body = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(body), JSON, headers=headers), event_id

    def dm(
        self, text: str, *, user_id: str, thread_ts: str | None = None, team_id: str = TEAM_ID
    ) -> tuple[Answer, str]:
        """`user_id` writes `text` in their DM with the app (in workspace `team_id`)."""
        ts = f"{time.time():.6f}"
        event = {
            "type": "message",
            "channel": "D" + user_id[1:],
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
            "client_msg_id": str(uuid.uuid4()),
            "team": team_id,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, team_id=team_id)

    def url_verification(self, challenge: str) -> Answer:
        """The handshake Slack sends when the Request URL is saved."""
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.post(json.dumps(body), JSON)

    def _trigger_id(self) -> str:
        return f"{next(self._seq)}.{TEAM_ID}.{uuid.uuid4().hex[:16]}"
