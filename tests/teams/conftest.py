"""Local fakes of Microsoft's services, over real HTTPS on 127.0.0.1, and the bot in front of them.

- `Issuer`: the Bot Framework's token issuer: an RSA key, OpenID metadata and a JWKS endpoint. The
  bot is configured to trust its metadata address; tests sign inbound activities with it.
- `FakeConnector`: the Bot Connector service (receives replies, updates and proactive sends, opens
  1:1 chats, answers roster look-ups) and the Entra token endpoint msal gets the bot's tokens from.
- `FakeGraph`: Microsoft Graph's chat, channel and team endpoints.
Each runs on its own ephemeral port with a throwaway certificate the bot is told to trust.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import jwt
import pytest
import requests
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine

from bot.adapters.teams import (
    TeamsRuntime,
    TeamsSettings,
    build_teams_runtime,
)
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import Settings
from bot.distribution import Distributor
from storage.enums import Platform
from tests.factories import in_team
from tests.specs import ADAPTIVE_CARD_SCHEMA
from tests.tls import Tls, make_tls

APP_ID = "00000000-0000-0000-0000-00000000b0ff"
APP_SECRET = "test-secret-not-real"
TENANT = "11111111-2222-3333-4444-555555555555"
BOT_ID = f"28:{APP_ID}"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA_PATH = ADAPTIVE_CARD_SCHEMA


# --- TLS for the fakes ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A throwaway certificate authority that is also the fakes' server certificate."""
    return make_tls(tmp_path_factory.mktemp("tls"))


class HttpsServer:
    """An aiohttp application served over HTTPS on 127.0.0.1 from a background thread."""

    def __init__(self, app: web.Application, tls: Tls) -> None:
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=tls.context())
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()


def _dropping(down: Any) -> Any:
    """Middleware closing the connection without an answer while `down()` is true."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if down():
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=503)  # never reaches the client: the socket is closed
        return await handler(request)

    return middleware


# --- the Bot Framework token issuer ---------------------------------------------------------------


class Issuer:
    """Signs tokens the way the Bot Framework does; publishes its keys as OpenID metadata."""

    def __init__(self, tls: Tls) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.unreachable = False  # drop every connection, as if the network were down
        app = web.Application(middlewares=[_dropping(lambda: self.unreachable)])
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/keys", self._keys)
        self.server = HttpsServer(app, tls)
        self.metadata_url = f"{self.server.url}/v1/.well-known/openidconfiguration"

    async def _metadata(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "jwks_uri": f"{self.server.url}/v1/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "endorsements": ["msteams", "webchat"]})
        return web.json_response({"keys": [jwk]})

    def token(
        self,
        service_url: str,
        *,
        audience: str = APP_ID,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        lifetime: int = 3600,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """A Bot Framework token for one activity (the defaults make a valid one)."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "serviceUrl": service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})


# --- the Bot Connector and the Entra token endpoint -----------------------------------------------


@dataclass
class Sent:
    """One request the bot made to the fake Bot Connector."""

    method: str
    conversation: str
    activity: dict[str, Any]
    activity_id: str
    reply_to: str | None = None

    def card(self) -> dict[str, Any]:
        """The Adaptive Card the activity carries."""
        (attachment,) = self.activity["attachments"]
        assert attachment["contentType"] == CARD_TYPE
        return attachment["content"]

    def text(self) -> str:
        """Every TextBlock and fact in the card, unescaped, one per line."""
        lines: list[str] = []
        _collect_text(self.card(), lines)
        return "\n".join(lines)


