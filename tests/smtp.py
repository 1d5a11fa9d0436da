"""A real SMTP server in the test process (aiosmtpd) that insists on STARTTLS, records every
message it accepts, and refuses or defers the recipients a test names, like a mail relay would."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bot.adapters.mailer import Mailer, SmtpSettings
from tests.tls import Tls, make_tls


@dataclass(frozen=True)
class Received:
    """One message the server accepted: the envelope and the parsed email."""

    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    tls: bool


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address → "550 5.1.1 …"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        answer = self.refuse.get(address.lower())
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(
            Received(
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                parsed,
                tls=session.ssl is not None,
            )
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """The running server; `mailer()` is a Mailer that reaches it over STARTTLS."""

    def __init__(self, folder: Path) -> None:
        self.tls: Tls = make_tls(folder)
        self.handler = _Handler()
        self.port = _free_port()
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls.context(),
            require_starttls=True,
        )

    def start(self) -> SmtpServer:
        """Start listening."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        """Every message accepted so far."""
        return self.handler.received

    def refuse(self, address: str, answer: str = "550 5.1.1 <{}>: user unknown") -> None:
        """Refuse `address` at RCPT time with `answer` (a 4xx answer means "try later")."""
        self.handler.refuse[address.lower()] = answer.format(address)

    def accept(self, address: str) -> None:
        """Stop refusing `address`."""
        self.handler.refuse.pop(address.lower(), None)

    def settings(self, **overrides: Any) -> SmtpSettings:
        """SMTP settings for this server, trusting its certificate."""
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "sender": "core-group-bot@council.gov.uk",
            "ca_file": Path(self.tls.ca_file),
            "timeout": 10.0,
        }
        return SmtpSettings(**(values | overrides))

    def mailer(self, **overrides: Any) -> Mailer:
        """A Mailer sending to this server."""
        return Mailer(self.settings(**overrides))
