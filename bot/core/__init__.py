"""The platform-neutral domain: no chat-platform code lives here."""
