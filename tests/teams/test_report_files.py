"""The report on Teams: each file comes as a card with a signed download link that the bot
serves, made afresh and only while the person still manages the team."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.config import Settings
from bot.core.report_render import CHART_SIZE
from storage.enums import Platform
from storage.models import AuditEntry, ChatIdentity, Person
from tests.factories import named
from tests.scenarios.report_world import build_quarter
from tests.teams.conftest import APP_ID, APP_SECRET, TENANT, TeamsDriver, User

TAMSIN = User("tamsin", "Tamsin Reid")
SECRET = "a-test-secret-that-is-long-enough-0123456789"
NORTH_Q1 = "report-north-team-2027-01-01-to-2027-03-31"


@pytest.fixture
def bot_settings() -> Settings:
    """The bot's registration plus what signed links need."""
    return Settings(
        microsoft_app_id=APP_ID,
        microsoft_app_password=APP_SECRET,
        microsoft_app_tenant_id=TENANT,
        public_url="http://127.0.0.1",
        document_link_secret=SECRET,
        document_link_minutes=60,
    )


def download_urls(sent: list[Any]) -> dict[str, str]:
    found = {}
    for item in sent:
        for action in item.card().get("actions", []):
            if action.get("type") == "Action.OpenUrl":
                found[action["title"].removeprefix("Download ")] = str(action["url"])
    return found


def test_a_managers_report_comes_as_download_links_that_stop_when_they_stop_managing(
    teams: TeamsDriver, engine: Engine, clock: FakeClock
) -> None:
    build_quarter(engine, clock)
    with Session(engine) as s:
        tamsin = s.exec(select(Person).where(named(s, "Tamsin"))).one()
        assert tamsin.id is not None
        s.add(ChatIdentity(person_id=tamsin.id, platform=Platform.TEAMS, user_id=TAMSIN.id))
        s.commit()
    sent = teams.say(TAMSIN, "report last quarter")
    assert "Chart 1, statutory steps by the month they were due" in " ".join(s.text() for s in sent)
    urls = download_urls(sent)
    assert set(urls) == {f"{NORTH_Q1}.png", f"{NORTH_Q1}.csv"}
    answer = requests.get(urls[f"{NORTH_Q1}.png"], timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(answer.content)) as image:
        assert image.size == CHART_SIZE
    table = requests.get(urls[f"{NORTH_Q1}.csv"], timeout=30)
    rows = list(csv.DictReader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert {r["case_reference"] for r in rows} == {"CP-2027-0001", "CP-2027-0002", "ALL", ""}
    with Session(engine) as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.what == "report:download")).first()
        tamsin = s.exec(select(Person).where(named(s, "Tamsin"))).one()
        tamsin.is_team_manager = False
        s.add(tamsin)
        s.commit()
    assert requests.get(urls[f"{NORTH_Q1}.csv"], timeout=30).status_code == 404
