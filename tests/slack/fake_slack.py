"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that records and answers every call.

The app reaches it through `SLACK_API_URL` (slack_sdk's `base_url`), exactly as it would reach
slack.com. Each call is checked against Slack's published OpenAPI spec (method exists, required
arguments present, no unknown arguments) plus tests/slack/spec_overlay.py for what Slack added
since 2020, and any Block Kit payload against the documented limits. Anything wrong lands in
`problems`, which the test fixture asserts is empty.

It also stands in for `response_url`s: POSTs to `/respond/<n>` are recorded as `responses`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.slack.spec_overlay import OVERLAY
from tests.specs import SLACK_WEB_API

SPEC = SLACK_WEB_API
BOT_TOKEN = "xoxb-test-0000"
APP_TOKEN = "xapp-1-A0COREGROUP-0000-test"  # the app-level token Socket Mode connects with
TEAM_ID = "T0COUNCIL"
BOT_USER_ID = "U0COREBOT"
CHANNEL_NAME = r"^[a-z0-9_-]{1,80}$"
UPLOAD_PATH = "/upload/"


@dataclass(frozen=True)
class Call:
    """One request the app made: Web API method (or `respond`) and its decoded arguments."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int = 200


@dataclass
class Channel:
    """A conversation in the fake workspace."""

    id: str
    name: str
    is_private: bool = True
    is_im: bool = False
    members: set[str] = field(default_factory=set)
    topic: str = ""
    purpose: str = ""
    archived: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)


@dataclass
class UploadedFile:
    """A file uploaded with the external upload flow, and where it was shared."""

    id: str
    filename: str
    length: int
    data: bytes = b""
    title: str = ""
    channels: list[str] = field(default_factory=list)
    uploaded: bool = False


class SlackError(Exception):
    """Answer the call with ok=false and this error code."""


# --- the spec -----------------------------------------------------------------------------------


@cache
def spec_methods() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Every method in the OpenAPI spec: (all argument names, required names), token excluded."""
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    methods = {}
    for path, verbs in spec["paths"].items():
        names: set[str] = set()
        required: set[str] = set()
        for operation in verbs.values():
            for param in operation.get("parameters", []):
                if param["name"] == "token":
                    continue
                names.add(param["name"])
                if param.get("required"):
                    required.add(param["name"])
        methods[path.lstrip("/")] = (frozenset(names), frozenset(required))
    return methods


def spec_problems(method: str, args: dict[str, Any]) -> list[str]:
    """How a call breaks the spec (plus overlay): unknown method, missing or unknown arguments."""
    known = spec_methods().get(method)
    overlay = OVERLAY.get(method)
    if known is None and (overlay is None or not overlay.new_method):
        return [f"{method}: no such Web API method"]
    names, required = known or (frozenset(), frozenset())
    if overlay is not None:
        names |= overlay.optional | overlay.required
        required |= overlay.required
    given = set(args) - {"token"}
    problems = [f"{method}: missing required argument {name}" for name in sorted(required - given)]
    problems += [f"{method}: unknown argument {name}" for name in sorted(given - names)]
    return problems


# --- Block Kit limits ---------------------------------------------------------------------------


