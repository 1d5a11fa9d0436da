"""The report over Slack's wire format: the chart and the CSV are uploaded to the manager's DM
(files.getUploadURLExternal, the bytes, files.completeUploadExternal), never to a channel."""

from __future__ import annotations

import csv
import io

from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.core.report_render import CHART_SIZE
from storage.enums import Platform
from storage.models import ChatIdentity, Person
from tests.factories import named
from tests.scenarios.report_world import build_quarter
from tests.slack.conftest import RunningApp

TAMSIN = "U0TAMSIN1"
NORTH_Q1 = "report-north-team-2027-01-01-to-2027-03-31"


def test_a_managers_report_is_uploaded_to_their_dm_with_the_chart_and_the_csv(
    slack_app: RunningApp, engine: Engine, clock: FakeClock
) -> None:
    fake, slack = slack_app.fake, slack_app.slack
    fake.add_user(TAMSIN, "Tamsin")
    build_quarter(engine, clock)
    with Session(engine) as s:
        tamsin = s.exec(select(Person).where(named(s, "Tamsin"))).one()
        assert tamsin.id is not None
        s.add(ChatIdentity(person_id=tamsin.id, platform=Platform.SLACK, user_id=TAMSIN))
        s.commit()
    before = len(fake.calls_to("files.completeUploadExternal"))
    answer, _ = slack.slash_command("report last quarter", user_id=TAMSIN)
    assert answer.status == 200
    fake.wait_calls("files.completeUploadExternal", before + 2)
    files = {f.filename: f for f in fake.files.values()}
    png, table = files[f"{NORTH_Q1}.png"], files[f"{NORTH_Q1}.csv"]
    dm = "D" + TAMSIN[1:]
    assert png.channels == [dm] and table.channels == [dm]
    with Image.open(io.BytesIO(png.data)) as image:
        assert image.size == CHART_SIZE
    rows = list(csv.DictReader(io.StringIO(table.data.decode("utf-8-sig"))))
    assert {r["case_reference"] for r in rows} == {"CP-2027-0001", "CP-2027-0002", "ALL", ""}
