"""Fixtures for the documents and distribution tests: the SMTP server, the long group, and a local
chat whose copies go out through the real Mailer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.clock import FakeClock
from tests.documents.realistic import Built, build_long_group
from tests.scenarios.conftest import ChatDriver
from tests.smtp import SmtpServer


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that requires STARTTLS."""
    folder = tmp_path / "smtp"
    folder.mkdir()
    server = SmtpServer(folder).start()
    yield server
    server.stop()


@pytest.fixture
def long_group(engine: Engine, clock: FakeClock) -> Built:
    """The long Welsh case, after its meeting."""
    return build_long_group(engine, clock)


@pytest.fixture
def chat(engine: Engine, clock: FakeClock, tmp_path: Path) -> ChatDriver:
    """The local chat with no email set up."""
    return ChatDriver(engine, clock, tmp_path / "files")


@pytest.fixture
def mail_chat(engine: Engine, clock: FakeClock, tmp_path: Path, smtp: SmtpServer) -> ChatDriver:
    """The local chat; copies for people outside chat go by email to `smtp`."""
    return ChatDriver(engine, clock, tmp_path / "files", mailer=smtp.mailer())


def publish(chat: ChatDriver) -> str:
    """Ffion drafts, Zoë approves, Siân publishes; returns the publishing transcript."""
    chat("as ffion\n/coregroup draft")
    chat("as zoe\n/coregroup approve")
    return chat("as sian\n/coregroup publish")
