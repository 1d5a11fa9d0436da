"""Files over Slack's wire format: a copy of the minutes goes to a member's DM with the current
upload flow (files.getUploadURLExternal, the bytes to the URL it gave, then
files.completeUploadExternal), and `/coregroup minutes export` sends the requester the file."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import Engine

from bot.clock import FakeClock
from bot.distribution import Distributor
from storage.enums import Platform
from tests.documents.realistic import REF, build_long_group
from tests.slack.conftest import RunningApp
from tests.slack.fake_slack import UploadedFile

USERS = {
    "sian": "U0SIAN001",
    "dafydd": "U0DAFYDD1",
    "gwenllian": "U0GWEN001",
    "zoe": "U0ZOE0001",
    "ffion": "U0FFION01",
    "bjorn": "U0BJORN01",
    "niamh": "U0NIAMH01",
}


def shared_in(app: RunningApp, channel: str) -> list[UploadedFile]:
    return [f for f in app.fake.files.values() if channel in f.channels]


def test_publishing_on_slack_uploads_each_members_copy_to_their_dm_and_export_sends_the_docx(
    slack_app: RunningApp, engine: Engine, clock: FakeClock
) -> None:
    fake, slack = slack_app.fake, slack_app.slack
    for key, user in USERS.items():
        fake.add_user(user, key.capitalize())
    build_long_group(engine, clock, platform=Platform.SLACK, user_ids=USERS)
    steps = (
        ("ffion", "draft", "Version 1 of the minutes"),
        ("zoe", "approve", "You approved version 1"),
        ("sian", "publish", "Published version 1."),
    )
    for user, command, answer in steps:  # one at a time: each needs the one before
        slack.slash_command(f"{REF} {command}", user_id=USERS[user])
        fake.wait_for(
            lambda answer=answer: any(answer in str(r.args.get("blocks")) for r in fake.responses),
            timeout=60,
        )
    sender = Distributor(
        engine=engine,
        clock=clock,
        outboxes={Platform.SLACK: slack_app.runtime.outbox},
        locale=slack_app.runtime.dispatcher.locale,
    )
    report = sender.run_pending()
    assert report.delivered == 5  # the five members in chat; the GP and police are email-only

    dm = "D" + USERS["dafydd"][1:]
    [family] = shared_in(slack_app, dm)
    assert family.filename == f"{REF}-meeting-1-minutes-family-version-v1.pdf"
    assert family.uploaded and len(family.data) == family.length
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(family.data)).pages)
    assert "family's copy of the minutes" in " ".join(text.split())
    [young] = shared_in(slack_app, "D" + USERS["gwenllian"][1:])
    assert young.filename.endswith("young-persons-version-v1.pdf")
    order = [c.method for c in fake.calls if c.method.startswith(("files.", "upload"))][:3]
    assert order == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]

    before = len(fake.calls_to("files.completeUploadExternal"))
    answer, _ = slack.slash_command(f"{REF} minutes export docx", user_id=USERS["sian"])
    assert answer.status == 200 and answer.seconds < 3.0
    fake.wait_calls("files.completeUploadExternal", before + 1)
    docx_file = next(
        f for f in shared_in(slack_app, "D" + USERS["sian"][1:]) if f.filename.endswith(".docx")
    )
    assert (
        docx_file.data[:2] == b"PK" and docx_file.title == f"Core group minutes: {REF}, meeting 1"
    )
