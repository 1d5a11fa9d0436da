"""Web API methods and arguments Slack added after the October 2020 OpenAPI spec we check against.

Each entry names the api.slack.com reference page it comes from. Keep it small: only what the bot
(or Slack's own SDK on its behalf) sends.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodOverlay:
    """Arguments a method accepts beyond the 2020 spec (or a whole method the spec lacks)."""

    reference: str
    optional: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    new_method: bool = False


OVERLAY: dict[str, MethodOverlay] = {
    # Message metadata (2022): "metadata — JSON object with event_type and event_payload fields".
    "chat.postMessage": MethodOverlay(
        reference="https://api.slack.com/methods/chat.postMessage#arg_metadata",
        optional=frozenset({"metadata"}),
    ),
    # Message metadata is returned by history only when asked: "include_all_metadata".
    "conversations.history": MethodOverlay(
        reference="https://api.slack.com/methods/conversations.history#arg_include_all_metadata",
        optional=frozenset({"include_all_metadata"}),
    ),
    # Socket Mode (2021): the app-level token opens a WebSocket URL with this method.
    "apps.connections.open": MethodOverlay(
        reference="https://api.slack.com/methods/apps.connections.open",
        new_method=True,
    ),
    # The external file upload flow that replaced files.upload (2024): step 1, get an upload URL.
    "files.getUploadURLExternal": MethodOverlay(
        reference="https://api.slack.com/methods/files.getUploadURLExternal",
        required=frozenset({"filename", "length"}),
        optional=frozenset({"alt_txt", "snippet_type"}),
        new_method=True,
    ),
    # ...step 2, complete the upload and share the file in a channel.
    "files.completeUploadExternal": MethodOverlay(
        reference="https://api.slack.com/methods/files.completeUploadExternal",
        required=frozenset({"files"}),
        optional=frozenset({"channel_id", "channels", "initial_comment", "thread_ts", "blocks"}),
        new_method=True,
    ),
}
