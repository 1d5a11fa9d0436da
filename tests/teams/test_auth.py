"""Inbound authentication: only activities signed by the Bot Framework's keys for this bot pass."""

from __future__ import annotations

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine

from bot.adapters.teams import (
    TeamsSettings,
    build_teams_runtime,
    is_anonymous,
    listen_host,
    load_teams_settings,
    teams_routes,
)
from bot.adapters.web import WebServer, build_web_app
from bot.clock import FakeClock
from bot.config import ConfigError, Settings
from tests.teams.conftest import SAM, TENANT, FakeConnector, Issuer, TeamsDriver


def _help(teams: TeamsDriver) -> dict:
    return teams.activity(SAM, "help")


def test_a_signed_activity_is_answered_in_the_senders_chat(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    response = teams.post(_help(teams))
    assert response.status_code == 200
    (answer,) = connector.to(SAM.dm)
    assert "Core group assistant — commands" in answer.text()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="unsigned"),
        pytest.param("not-a-jwt", id="garbage"),
    ],
)
def test_an_unsigned_activity_is_refused(
    teams: TeamsDriver, connector: FakeConnector, token: str | None
) -> None:
    response = teams.post(_help(teams), token=token)
    assert response.status_code == 401
    assert connector.sent == []


def test_an_expired_token_is_refused_but_five_minutes_of_skew_is_allowed(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    activity = _help(teams)
    stale = teams.issuer.token(activity["serviceUrl"], lifetime=-400)
    assert teams.post(activity, token=stale).status_code == 401
    assert connector.sent == []
    skewed = teams.issuer.token(activity["serviceUrl"], lifetime=-200)
    assert teams.post(teams.activity(SAM, "help"), token=skewed).status_code == 200


def test_a_token_for_another_app_is_refused(teams: TeamsDriver, connector: FakeConnector) -> None:
    activity = _help(teams)
    token = teams.issuer.token(activity["serviceUrl"], audience="another-bot")
    assert teams.post(activity, token=token).status_code == 401
    assert connector.sent == []


def test_a_token_from_another_issuer_is_refused(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    activity = _help(teams)
    token = teams.issuer.token(activity["serviceUrl"], issuer="https://sts.example.org")
    assert teams.post(activity, token=token).status_code == 401
    assert connector.sent == []


def test_a_token_for_another_service_url_is_refused(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    activity = _help(teams)
    token = teams.issuer.token("https://attacker.example.org/")
    assert teams.post(activity, token=token).status_code == 401
    # Nor may the activity redirect the bot's answers to a service of its choosing.
    activity["serviceUrl"] = "https://attacker.example.org/"
    token = teams.issuer.token(connector.service_url)
    assert teams.post(activity, token=token).status_code == 401
    assert connector.sent == []


def test_a_token_signed_with_a_key_the_issuer_never_published_is_refused(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    activity = _help(teams)
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = teams.issuer.token(activity["serviceUrl"], key=forged_key)
    assert teams.post(activity, token=token).status_code == 401
    assert connector.sent == []


def test_a_key_not_endorsed_for_the_channel_is_refused(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    activity = _help(teams)
    activity["channelId"] = "skype"
    assert teams.post(activity).status_code == 401
    assert connector.sent == []


def test_the_same_activity_delivered_twice_is_handled_once(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    activity = _help(teams)
    assert teams.post(activity).status_code == 200
    assert teams.post(activity).status_code == 200
    assert len(connector.to(SAM.dm)) == 1


OTHER_TENANT = "99999999-8888-7777-6666-555555555555"


@pytest.mark.parametrize("where", ["channelData", "conversation"])
def test_an_activity_from_another_tenant_is_refused_with_403(
    teams: TeamsDriver, connector: FakeConnector, where: str
) -> None:
    activity = _help(teams)
    if where == "channelData":
        activity["channelData"]["tenant"]["id"] = OTHER_TENANT
    else:
        del activity["channelData"]["tenant"]
        activity["conversation"]["tenantId"] = OTHER_TENANT
    assert teams.post(activity).status_code == 403
    assert connector.sent == []


def test_the_configured_tenant_matches_whatever_its_case(
    teams: TeamsDriver, connector: FakeConnector
) -> None:
    activity = _help(teams)
    activity["channelData"]["tenant"]["id"] = TENANT.upper()
    assert teams.post(activity).status_code == 200
    assert len(connector.to(SAM.dm)) == 1


# --- the anonymous development mode ---------------------------------------------------------------


def test_anonymous_mode_needs_the_flag_and_no_app_id() -> None:
    with pytest.raises(ConfigError, match="TEAMS_ANONYMOUS_DEV"):
        is_anonymous(Settings(), TeamsSettings())
    assert is_anonymous(Settings(), TeamsSettings(teams_anonymous_dev=True))
    configured = Settings(
        microsoft_app_id="app", microsoft_app_password="pw", microsoft_app_tenant_id="t"
    )
    assert not is_anonymous(configured, TeamsSettings())
    with pytest.raises(ConfigError, match="cannot be combined with MICROSOFT_APP_ID"):
        is_anonymous(configured, TeamsSettings(teams_anonymous_dev=True))
    with pytest.raises(ConfigError, match="MICROSOFT_APP_TENANT_ID"):
        is_anonymous(Settings(microsoft_app_id="app", microsoft_app_password="pw"), TeamsSettings())


def test_the_anonymous_mode_listens_on_loopback_unless_told() -> None:
    assert listen_host(TeamsSettings(teams_anonymous_dev=True), anonymous=True) == "127.0.0.1"
    assert listen_host(TeamsSettings(), anonymous=False) == "0.0.0.0"
    told = TeamsSettings(teams_anonymous_dev=True, teams_host="192.0.2.10")
    assert listen_host(told, anonymous=True) == "192.0.2.10"


def test_channel_mode_needs_a_team() -> None:
    with pytest.raises(ConfigError, match="TEAMS_TEAM_ID"):
        load_teams_settings(teams_space_mode="channel")


def test_anonymous_mode_answers_without_a_token_and_warns_loudly(
    engine: Engine,
    clock: FakeClock,
    connector: FakeConnector,
    teams: TeamsDriver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = build_teams_runtime(
        Settings(),
        engine,
        clock,
        TeamsSettings(
            teams_anonymous_dev=True, teams_ca_bundle=teams.runtime.bot.teams.teams_ca_bundle
        ),
    )
    assert "ANONYMOUS DEVELOPMENT MODE" in caplog.text
    server = WebServer(build_web_app(engine, teams_routes(runtime.bot)), host="127.0.0.1").start()
    try:
        # The Playground sends no token and accepts replies without one: so does the fake here.
        connector.anonymous = True
        activity = teams.activity(SAM, "help")
        response = requests.post(f"{server.url}/api/messages", json=activity, timeout=30)
        assert response.status_code == 200
        (answer,) = connector.to(SAM.dm)
        assert "Core group assistant — commands" in answer.text()
        assert connector.token_requests == 0
    finally:
        server.stop()
        runtime.close()


# --- starting while Microsoft is unreachable ------------------------------------------------------


def test_the_bot_starts_without_microsoft_and_answers_once_it_is_reachable(
    engine: Engine,
    clock: FakeClock,
    bot_settings: Settings,
    teams_settings: TeamsSettings,
    issuer: Issuer,
    connector: FakeConnector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    issuer.unreachable = True
    connector.drop_logins = 2
    runtime = build_teams_runtime(bot_settings, engine, clock, teams_settings)
    assert runtime.bot.auth is not None
    runtime.bot.auth.backoff, runtime.bot.auth.min_retry = (0.01, 0.01), 0.0
    runtime.http.backoff = 0.01
    server = WebServer(build_web_app(engine, teams_routes(runtime.bot)), host="127.0.0.1").start()
    driver = TeamsDriver(runtime, server, issuer, connector)
    try:
        assert connector.token_requests == 0  # nothing asked of Microsoft at start-up
        refused = driver.post(driver.activity(SAM, "help"))
        assert refused.status_code == 503
        assert "signing keys are unreachable" in caplog.text
        assert connector.sent == []

        issuer.unreachable = False  # the network is back; the login drops two more connections
        answered = driver.post(driver.activity(SAM, "help"))

        assert answered.status_code == 200
        (reply,) = connector.to(SAM.dm)
        assert "Core group assistant — commands" in reply.text()
        assert "no token to call Microsoft yet" in caplog.text
        assert "Traceback" not in caplog.text
    finally:
        server.stop()
        runtime.close()
