"""Files on Teams: a card offers a short-lived signed download link that the bot serves itself,
checked again at download time (who may have it, whether it has expired)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import requests
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.config import Settings
from storage.enums import Platform
from storage.models import AuditEntry, Membership
from tests.documents.realistic import REF, build_long_group
from tests.teams.conftest import APP_ID, APP_SECRET, TENANT, TeamsDriver, User

SIAN, ZOE, FFION, DAFYDD = (
    User("sian", "Siân Llywelyn"),
    User("zoe", "Zoë Müller-Hernández"),
    User("ffion", "Ffion Hughes"),
    User("dafydd", "Dafydd ap Gruffydd"),
)
SECRET = "a-test-secret-that-is-long-enough-0123456789"


@pytest.fixture
def bot_settings() -> Settings:
    """The bot's registration plus what signed links need (the server's URL is set later)."""
    return Settings(
        microsoft_app_id=APP_ID,
        microsoft_app_password=APP_SECRET,
        microsoft_app_tenant_id=TENANT,
        public_url="http://127.0.0.1",
        document_link_secret=SECRET,
        document_link_minutes=60,
    )


def download_url(sent: list[Any]) -> str:
    for item in sent:
        for action in item.card().get("actions", []):
            if action.get("type") == "Action.OpenUrl":
                return str(action["url"])
    raise AssertionError("no download button")


def test_export_on_teams_offers_a_signed_link_that_serves_the_file_until_it_expires(
    teams: TeamsDriver, engine: Engine, clock: FakeClock
) -> None:
    users = {u.key: u.id for u in (SIAN, ZOE, FFION, DAFYDD)}
    build_long_group(engine, clock, platform=Platform.TEAMS, user_ids=users)
    teams.say(FFION, f"{REF} draft")
    teams.say(ZOE, f"{REF} approve")
    assert "Published version 1." in " ".join(s.text() for s in teams.say(SIAN, f"{REF} publish"))

    sent = teams.say(SIAN, f"{REF} minutes export pdf")
    url = download_url(sent)
    assert url.startswith(teams.server.url + "/documents/")
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Cache-Control"] == "no-store"
    assert f'filename="{REF}-meeting-1-minutes-v1.pdf"' in answer.headers["Content-Disposition"]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages)
    assert "11. Next meeting and who gets these minutes" in " ".join(text.split())
    with Session(engine) as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.what == "minutes:download")).first()

    # An altered link, or one past its hour, serves nothing and says what to do.
    tampered = requests.get(url[:-3] + ("abc" if not url.endswith("abc") else "xyz"), timeout=30)
    assert tampered.status_code == 404 and "Ask the chair" in tampered.text
    clock.advance(timedelta(minutes=61))
    assert requests.get(url, timeout=30).status_code == 404

    # The family's copies: Dafydd's link serves his version, and stops once he leaves the group.
    clock.advance(timedelta(minutes=1))
    family = download_url(teams.say(DAFYDD, f"{REF} minutes export"))
    assert requests.get(family, timeout=30).status_code == 200
    with Session(engine) as s:
        for row in s.exec(select(Membership)).all():
            if row.role == "parent-carer":
                row.active = False
                s.add(row)
        s.commit()
    assert requests.get(family, timeout=30).status_code == 404
