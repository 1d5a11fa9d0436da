"""Microsoft Graph calls for the group's space: a group chat, or a standard channel in one team.

A bot cannot create a chat or a channel itself; Graph can, with application permissions granted
by a tenant admin: Chat.Create and ChatMember.ReadWrite.All plus
TeamsAppInstallation.ReadWriteSelfForChat.All (group chats), or Channel.Create,
TeamMember.ReadWrite.All and ChannelSettings.ReadWrite.All (channels). People are named to Graph by
their Entra object id (`aadObjectId`), which Teams gives us for everyone who talks to the bot.
"""

from __future__ import annotations

from typing import Any, Final, Literal
from urllib.parse import quote

from bot.adapters.teams_auth import GRAPH_SCOPE
from bot.adapters.teams_outbox import ApiError, Http

GRAPH_USERS = "https://graph.microsoft.com/v1.0/users"
CHANNEL_NAME_MAX = 50
CHAT_TOPIC_MAX = 250
CONFLICT = 409
NOT_FOUND = 404
GRAPH_PACE = "graph"
Removal = Literal["removed", "not in chat", "no chat"]
REMOVED: Final = "removed"
NOT_IN_CHAT: Final = "not in chat"
NO_CHAT: Final = "no chat"


def _member(aad_id: str, *, owner: bool) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "roles": ["owner"] if owner else [],
        "user@odata.bind": f"{GRAPH_USERS}('{aad_id}')",
    }


def _id(text: str) -> str:
    return quote(text, safe="")


class Graph:
    """The few Graph operations the bot needs, through the shared paced, retrying client."""

    def __init__(self, http: Http, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self._catalog: dict[str, str] = {}

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        return await self.http.call(
            method, self.base_url + path, scope=GRAPH_SCOPE, body=body, pace=GRAPH_PACE
        )

    # Group chats ---------------------------------------------------------------------------

    async def create_chat(self, topic: str, aad_ids: list[str]) -> str:
        """A new group chat with these people (all owners); returns its id."""
        body = {
            "chatType": "group",
            "topic": topic[:CHAT_TOPIC_MAX],
            "members": [_member(a, owner=True) for a in aad_ids],
        }
        chat = await self._call("POST", "/chats", body)
        return str(chat["id"])

    async def install_in_chat(self, chat_id: str, app_external_id: str) -> None:
        """Install our Teams app in a chat, so the bot may post there."""
        catalog_id = await self._catalog_id(app_external_id)
        bind = f"https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{catalog_id}"
        try:
            await self._call(
                "POST", f"/chats/{_id(chat_id)}/installedApps", {"teamsApp@odata.bind": bind}
            )
        except ApiError as exc:
            if exc.status != CONFLICT:  # already installed
                raise

    async def add_to_chat(self, chat_id: str, aad_id: str) -> None:
        """Add one person to a group chat (already there is fine)."""
        try:
            await self._call("POST", f"/chats/{_id(chat_id)}/members", _member(aad_id, owner=True))
        except ApiError as exc:
            if exc.status != CONFLICT:
                raise

    async def remove_from_chat(self, chat_id: str, aad_id: str) -> Removal:
        """Remove a person from a group chat: REMOVED, NOT_IN_CHAT (Graph does not list them, or
        answers 404 for the member), or NO_CHAT (404 for the chat: it is gone, nobody reads it)."""
        try:
            members = await self._call("GET", f"/chats/{_id(chat_id)}/members")
        except ApiError as exc:
            if exc.status == NOT_FOUND:
                return NO_CHAT
            raise
        for member in members.get("value", []):
            if str(member.get("userId", "")).lower() == aad_id.lower():
                try:
                    await self._call("DELETE", f"/chats/{_id(chat_id)}/members/{_id(member['id'])}")
                except ApiError as exc:
                    if exc.status == NOT_FOUND:  # gone already
                        return NOT_IN_CHAT
                    raise
                return REMOVED
        return NOT_IN_CHAT

    async def rename_chat(self, chat_id: str, topic: str) -> None:
        """Change a group chat's topic (Graph cannot archive a chat)."""
        await self._call("PATCH", f"/chats/{_id(chat_id)}", {"topic": topic[:CHAT_TOPIC_MAX]})

    async def _catalog_id(self, external_id: str) -> str:
        if external_id not in self._catalog:
            query = f"?$filter=externalId%20eq%20'{_id(external_id)}'"
            found = await self._call("GET", f"/appCatalogs/teamsApps{query}")
            apps = found.get("value", [])
            if not apps:
                raise ApiError(
                    "the Core Group Bot app is not in the organisation's app catalogue",
                    status=404,
                    retryable=False,
                )
            self._catalog[external_id] = str(apps[0]["id"])
        return self._catalog[external_id]

    # Channels ------------------------------------------------------------------------------

    async def create_channel(self, team_id: str, name: str, description: str) -> str:
        """A new standard channel in the team; returns its id."""
        body = {
            "displayName": name[:CHANNEL_NAME_MAX],
            "description": description,
            "membershipType": "standard",
        }
        channel = await self._call("POST", f"/teams/{_id(team_id)}/channels", body)
        return str(channel["id"])

    async def add_to_team(self, team_id: str, aad_id: str) -> None:
        """Make a person a member of the team (already a member is fine)."""
        try:
            await self._call("POST", f"/teams/{_id(team_id)}/members", _member(aad_id, owner=False))
        except ApiError as exc:
            if exc.status != CONFLICT:
                raise

    async def archive_channel(self, team_id: str, channel_id: str) -> None:
        """Archive a channel: read-only for everyone from then on."""
        await self._call("POST", f"/teams/{_id(team_id)}/channels/{_id(channel_id)}/archive", {})