def _text_problems(where: str, obj: Any, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where}: not a text object"]
    if plain_only and obj["type"] != "plain_text":
        return [f"{where}: must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        return [f"{where}: text length {len(text or '')} outside 1..{limit}"]
    return []


def _element_problems(where: str, element: dict[str, Any], ids: list[str]) -> list[str]:
    problems = []
    action_id = element.get("action_id", "")
    ids.append(action_id)
    if len(action_id) > 255:
        problems.append(f"{where}: action_id longer than 255")
    kind = element.get("type")
    if kind == "button":
        problems += _text_problems(f"{where}.text", element.get("text"), 75, plain_only=True)
        if len(element.get("value", "")) > 2000:
            problems.append(f"{where}: value longer than 2000")
    elif kind == "static_select":
        options = element.get("options", [])
        if not 1 <= len(options) <= 100:
            problems.append(f"{where}: {len(options)} options outside 1..100")
        for i, option in enumerate(options):
            problems += _text_problems(f"{where}.options[{i}]", option.get("text"), 75)
            if len(option.get("value", "")) > 150:
                problems.append(f"{where}.options[{i}]: value longer than 150")
    elif kind in ("plain_text_input", "datepicker", "timepicker", "users_select"):
        pass
    else:
        problems.append(f"{where}: unexpected element type {kind}")
    return problems


def blocks_problems(blocks: Any, *, limit: int) -> list[str]:
    """How a list of blocks breaks Block Kit's documented limits."""
    if not isinstance(blocks, list):
        return ["blocks: not a list"]
    problems = [] if len(blocks) <= limit else [f"blocks: {len(blocks)} blocks > {limit}"]
    ids: list[str] = []
    for n, block in enumerate(blocks):
        where = f"blocks[{n}]({block.get('type')})"
        match block.get("type"):
            case "section":
                if "text" not in block and "fields" not in block:
                    problems.append(f"{where}: neither text nor fields")
                if "text" in block:
                    problems += _text_problems(where, block["text"], 3000)
                fields = block.get("fields", [])
                if len(fields) > 10:
                    problems.append(f"{where}: {len(fields)} fields > 10")
                for i, item in enumerate(fields):
                    problems += _text_problems(f"{where}.fields[{i}]", item, 2000)
                if "accessory" in block:
                    problems += _element_problems(f"{where}.accessory", block["accessory"], ids)
            case "header":
                problems += _text_problems(where, block.get("text"), 150, plain_only=True)
            case "actions":
                elements = block.get("elements", [])
                if not 1 <= len(elements) <= 25:
                    problems.append(f"{where}: {len(elements)} elements outside 1..25")
                for i, element in enumerate(elements):
                    problems += _element_problems(f"{where}.elements[{i}]", element, ids)
            case "context":
                elements = block.get("elements", [])
                if not 1 <= len(elements) <= 10:
                    problems.append(f"{where}: {len(elements)} elements outside 1..10")
                for i, element in enumerate(elements):
                    problems += _text_problems(f"{where}.elements[{i}]", element, 3000)
            case "input":
                problems += _text_problems(f"{where}.label", block.get("label"), 2000)
                problems += _element_problems(f"{where}.element", block.get("element", {}), ids)
            case "divider":
                pass
            case other:
                problems.append(f"{where}: unexpected block type {other}")
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"blocks: action_ids not unique: {duplicates}")
    return problems


def view_problems(view: Any) -> list[str]:
    """How a modal or Home tab view breaks the documented limits."""
    if not isinstance(view, dict):
        return ["view: not an object"]
    problems = blocks_problems(view.get("blocks"), limit=100)
    if view.get("type") == "modal":
        problems += _text_problems("view.title", view.get("title"), 24, plain_only=True)
        for button in ("submit", "close"):
            if button in view:
                problems += _text_problems(f"view.{button}", view[button], 24, plain_only=True)
    if len(view.get("private_metadata", "")) > 3000:
        problems.append("view: private_metadata longer than 3000")
    return problems