def _collect_text(node: Any, lines: list[str]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            lines.append(unescape(node["text"]))
        for fact in node.get("facts", []):
            lines.append(f"{unescape(fact['title'])}: {unescape(fact['value'])}")
        for value in node.values():
            _collect_text(value, lines)
    elif isinstance(node, list):
        for item in node:
            _collect_text(item, lines)


def unescape(text: str) -> str:
    """What Teams shows for an escaped TextBlock: backslash escapes and word joiners removed."""
    out, chars = [], iter(text.replace("\u2060", ""))
    for ch in chars:
        out.append(next(chars, "") if ch == "\\" else ch)
    return "".join(out)


class SendLimits:
    """The Bot Connector's send limits as sliding windows: per conversation (7 in 1 s, 8 in 2 s,
    60 in 30 s, 1800 an hour) and across the tenant (50 a second)."""

    CONVERSATION = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))
    TENANT = ((1.0, 50),)

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self._sent: dict[str, list[float]] = {}

    def take(self, conversation: str) -> float:
        """0 and the send recorded if it keeps within every limit, else seconds until it would."""
        now = self.now()
        checks = ((conversation, self.CONVERSATION), ("*", self.TENANT))
        wait = 0.0
        for key, windows in checks:
            sent = self._sent.setdefault(key, [])
            for window, count in windows:
                recent = [t for t in sent if t > now - window]
                if len(recent) >= count:
                    wait = max(wait, recent[-count] + window - now)
        if wait > 0:
            return wait
        for key, windows in checks:
            longest = max(window for window, _ in windows)
            self._sent[key] = [t for t in self._sent[key] if t > now - longest] + [now]
        return 0.0


