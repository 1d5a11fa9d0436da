"""The Slack app over real HTTP: signed requests in as Slack sends them, Web API calls out to the
fake Slack, every call checked against Slack's spec by the fake (see conftest's fake_slack)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from sqlalchemy import Engine, create_engine
from sqlmodel import Session, select

from bot.adapters.slack import build_slack_app, build_slack_runtime, slack_mode, slack_routes
from bot.adapters.slack_outbox import slack_client
from bot.adapters.web import WebServer, build_web_app
from bot.clock import SystemClock
from bot.config import Settings
from storage.models import ProcessedEvent
from tests.slack.conftest import KEY_WORKER, PARENT, RunningApp
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, shown
from tests.slack.signing import FORM, JSON, SIGNING_SECRET, SlackClient, signature
from tests.specs import SLACK_MANIFEST_SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_SCHEMAS = SLACK_MANIFEST_SCHEMAS


# --- requests Slack did not sign properly -------------------------------------------------------


def test_request_with_a_bad_signature_is_refused_with_401(slack_app: RunningApp) -> None:
    body = "command=%2Fcoregroup&text=help&user_id=U0KEYWORK"
    answer = slack_app.slack.post(body, FORM, secret="not-the-signing-secret")
    assert answer.status == 401
    assert slack_app.fake.responses == []


def test_request_without_a_signature_is_refused_with_401(slack_app: RunningApp) -> None:
    answer = slack_app.slack.request(
        "POST", "/slack/events", "command=%2Fcoregroup&text=help", {"Content-Type": FORM}
    )
    assert answer.status == 401


def test_request_older_than_five_minutes_is_refused_with_401(slack_app: RunningApp) -> None:
    body = "command=%2Fcoregroup&text=help&user_id=U0KEYWORK"
    answer = slack_app.slack.post(body, FORM, timestamp=int(time.time()) - 6 * 60)
    assert answer.status == 401


@pytest.mark.parametrize(
    "stamp", ["soon", "", "1e9", "1790000000.5", "-5", "12345678901234567890x"]
)
def test_a_timestamp_that_is_not_a_number_is_refused_with_401(
    slack_app: RunningApp, stamp: str
) -> None:
    body = "command=%2Fcoregroup&text=help&user_id=U0KEYWORK"
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(SIGNING_SECRET, stamp, body),
    }
    answer = slack_app.slack.request("POST", "/slack/events", body, headers)
    assert answer.status == 401
    assert slack_app.fake.responses == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", JSON),
        ("[1, 2, 3]", JSON),
        ('"just a string"', JSON),
        ("payload=%7Bnot+json", FORM),
        ("payload=%5B%5D", FORM),
        ('{"type": "event_callback", "event": "not an object"}', JSON),
        ('{"type": "event_callback", "event": {"type": "message"}, "authorizations": 7}', JSON),
        ("payload=" + quote(json.dumps({"type": "block_actions", "actions": "x"})), FORM),
        ("payload=" + quote(json.dumps({"type": "view_submission", "view": 3})), FORM),
    ],
)
def test_a_signed_but_malformed_body_is_refused_with_400_never_500(
    slack_app: RunningApp, body: str, content_type: str
) -> None:
    answer = slack_app.slack.post(body, content_type)
    assert 400 <= answer.status < 500, answer
    slack_app.slack.slash_command("help", user_id=KEY_WORKER)  # the app still works
    slack_app.fake.wait_responses()


def test_a_signed_body_that_is_not_utf8_is_refused_with_400(slack_app: RunningApp) -> None:
    raw = b"command=%2Fcoregroup&text=\xff\xfe"
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + raw
    digest = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    conn = http.client.HTTPConnection(slack_app.slack.host, slack_app.slack.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/slack/events",
            body=raw,
            headers={
                "Content-Type": FORM,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": digest,
            },
        )
        status = conn.getresponse().status
    finally:
        conn.close()
    assert status == 400


def test_url_verification_challenge_is_answered(slack_app: RunningApp) -> None:
    answer = slack_app.slack.url_verification(
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    )
    assert answer.status == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


# --- slash commands -----------------------------------------------------------------------------


def test_slash_command_is_acked_at_once_and_help_arrives_privately(slack_app: RunningApp) -> None:
    answer, response_url = slack_app.slack.slash_command("help", user_id=KEY_WORKER)

    assert answer.status == 200 and answer.body == ""  # an empty ack: nothing shown yet
    assert answer.seconds < 3.0, "Slack gives up after 3 seconds"
    [reply] = slack_app.fake.wait_responses()
    assert reply.args["url"].endswith(response_url.rpartition("/respond")[2])
    assert reply.args["response_type"] == "ephemeral"
    assert "Core group assistant" in shown(reply.args)
    assert any(b["type"] == "header" for b in reply.args["blocks"])
    # The actor was looked up once, by id, with the bot token.
    [lookup] = slack_app.fake.calls_to("users.info")
    assert lookup.args["user"] == KEY_WORKER


def test_acks_stay_fast_while_work_piles_up(slack_app: RunningApp) -> None:
    answers = [slack_app.slack.slash_command("help", user_id=KEY_WORKER)[0] for _ in range(20)]
    slack_app.fake.wait_responses(20, timeout=20)
    assert all(a.status == 200 for a in answers)
    assert max(a.seconds for a in answers) < 1.0


def test_mistyped_command_gets_did_you_mean_with_an_example(slack_app: RunningApp) -> None:
    if slack_app.runtime.dispatcher.registry.find("schedule") is None:
        pytest.skip("the schedule command has not landed yet")
    slack_app.slack.slash_command("shedule friday", user_id=KEY_WORKER)
    [reply] = slack_app.fake.wait_responses()
    text = shown(reply.args)
    assert "Did you mean `schedule`?" in text
    assert "For example: `/coregroup schedule" in text
    assert "You typed: /coregroup shedule friday" in text


def test_text_a_user_typed_never_pings_or_links(slack_app: RunningApp) -> None:
    # What Slack sends when someone pastes "<!channel> urgent" and types "@here <https://x.test>":
    # the literal characters arrive as entities, the typed @here as Slack's own <!here>.
    typed = "&lt;!channel&gt; urgent <!here> &lt;https://evil.test|click&gt; &amp; more"
    slack_app.slack.slash_command(typed, user_id=KEY_WORKER)
    [reply] = slack_app.fake.wait_responses()
    text = shown(reply.args)
    assert "You typed: /coregroup &lt;!channel&gt; urgent @\u200bhere" in text
    assert "&lt;https://evil.test|click&gt; &amp; more" in text
    for dangerous in ("<!channel>", "<!here>", "<https://", "@here", "@channel"):
        assert dangerous not in text


# --- events -------------------------------------------------------------------------------------


def test_direct_message_gets_an_answer_in_the_dm(slack_app: RunningApp) -> None:
    answer, _ = slack_app.slack.dm("hello", user_id=PARENT)
    assert answer.status == 200
    [post] = slack_app.fake.wait_calls("chat.postMessage")
    assert post.args["channel"] == "D" + PARENT[1:]
    assert "/coregroup help" in shown(post.args)
    assert post.args["text"] == "Core Group Bot: message"  # the preview names nobody


def test_answer_in_a_dm_thread_stays_in_the_thread(slack_app: RunningApp) -> None:
    slack_app.slack.dm("hello", user_id=PARENT, thread_ts="1790000001.000100")
    [post] = slack_app.fake.wait_calls("chat.postMessage")
    assert post.args["thread_ts"] == "1790000001.000100"


def test_retried_event_has_one_effect(
    slack_app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.slack")
    event = {
        "type": "message",
        "channel": "D" + PARENT[1:],
        "user": PARENT,
        "text": "hello",
        "ts": "1790000002.000200",
        "event_ts": "1790000002.000200",
        "channel_type": "im",
    }
    first, event_id = slack_app.slack.event(event)
    # Slack did not see the ack in time and retries at once: both deliveries are in flight.
    retry, _ = slack_app.slack.event(event, event_id=event_id, retry=1)
    assert first.status == retry.status == 200

    slack_app.fake.wait_for(lambda: "dropped a repeated delivery" in caplog.text)
    slack_app.fake.wait_calls("chat.postMessage")
    assert len(slack_app.fake.calls_to("chat.postMessage")) == 1
    with Session(slack_app.runtime.dispatcher.engine) as session:
        keys = session.exec(select(ProcessedEvent.key)).all()
    assert keys == [f"slack:{event_id}"]


def test_messages_from_bots_and_edits_are_ignored(slack_app: RunningApp) -> None:
    base = {"type": "message", "channel": "D" + PARENT[1:], "channel_type": "im", "ts": "1.2"}
    slack_app.slack.event({**base, "bot_id": "B0OTHER", "text": "beep"})
    slack_app.slack.event({**base, "subtype": "message_changed", "user": PARENT})
    slack_app.slack.dm("hello", user_id=PARENT)  # a real one, to know the others were handled
    slack_app.fake.wait_calls("chat.postMessage")
    assert len(slack_app.fake.calls_to("chat.postMessage")) == 1


def test_opening_the_home_tab_publishes_the_persons_overview(slack_app: RunningApp) -> None:
    event = {"type": "app_home_opened", "user": KEY_WORKER, "channel": "D0KEYWORK", "tab": "home"}
    answer, _ = slack_app.slack.event(event)
    assert answer.status == 200
    [publish] = slack_app.fake.wait_calls("views.publish")
    assert publish.args["user_id"] == KEY_WORKER
    view = publish.args["view"]
    assert view["type"] == "home" and view["blocks"]


def test_opening_the_messages_tab_publishes_nothing(slack_app: RunningApp) -> None:
    event = {
        "type": "app_home_opened",
        "user": KEY_WORKER,
        "channel": "D0KEYWORK",
        "tab": "messages",
    }
    slack_app.slack.event(event)
    slack_app.slack.dm("hello", user_id=KEY_WORKER)
    slack_app.fake.wait_calls("chat.postMessage")
    assert slack_app.fake.calls_to("views.publish") == []


# --- sending ------------------------------------------------------------------------------------


def test_a_rate_limited_post_is_retried_after_retry_after(slack_app: RunningApp) -> None:
    slack_app.fake.rate_limit("chat.postMessage", retry_after=0)
    slack_app.slack.dm("hello", user_id=PARENT)
    slack_app.fake.wait_calls("chat.postMessage", timeout=10)
    attempts = [c.status for c in slack_app.fake.calls if c.method == "chat.postMessage"]
    assert attempts == [429, 200]


# --- the manifest and the web server ------------------------------------------------------------


def _manifest_registry() -> Registry:
    resources = []
    for path in sorted((MANIFEST_SCHEMAS / "schemas").glob("manifest.schema.*.json")):
        url = (
            f"https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/{path.name}"
        )
        resources.append((url, Resource.from_contents(json.loads(path.read_text()))))
    return Registry().with_resources(resources)


def _schema_errors(manifest: dict[str, Any]) -> list[str]:
    schema = json.loads((MANIFEST_SCHEMAS / "manifest.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema, registry=_manifest_registry())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]


def test_manifest_is_valid_against_slacks_manifest_schema() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert _schema_errors(manifest) == []


def test_the_http_variant_in_the_docs_is_valid_too() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    url = "https://bot.example-council.gov.uk/slack/events"
    manifest["features"]["slash_commands"][0]["url"] = url
    manifest["settings"]["event_subscriptions"]["request_url"] = url
    manifest["settings"]["interactivity"]["request_url"] = url
    manifest["settings"]["socket_mode_enabled"] = False
    assert _schema_errors(manifest) == []
    assert url in (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")


def test_a_broken_manifest_is_caught() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    manifest["features"]["slash_commands"][0]["command"] = "coregroup"  # no leading slash
    manifest["display_information"]["name"] = "x" * 36
    assert len(_schema_errors(manifest)) >= 1


def test_manifest_declares_what_the_app_listens_to_and_no_more() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/coregroup" and command["should_escape"] is True
    assert manifest["display_information"]["name"] == "Core Group Bot"
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.im",
    }
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "files:write",
        "groups:write",
        "groups:history",
        "im:history",
        "im:write",
        "pins:write",
        "users:read",
    }


def test_healthz_answers_200_when_the_database_answers(slack_app: RunningApp) -> None:
    answer = slack_app.slack.request("GET", "/healthz")
    assert answer.status == 200 and answer.json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_is_down() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    server = WebServer(build_web_app(engine), host="127.0.0.1").start()
    try:
        answer = SlackClient(server.url, fake=None).request("GET", "/healthz")  # type: ignore[arg-type]
    finally:
        server.stop()
        engine.dispose()
    assert answer.status == 503


def test_many_slack_requests_at_once_are_all_acked(slack_app: RunningApp) -> None:
    answers: list[int] = []

    def one() -> None:
        answers.append(slack_app.slack.dm("hello", user_id=PARENT)[0].status)

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slack_app.fake.wait_calls("chat.postMessage", 10, timeout=20)
    assert answers == [200] * 10


def test_work_runs_in_worker_processes_as_in_production(
    engine: Engine, database_url: str, fake_slack: FakeSlack, slack_settings: Settings
) -> None:
    settings = slack_settings.model_copy(update={"database_url": database_url})
    runtime = build_slack_runtime(settings, engine, SystemClock(), processes=1)
    server = WebServer(build_web_app(engine, slack_routes(runtime.app)), host="127.0.0.1").start()
    try:
        slack = SlackClient(server.url, fake_slack)
        answer, _ = slack.slash_command("help", user_id=KEY_WORKER)
        first, event_id = slack.dm("hello", user_id=PARENT)
        retried, _ = slack.event(
            {
                "type": "message",
                "channel": "D" + PARENT[1:],
                "user": PARENT,
                "text": "hello",
                "ts": "1.0",
                "channel_type": "im",
            },
            event_id=event_id,
            retry=1,
        )
        assert answer.status == first.status == retried.status == 200
        [reply] = fake_slack.wait_responses(timeout=60)  # a fresh process starts in seconds
        assert "Core group assistant" in shown(reply.args)
        fake_slack.wait_calls("chat.postMessage", timeout=30)
    finally:
        server.stop()
        runtime.close()  # the workers finish what is queued, the retry included
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_run_slack_says_which_mode_it_started_and_stops_on_sigterm(
    engine: Engine, database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    script = (
        "from bot.adapters.slack import run_slack\n"
        "from bot.clock import SystemClock\n"
        "from bot.config import load_settings\n"
        "from storage.db import make_engine\n"
        "settings = load_settings()\n"
        "run_slack(settings, make_engine(settings.database_url), SystemClock())\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database_url,
        "PORT": "0",
    }
    env.pop("SLACK_APP_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,  # away from any .env file
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "HTTP mode" in banner and "POST /slack/events" in banner
        port = int(re.search(r"on port (\d+)\)", banner).group(1))  # type: ignore[union-attr]
        slack = SlackClient(f"http://127.0.0.1:{port}", fake_slack)
        # Ready only once the worker processes can work: "starting" until then.
        health = fake_slack.wait_for(
            lambda: (a := slack.request("GET", "/healthz")).status == 200 and a, timeout=60
        )
        assert health.json() == {"status": "ok"}
        slack.slash_command("help", user_id=KEY_WORKER)
        [reply] = fake_slack.wait_responses(timeout=60)
        assert "Core group assistant" in shown(reply.args)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


# --- configuration: each mode asks only for what it needs ---------------------------------------


def _run_refused(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`coregroup run` with exactly `env` on a fresh, upgraded SQLite database."""
    env = {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "DATA_KEY": os.environ["DATA_KEY"],
        **env,
    }

    def coregroup(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *argv],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert coregroup("db", "upgrade").returncode == 0
    return coregroup("run")


def test_http_mode_without_a_signing_secret_names_only_slack_settings(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN}
    refused = _run_refused(env, tmp_path)
    assert refused.returncode == 2
    assert "SLACK_SIGNING_SECRET" in refused.stderr and "SLACK_APP_TOKEN" in refused.stderr
    assert "MICROSOFT" not in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr


def test_socket_mode_without_a_bot_token_names_only_slack_settings(tmp_path: Path) -> None:
    env = {"SLACK_APP_TOKEN": "xapp-1-A0-1-abc"}
    refused = _run_refused(env, tmp_path)
    assert refused.returncode == 2
    assert "SLACK_BOT_TOKEN" in refused.stderr
    assert "MICROSOFT" not in refused.stderr + refused.stdout
    assert "SLACK_SIGNING_SECRET is required" not in refused.stderr


def test_socket_mode_needs_no_signing_secret(fake_slack: FakeSlack) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN,
        slack_app_token="xapp-1-A0-1-abc",
        slack_signing_secret=None,
        slack_api_url=fake_slack.api_url,
    )
    assert settings.platform == "slack"
    assert slack_mode(settings) == "socket"
    app = build_slack_app(settings, client=slack_client(settings), submit=lambda job: None)
    assert app is not None