def _decoded(value: Any) -> Any:
    """Form-encoded calls carry objects as JSON strings; JSON calls carry them as objects."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    return value


def texts(payload: Any) -> list[str]:
    """Every string under a "text" key in a Slack payload (top-level text and all blocks)."""
    found: list[str] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found += texts(value)
    elif isinstance(payload, list):
        for item in payload:
            found += texts(item)
    return found


def shown(payload: Any) -> str:
    """All the text of a payload, joined, for `in` checks."""
    return "\n".join(texts(payload))


# --- the server ---------------------------------------------------------------------------------


class PostLimits:
    """chat.postMessage's limits as token buckets: `per_channel` posts a second to one channel
    with bursts of `channel_burst`, and `workspace` a second across the workspace with bursts of
    `workspace_burst` (Slack publishes no workspace figure: the caller states one)."""

    def __init__(
        self,
        *,
        per_channel: float = 1.0,
        channel_burst: int = 3,
        workspace: float = 10.0,
        workspace_burst: int = 10,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_channel, self.channel_burst = per_channel, channel_burst
        self.workspace, self.workspace_burst = workspace, workspace_burst
        self.now = now
        self._levels: dict[str, tuple[float, float]] = {}  # key → (tokens, when)

    def take(self, channel: str) -> float:
        """0 and one post used up if a post to `channel` fits now, else seconds until it would."""
        now = self.now()
        buckets = (
            (channel, self.per_channel, self.channel_burst),
            ("*", self.workspace, self.workspace_burst),
        )
        levels = {}
        for key, rate, burst in buckets:
            tokens, when = self._levels.get(key, (float(burst), now))
            levels[key] = min(float(burst), tokens + (now - when) * rate)
        wait = max((1.0 - levels[key]) / rate for key, rate, _ in buckets)
        if wait > 0:
            return wait
        for key, _, _ in buckets:
            self._levels[key] = (levels[key] - 1.0, now)
        return 0.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # like a real server, take a burst of connections without resets


class FakeSlack:
    """The fake Web API and response_url endpoint, with the workspace state it implies."""

    def __init__(self, port: int = 0) -> None:
        self.calls: list[Call] = []
        self.responses: list[Call] = []
        # When the first post reached each response_url (time.monotonic(), system-wide on Linux):
        # the benchmark's command → visible reply.
        self.response_times: dict[str, float] = {}
        self.problems: list[str] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        self._limits: dict[str, list[int]] = {}
        self._pace: PostLimits | None = None  # chat.postMessage's rate limits, when enforced
        self.last_post_at = 0.0  # when chat.postMessage last posted (time.monotonic())
        # Socket Mode: a fresh WebSocket URL for each apps.connections.open.
        self.socket_url: Callable[[], str] | None = None
        self._failures: dict[str, list[str]] = {}
        self._holds: dict[str, int] = {}  # method → calls still let through before holding
        self._gate = threading.Event()
        self._gate.set()
        self.held = 0  # calls being held in flight now
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # Lifecycle and set-up ------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Start serving (on an ephemeral port unless one was given)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """The server's base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL should be set to."""
        return f"{self.url}/api/"

    def response_url(self) -> str:
        """A fresh response_url for an inbound request."""
        return f"{self.url}/respond/{next(self._ids)}"

    def add_user(self, user_id: str, real_name: str, tz: str = "Europe/London") -> None:
        """A workspace member that users.info can describe."""
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": real_name.split()[0].lower(),
            "real_name": real_name,
            "tz": tz,
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "is_bot": False,
            "deleted": False,
            "profile": {"real_name": real_name, "display_name": real_name.split()[0]},
        }

    def add_channel(self, name: str, *, members: set[str] | None = None) -> Channel:
        """An existing channel (e.g. to make a name already taken)."""
        channel = Channel(id=f"C{next(self._ids):08d}", name=name, members=set(members or ()))
        self.channels[channel.id] = channel
        return channel

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 0) -> None:
        """Answer the next `times` calls to `method` with HTTP 429 and Retry-After."""
        self._limits[method] = [retry_after] * times

    def enforce_post_limits(self, limits: PostLimits) -> None:
        """From now on answer chat.postMessage with 429 and Retry-After whenever a post would
        exceed `limits`, as Slack does (a refused post uses up nothing)."""
        self._pace = limits

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with ok=false and `error`."""
        self._failures[method] = [error] * times

    # Inspection --------------------------------------------------------------------------------

    def hold(self, method: str, *, after: int) -> None:
        """Answer `after` more calls to `method`, then keep each later one in flight (no answer
        yet) until `release()`: a slow network, at the moment the test chooses."""
        with self._lock:
            self._holds[method] = after
            self._gate.clear()

    def release(self) -> None:
        """Answer the held calls, and every later one at once."""
        with self._lock:
            self._holds.clear()
            self._gate.set()

    def _wait_if_held(self, method: str) -> None:
        with self._lock:
            left = self._holds.get(method)
            if left is None:
                return
            if left > 0:
                self._holds[method] = left - 1
                return
            self.held += 1
        try:
            self._gate.wait(timeout=120)
        finally:
            with self._lock:
                self.held -= 1

    def calls_to(self, method: str) -> list[Call]:
        """The successful calls to `method`, in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def wait_for(self, check: Callable[[], Any], *, timeout: float = 5.0) -> Any:
        """Poll `check` until it returns something truthy (the app works after its ack)."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for the app")
            time.sleep(0.01)

    def wait_calls(self, method: str, count: int = 1, *, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` was called successfully at least `count` times; return the calls."""
        return self.wait_for(
            lambda: self.calls_to(method) if len(self.calls_to(method)) >= count else None,
            timeout=timeout,
        )

    def wait_responses(self, count: int = 1, *, timeout: float = 5.0) -> list[Call]:
        """Wait until `count` response_url posts arrived; return them."""
        return self.wait_for(
            lambda: list(self.responses) if len(self.responses) >= count else None,
            timeout=timeout,
        )

    def state(self) -> dict[str, Any]:
        """Channels with their messages, and the count of calls and problems, as plain data."""
        with self._lock:
            return {
                "channels": {
                    c.id: {"name": c.name, "messages": c.messages} for c in self.channels.values()
                },
                "calls": len(self.calls),
                "responses": len(self.responses),
                "response_times": dict(self.response_times),
                "problems": self.problems[:20],
            }

    # Handling ----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if parts.path.startswith(UPLOAD_PATH):  # a file's bytes, not form data
                    data = self.rfile.read(length) if length else b""
                    status, headers, body = fake._upload(parts.path, data)
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                args: dict[str, Any] = dict(parse_qsl(parts.query))
                if raw:
                    if (self.headers.get("Content-Type") or "").startswith("application/json"):
                        args.update(json.loads(raw))
                    else:
                        args.update(parse_qsl(raw, keep_blank_values=True))
                auth = self.headers.get("Authorization") or ""
                token = auth.removeprefix("Bearer ") if auth else args.get("token")
                status, headers, body = fake._route(parts.path, args, token)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def _route(
        self, path: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        if path == "/_fake/state":  # for the benchmark, which runs the fake in another process
            return 200, {"Content-Type": "application/json"}, json.dumps(self.state()).encode()
        if path.startswith("/respond/"):
            return self._respond(path, args)
        if not path.startswith("/api/"):
            return 404, {}, b"not found"
        method = path.removeprefix("/api/")
        self._wait_if_held(method)
        with self._lock:
            limits = self._limits.get(method)
            if limits:
                retry_after = limits.pop(0)
                self.calls.append(Call(method, args, token, status=429))
                body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
                headers = {"Retry-After": str(retry_after), "Content-Type": "application/json"}
                return 429, headers, body
            paced = method == "chat.postMessage" and self._pace is not None
            wait = self._pace.take(str(args.get("channel", ""))) if paced and self._pace else 0.0
            if wait > 0:
                self.calls.append(Call(method, args, token, status=429))
                body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
                headers = {"Retry-After": str(math.ceil(wait)), "Content-Type": "application/json"}
                return 429, headers, body
            self.problems += spec_problems(method, args)
            self.problems += self._payload_problems(method, args)
            self.calls.append(Call(method, args, token))
            try:
                # apps.connections.open takes the app-level token; everything else the bot's.
                wanted = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
                if token != wanted:
                    raise SlackError("invalid_auth")
                failures = self._failures.get(method)
                if failures:
                    raise SlackError(failures.pop(0))
                handler = getattr(self, "_api_" + method.replace(".", "_"), None)
                if handler is None:
                    raise SlackError("unknown_method")
                result = {"ok": True, **handler(args)}
            except SlackError as err:
                result = {"ok": False, "error": str(err)}
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()

    def _respond(self, path: str, args: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.response_times.setdefault(path, time.monotonic())
            self.problems += blocks_problems(args.get("blocks", []), limit=50)
            self.responses.append(Call("respond", {**args, "url": path}, None))
        return 200, {"Content-Type": "text/plain"}, b"ok"

    def _payload_problems(self, method: str, args: dict[str, Any]) -> list[str]:
        if "blocks" in args:
            return blocks_problems(_decoded(args["blocks"]), limit=50)
        if "view" in args:
            return view_problems(_decoded(args["view"]))
        return []

    # The Web API methods the bot uses ----------------------------------------------------------

    def _ts(self) -> str:
        return f"{1_790_000_000 + next(self._clock)}.{next(self._clock):06d}"

    def _channel(self, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://council.slack.com/",
            "team": "Council",
            "user": "coregroup",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0COREBOT",
            "is_enterprise_install": False,
        }

    def _api_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            raise SlackError("not_allowed_token_type")
        return {"url": self.socket_url()}

    def _api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user}

    def _api_conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name", "")
        if not re.match(CHANNEL_NAME, name):
            raise SlackError("invalid_name_specials")
        if any(c.name == name for c in self.channels.values()):
            raise SlackError("name_taken")
        private = str(args.get("is_private")).lower() in ("true", "1")
        channel = Channel(
            id=f"C{next(self._ids):08d}", name=name, is_private=private, members={BOT_USER_ID}
        )
        self.channels[channel.id] = channel
        return {"channel": {"id": channel.id, "name": name, "is_private": private}}

    def _api_conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        users = [u for u in str(args.get("users", "")).split(",") if u]
        for user in users:
            if user == BOT_USER_ID:
                raise SlackError("cant_invite_self")
            if user not in self.users:
                raise SlackError("user_not_found")
            if user in channel.members:
                raise SlackError("already_in_channel")
        channel.members.update(users)
        return {"channel": {"id": channel.id}}

    def _api_conversations_kick(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        if args.get("user") not in channel.members:
            raise SlackError("not_in_channel")
        channel.members.discard(args["user"])
        return {}

    def _api_conversations_setTopic(self, args: dict[str, Any]) -> dict[str, Any]:
        self._channel(args.get("channel", "")).topic = args.get("topic", "")
        return {}

    def _api_conversations_setPurpose(self, args: dict[str, Any]) -> dict[str, Any]:
        self._channel(args.get("channel", "")).purpose = args.get("purpose", "")
        return {}

    def _api_conversations_archive(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        if channel.archived:
            raise SlackError("already_archived")
        channel.archived = True
        return {}

    def _api_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("users", ""))
        if user not in self.users:
            raise SlackError("user_not_found")
        dm_id = "D" + user[1:]
        if dm_id not in self.channels:
            self.channels[dm_id] = Channel(id=dm_id, name=dm_id, is_im=True, members={user})
        return {"channel": {"id": dm_id}}

    def _api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        limit = int(args.get("limit", 100))
        metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        messages = []
        for message in reversed(channel.messages[-limit:]):
            shown = {k: v for k, v in message.items() if k != "metadata" or metadata}
            messages.append(shown)
        return {"messages": messages, "has_more": len(channel.messages) > limit}

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        if channel.archived:
            raise SlackError("is_archived")
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "ts": self._ts(),
            "text": args.get("text", ""),
            "blocks": _decoded(args.get("blocks", [])),
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("metadata"):
            message["metadata"] = _decoded(args["metadata"])
        channel.messages.append(message)
        self.last_post_at = time.monotonic()
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    def _api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._channel(args.get("channel", ""))
        return {"message_ts": self._ts()}

    def _api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        for message in channel.messages:
            if message["ts"] == args.get("ts"):
                message["text"] = args.get("text", "")
                message["blocks"] = _decoded(args.get("blocks", []))
                return {"channel": channel.id, "ts": message["ts"], "text": message["text"]}
        raise SlackError("message_not_found")

    def _api_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        for message in channel.messages:
            if message["ts"] == args.get("ts"):
                channel.messages.remove(message)
                return {"channel": channel.id, "ts": message["ts"]}
        raise SlackError("message_not_found")

    def _api_pins_add(self, args: dict[str, Any]) -> dict[str, Any]:
        self._channel(args.get("channel", "")).pins.append(args.get("timestamp", ""))
        return {}

    def _api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _decoded(args.get("view"))
        return {"view": {"id": f"V{next(self._ids):08d}", **view}}

    def _api_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _decoded(args.get("view"))
        self.views[args.get("user_id", "")] = view
        return {"view": {"id": f"V{next(self._ids):08d}", **view}}

    # The external file upload flow (files.getUploadURLExternal, POST the bytes, complete) ------

    def _api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(args.get("length", ""))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = UploadedFile(file_id, str(args.get("filename", "")), length)
        return {"upload_url": f"{self.url}{UPLOAD_PATH}{file_id}", "file_id": file_id}

    def _upload(self, path: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            file = self.files.get(path.removeprefix(UPLOAD_PATH))
            self.calls.append(Call("upload", {"path": path, "bytes": len(data)}, None))
            if file is None:
                return 404, {}, b"not found"
            if len(data) != file.length:
                self.problems.append(f"upload: {len(data)} bytes sent, {file.length} announced")
            file.data, file.uploaded = data, True
        return 200, {}, b"OK - " + str(len(data)).encode()

    def _api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        listed = _decoded(args.get("files", "[]"))
        if not isinstance(listed, list) or not listed:
            raise SlackError("invalid_arguments")
        channel_id = args.get("channel_id")
        shared = []
        for item in listed:
            file = self.files.get(str(item.get("id", "")))
            if file is None or not file.uploaded:
                raise SlackError("file_not_found")
            file.title = str(item.get("title") or file.filename)
            if channel_id:
                channel = self._channel(str(channel_id))
                file.channels.append(channel.id)
                channel.messages.append(
                    {"type": "message", "user": BOT_USER_ID, "ts": self._ts(), "files": [file.id]}
                )
            shared.append({"id": file.id, "title": file.title, "name": file.filename})
        return {"files": shared}