class FakeConnector:
    """The Bot Connector REST API and the tenant's token endpoint."""

    def __init__(self, tls: Tls) -> None:
        self.sent: list[Sent] = []
        self.deleted: list[tuple[str, str]] = []  # (conversation, activity) the bot deleted
        self.refuse_deletes = 0  # deletions to refuse (403) before allowing them again
        self.opened: list[dict[str, Any]] = []
        self.tokens: dict[str, str] = {}  # access token → scope
        self.token_requests = 0
        self.roster: dict[str, dict[str, Any]] = {}  # user id → member
        # A group chat's members' Entra ids (FakeGraph's chats); its roster lists those.
        self.chat_members: Callable[[str], list[str] | None] = lambda conversation: None
        self.refuse_rosters = 0  # whole-roster look-ups to refuse (403) before answering again
        self.fail: list[tuple[int, dict[str, str]]] = []  # answers for the next activity posts
        self.limits: SendLimits | None = None  # the documented send limits, when enforced
        self.throttled = 0  # activity posts answered 429 by `limits`
        self.last_post_at = 0.0  # when an activity was last posted (time.monotonic())
        self.attempts = 0
        self.anonymous = False
        self.drop_logins = 0  # connections to the Entra endpoints to drop before answering
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        app = web.Application(middlewares=[self._login_down])
        app.router.add_get(f"/{TENANT}/v2.0/.well-known/openid-configuration", self._oidc)
        app.router.add_post(f"/{TENANT}/oauth2/v2.0/token", self._token)
        app.router.add_post("/v3/conversations", self._open)
        app.router.add_post("/v3/conversations/{conv}/activities", self._post)
        app.router.add_post("/v3/conversations/{conv}/activities/{reply_to}", self._post)
        app.router.add_put("/v3/conversations/{conv}/activities/{activity}", self._put)
        app.router.add_delete("/v3/conversations/{conv}/activities/{activity}", self._delete)
        app.router.add_get("/v3/conversations/{conv}/members", self._members)
        app.router.add_get("/v3/conversations/{conv}/members/{user}", self._member)
        self.server = HttpsServer(app, tls)
        self.service_url = self.server.url + "/"

    # Entra ---------------------------------------------------------------------------------

    @web.middleware
    async def _login_down(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(f"/{TENANT}/") and self.drop_logins > 0:
            self.drop_logins -= 1
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=503)  # never reaches the client: the socket is closed
        return await handler(request)

    async def _oidc(self, request: web.Request) -> web.Response:
        base = f"{self.server.url}/{TENANT}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.token_requests += 1
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != APP_ID
            or form.get("client_secret") != APP_SECRET
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = str(form.get("scope"))
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        )

    def authorised(self, request: web.Request, scope: str) -> bool:
        """Whether the request carries a token this fake issued for `scope`."""
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and self.tokens.get(header[7:]) == scope

    # Bot Connector -------------------------------------------------------------------------

    def _check(self, request: web.Request) -> web.Response | None:
        if self.anonymous:  # like the Agents Playground, which checks no token
            return None
        if not self.authorised(request, "https://api.botframework.com/.default"):
            return web.json_response({"error": "unauthorized"}, status=401)
        return None

    async def _open(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        params = await request.json()
        self.opened.append(params)
        user = params["members"][0]["id"]
        return web.json_response({"id": f"a:dm-{user}"}, status=201)

    async def _post(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        with self._lock:
            self.attempts += 1
            failure = self.fail.pop(0) if self.fail else None
            paced = failure is None and self.limits is not None
            wait = self.limits.take(request.match_info["conv"]) if paced and self.limits else 0.0
            if wait > 0:
                self.throttled += 1
                failure = (429, {"Retry-After": str(math.ceil(wait))})
        if failure is not None:
            status, headers = failure
            return web.json_response(
                {"error": {"code": "Throttled"}}, status=status, headers=headers
            )
        activity = await request.json()
        activity_id = str(next(self._ids))
        self.last_post_at = time.monotonic()
        self.sent.append(
            Sent(
                "POST",
                request.match_info["conv"],
                activity,
                activity_id,
                request.match_info.get("reply_to"),
            )
        )
        return web.json_response({"id": activity_id}, status=201)

    async def _put(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        activity = await request.json()
        self.sent.append(
            Sent("PUT", request.match_info["conv"], activity, request.match_info["activity"])
        )
        return web.json_response({"id": request.match_info["activity"]})

    async def _delete(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        if self.refuse_deletes > 0:
            self.refuse_deletes -= 1
            return web.json_response({"error": {"code": "Forbidden"}}, status=403)
        self.deleted.append((request.match_info["conv"], request.match_info["activity"]))
        return web.Response(status=200)

    async def _member(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        user, conversation = request.match_info["user"], request.match_info["conv"]
        member = self.roster.get(user)
        if member is None or (conversation.startswith("a:dm-") and conversation != f"a:dm-{user}"):
            # a 1:1 chat's roster has only its own person
            return web.json_response(
                {"error": {"code": "MemberNotFoundInConversation"}}, status=404
            )
        return web.json_response(member)

    async def _members(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        if self.refuse_rosters > 0:
            self.refuse_rosters -= 1
            return web.json_response({"error": {"code": "Forbidden"}}, status=403)
        members = self.chat_members(request.match_info["conv"])
        if members is None:
            return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        return web.json_response(
            [m for m in self.roster.values() if m.get("aadObjectId") in members]
        )

    # Reading what was sent -----------------------------------------------------------------

    def to(self, conversation: str) -> list[Sent]:
        """Everything posted to a conversation, oldest first."""
        return [s for s in self.sent if s.conversation == conversation and s.method == "POST"]

    def updates(self) -> list[Sent]:
        """Every card replaced in place."""
        return [s for s in self.sent if s.method == "PUT"]


# --- Microsoft Graph ------------------------------------------------------------------------------


@dataclass
class FakeGraph:
    """The Graph endpoints for group chats, channels and team membership."""

    connector: FakeConnector
    tls: Tls
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    team_members: set[str] = field(default_factory=set)
    installed: list[tuple[str, str]] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    catalog_id: str = "catalog-app-1"
    refuse_removals: int = 0  # removals from a chat to refuse before allowing them again
    refusal_status: int = 403  # how they are refused

    def __post_init__(self) -> None:
        app = web.Application()
        r = app.router
        r.add_post("/v1.0/chats", self._create_chat)
        r.add_patch("/v1.0/chats/{chat}", self._patch_chat)
        r.add_post("/v1.0/chats/{chat}/installedApps", self._install)
        r.add_get("/v1.0/chats/{chat}/members", self._chat_members)
        r.add_post("/v1.0/chats/{chat}/members", self._add_chat_member)
        r.add_delete("/v1.0/chats/{chat}/members/{member}", self._remove_chat_member)
        r.add_get("/v1.0/appCatalogs/teamsApps", self._catalog)
        r.add_post("/v1.0/teams/{team}/channels", self._create_channel)
        r.add_post("/v1.0/teams/{team}/members", self._add_team_member)
        r.add_post("/v1.0/teams/{team}/channels/{channel}/archive", self._archive)
        self.server = HttpsServer(app, self.tls)
        self.url = f"{self.server.url}/v1.0"
        self.connector.chat_members = lambda chat: (self.chats.get(chat) or {}).get("members")

    def _denied(self, request: web.Request) -> web.Response | None:
        if not self.connector.authorised(request, "https://graph.microsoft.com/.default"):
            return web.json_response({"error": {"code": "InvalidAuthenticationToken"}}, status=401)
        return None

    @staticmethod
    def _user(member: dict[str, Any]) -> str:
        bind = member["user@odata.bind"]
        return bind[bind.index("('") + 2 : bind.index("')")]

    async def _create_chat(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        assert body["chatType"] == "group"
        chat_id = f"19:{uuid.uuid4().hex}@thread.v2"
        self.chats[chat_id] = {
            "topic": body["topic"],
            "members": [self._user(m) for m in body["members"]],
        }
        return web.json_response({"id": chat_id, "chatType": "group"}, status=201)

    async def _patch_chat(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        self.chats[request.match_info["chat"]]["topic"] = (await request.json())["topic"]
        return web.Response(status=204)

    async def _install(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        bind = (await request.json())["teamsApp@odata.bind"]
        self.installed.append((request.match_info["chat"], bind.rsplit("/", 1)[1]))
        return web.Response(status=201)

    async def _chat_members(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        if request.match_info["chat"] not in self.chats:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        members = self.chats[request.match_info["chat"]]["members"]
        return web.json_response({"value": [{"id": f"m-{u}", "userId": u} for u in members]})

    async def _add_chat_member(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        user = self._user(await request.json())
        members = self.chats[request.match_info["chat"]]["members"]
        if user in members:
            return web.json_response({"error": {"code": "Conflict"}}, status=409)
        members.append(user)
        return web.json_response({"id": f"m-{user}"}, status=201)

    async def _remove_chat_member(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        if self.refuse_removals > 0:
            self.refuse_removals -= 1
            return web.json_response({"error": {"code": "Refused"}}, status=self.refusal_status)
        user = request.match_info["member"].removeprefix("m-")
        self.chats[request.match_info["chat"]]["members"].remove(user)
        return web.Response(status=204)

    async def _catalog(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        assert request.query["$filter"] == f"externalId eq '{APP_ID}'"
        return web.json_response({"value": [{"id": self.catalog_id, "externalId": APP_ID}]})

    async def _create_channel(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        channel_id = f"19:{uuid.uuid4().hex}@thread.tacv2"
        self.channels[channel_id] = body
        return web.json_response({"id": channel_id}, status=201)

    async def _add_team_member(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        self.team_members.add(self._user(await request.json()))
        return web.json_response({}, status=201)

    async def _archive(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        self.archived.append(request.match_info["channel"])
        return web.Response(status=202)


# --- people and the bot ---------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A Teams user: Bot Framework id, display name and Entra object id."""

    key: str
    name: str

    @property
    def id(self) -> str:
        return f"29:{self.key}"

    @property
    def aad(self) -> str:
        return f"aad-{self.key}"

    @property
    def dm(self) -> str:
        """The 1:1 conversation the fake connector opens for this user."""
        return f"a:dm-{self.id}"

    def at(self) -> str:
        return f"<at>{self.name}</at>"

    def mention(self) -> dict[str, Any]:
        return {
            "type": "mention",
            "text": self.at(),
            "mentioned": {"id": self.id, "name": self.name},
        }


SAM = User("sam", "Sam Okafor")
PRIYA = User("priya", "Priya Shah")
ALEX = User("alex", "Alex Kerr")
GENERAL = "19:general@thread.tacv2"


class TeamsDriver:
    """Sends signed activities to the bot over HTTP, the way the Bot Connector would."""

    def __init__(
        self, runtime: TeamsRuntime, server: WebServer, issuer: Issuer, connector: FakeConnector
    ) -> None:
        self.runtime = runtime
        self.server = server
        self.issuer = issuer
        self.connector = connector
        self._ids = itertools.count(1)

    @property
    def endpoint(self) -> str:
        return f"{self.server.url}/api/messages"

    def activity(
        self,
        user: User,
        text: str = "",
        *,
        conversation: str | None = None,
        kind: str = "personal",
        mentions: tuple[User, ...] = (),
        value: dict[str, Any] | None = None,
        reply_to: str | None = None,
    ) -> dict[str, Any]:
        """A message activity from `user` (in their 1:1 chat unless told otherwise)."""
        conversation = conversation or user.dm
        entities: list[dict[str, Any]] = [m.mention() for m in mentions]
        if kind != "personal":
            text = f"<at>CoreGroup</at> {text}"
            entities.insert(
                0,
                {
                    "type": "mention",
                    "text": "<at>CoreGroup</at>",
                    "mentioned": {"id": BOT_ID, "name": "CoreGroup"},
                },
            )
        channel_data: dict[str, Any] = {"tenant": {"id": TENANT}}
        conversation_id = conversation
        if kind == "channel":
            channel_data["channel"] = {"id": conversation}
            conversation_id = f"{conversation};messageid=17{next(self._ids):08d}"
        activity: dict[str, Any] = {
            "type": "message",
            "id": f"act-{uuid.uuid4().hex[:12]}",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "serviceUrl": self.connector.service_url,
            "channelId": "msteams",
            "from": {"id": user.id, "name": user.name, "aadObjectId": user.aad},
            "conversation": {"id": conversation_id, "conversationType": kind, "tenantId": TENANT},
            "recipient": {"id": BOT_ID, "name": "CoreGroup"},
            "text": text,
            "textFormat": "plain",
            "entities": entities,
            "channelData": channel_data,
            "localTimezone": "Europe/London",
        }
        if value is not None:
            activity["value"] = value
            activity["text"] = ""
        if reply_to is not None:
            activity["replyToId"] = reply_to
        return activity

    def post(self, activity: dict[str, Any], token: str | None = "valid") -> requests.Response:
        """POST an activity with a valid token (or the given one; None sends no header)."""
        headers = {}
        if token == "valid":
            token = self.issuer.token(activity["serviceUrl"])
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(self.endpoint, json=activity, headers=headers, timeout=60)

    def send_copies(self) -> list[Sent]:
        """Run the distribution sender once (the scheduler does it every few seconds), and return
        what it posted."""
        before = len(self.connector.sent)
        Distributor(
            engine=self.runtime.dispatcher.engine,
            clock=self.runtime.dispatcher.clock,
            outboxes={Platform.TEAMS: self.runtime.outbox},
            locale=self.runtime.dispatcher.locale,
        ).run_pending()
        return self.connector.sent[before:]

    def say(self, user: User, text: str, **kwargs: Any) -> list[Sent]:
        """`user` sends `text`; returns what the bot sent in answer."""
        before = len(self.connector.sent)
        response = self.post(self.activity(user, text, **kwargs))
        assert response.status_code == 200, response.text
        return self.connector.sent[before:]

    def click(
        self, user: User, sent: Sent, title: str, answer: str | None = None, **kwargs: Any
    ) -> list[Sent]:
        """`user` presses the button `title` on a card the bot sent (typing `answer` if asked)."""
        data = submit_data(sent.card(), title, answer)
        before = len(self.connector.sent)
        activity = self.activity(user, value=data, reply_to=sent.activity_id, **kwargs)
        activity["conversation"]["id"] = sent.conversation
        response = self.post(activity)
        assert response.status_code == 200, response.text
        return self.connector.sent[before:]


def submit_data(card: dict[str, Any], title: str, answer: str | None) -> dict[str, Any]:
    """What Teams posts back when `title` is pressed: its data merged with the card's inputs."""
    for action in _actions(card):
        if action.get("title") != title:
            continue
        if action["type"] == "Action.Submit":
            data = dict(action["data"])
            if "pick" in data:
                data[data["pick"]] = answer
            return data
        if action["type"] == "Action.ShowCard":
            (submit,) = action["card"]["actions"]
            data = dict(submit["data"])
            data[data["ask"]] = answer
            return data
    raise AssertionError(f"no button {title!r} on the card")


def _actions(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Action."):
            yield node
        for value in node.values():
            yield from _actions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _actions(item)


def titles(card: dict[str, Any]) -> list[str]:
    """The titles of the buttons a person sees on a card."""
    return [a["title"] for a in _actions(card) if a.get("title") not in (None, "Send", "Choose")]


@pytest.fixture(scope="session")
def card_schema() -> jsonschema.Draft6Validator:
    """A validator for the Adaptive Card 1.5 schema the app targets."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft6Validator(schema)


@pytest.fixture
def issuer(tls: Tls) -> Iterator[Issuer]:
    made = Issuer(tls)
    yield made
    made.server.stop()


@pytest.fixture
def connector(tls: Tls, card_schema: jsonschema.Draft6Validator) -> Iterator[FakeConnector]:
    """The fake Bot Connector; every card the bot sent is checked against the schema after."""
    made = FakeConnector(tls)
    yield made
    made.server.stop()
    for sent in made.sent:
        errors = sorted(card_schema.iter_errors(sent.card()), key=str)
        assert not errors, f"invalid Adaptive Card: {errors[0].message} in {sent.card()}"


@pytest.fixture
def graph(connector: FakeConnector, tls: Tls) -> Iterator[FakeGraph]:
    made = FakeGraph(connector, tls)
    yield made
    made.server.stop()


@pytest.fixture
def teams_settings(
    issuer: Issuer, connector: FakeConnector, graph: FakeGraph, tls: Tls
) -> TeamsSettings:
    """TEAMS_* settings pointing at the fakes."""
    return TeamsSettings(
        teams_openid_metadata_url=issuer.metadata_url,
        teams_authority_url=connector.server.url,
        teams_graph_url=graph.url,
        teams_service_url=connector.service_url,
        teams_ca_bundle=tls.ca_file,
    )


@pytest.fixture
def bot_settings() -> Settings:
    """The shared settings with the bot's Entra app registration."""
    return Settings(
        microsoft_app_id=APP_ID,
        microsoft_app_password=APP_SECRET,
        microsoft_app_tenant_id=TENANT,
    )


@pytest.fixture
def teams(
    engine: Engine,
    clock: FakeClock,
    bot_settings: Settings,
    teams_settings: TeamsSettings,
    issuer: Issuer,
    connector: FakeConnector,
) -> Iterator[TeamsDriver]:
    """The Teams bot serving POST /api/messages on an ephemeral port, in front of the fakes.

    Sam is in a social-work team (as `coregroup team` puts him): he may start groups."""
    in_team(engine, clock, platform=Platform.TEAMS, user_id=SAM.id, name=SAM.name)
    runtime = build_teams_runtime(bot_settings, engine, clock, teams_settings)
    runtime.http.backoff = 0.01  # retries in tests wait milliseconds, not seconds
    server = WebServer(build_web_app(engine, runtime.routes(engine)), host="127.0.0.1").start()
    if runtime.links is not None:  # download links point at this server's ephemeral port
        runtime.links.base_url = server.url
    yield TeamsDriver(runtime, server, issuer, connector)
    server.stop()
    runtime.close()
