"""The family pages' limits are settings: FAMILY_CODE_TRIES and FAMILY_SESSION_MINUTES."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.core.context import Locale
from tests.family.conftest import PUBLIC_URL, REF, SECRET, Site, invite


def test_changed_limits_lock_the_link_and_end_the_session_sooner(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAMILY_CODE_TRIES", "3")
    monkeypatch.setenv("FAMILY_SESSION_MINUTES", "10")
    settings = load_settings(_env_file=None, public_url=PUBLIC_URL, document_link_secret=SECRET)
    site.chat.dispatcher.locale = Locale.from_settings(settings)
    browser = site.new_browser()

    assert "3 wrong codes lock it." in site.chat(f"as sam\n/coregroup {REF} invite @jo")
    path, code = invite(site.chat, "jo")
    wrong = "000000" if code != "000000" else "111111"
    for left in (2, 1):
        page = browser.sign_in(path, wrong)
        assert page.status == 403 and f"({left} tr" in page.text
    assert "locked" in browser.sign_in(path, wrong).text
    assert browser.get(path).status == 403

    path, code = invite(site.chat, "jo")
    assert browser.sign_in(path, code).status == 200
    site.clock.advance(timedelta(minutes=9))
    assert browser.get("/family/meeting").status == 200
    site.clock.advance(timedelta(minutes=11))
    page = browser.get("/family/meeting")
    assert page.status == 401 and "away for a while" in page.text


@pytest.mark.parametrize(
    ("name", "value"),
    [("family_code_tries", 0), ("family_code_tries", 21), ("family_session_minutes", 2)],
)
def test_out_of_range_limits_stop_the_bot_with_the_variable_named(name: str, value: int) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, **{name: value})
    message = str(raised.value)
    assert message.startswith(f"Invalid configuration — {name.upper()}: ")
    assert "\n" not in message
