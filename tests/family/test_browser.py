"""A family's journeys in a real browser: Debian's headless Chromium driven by selenium, on a
phone-sized window, against the real web server (SQLite, or PostgreSQL with TEST_DATABASE_URL).
Each page is scanned with axe-core (no serious or critical violation) and screenshotted into the
test's output folder. Skipped, with the reason, when chromium or chromedriver is not installed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.family_web import AlertSender, family_routes
from bot.adapters.web import WebServer, build_web_app
from tests.family.conftest import REF, Site, invite

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
PHONE = (390, 844)


@pytest.fixture
def server(site: Site) -> Iterator[str]:
    """The real web server on a free port, on the test's clock and database."""
    alert = AlertSender(site.chat.local, site.mailer)  # type: ignore[arg-type]
    locale = site.chat.dispatcher.locale
    routes = family_routes(engine=site.engine, locale=locale, clock=site.clock, alert=alert)
    web = WebServer(build_web_app(site.engine, routes), host="127.0.0.1").start()
    yield web.url
    web.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    metrics = {"width": PHONE[0], "height": PHONE[1], "pixelRatio": 2.0}
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    driver = webdriver.Chrome(service=Service(DRIVER or ""), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


class Checker:
    """Screenshots and axe-core scans of each page a journey passes."""

    def __init__(self, driver: Any, folder: Path) -> None:
        self.driver, self.folder = driver, folder
        folder.mkdir(parents=True, exist_ok=True)
        self.scanned: list[str] = []

    def check(self, name: str) -> None:
        from axe_selenium_python import Axe

        self.driver.save_screenshot(str(self.folder / f"{len(self.scanned):02d}-{name}.png"))
        axe = Axe(self.driver)
        axe.inject()
        results = axe.run()
        bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{name}: " + axe.report(bad)
        # No script of the page's own, and nothing wider than the phone.
        width, inner = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert inner == PHONE[0] and width <= inner, f"{name} scrolls sideways ({width}px)"
        self.scanned.append(name)


def shown(driver: Any) -> str:
    """The words on the page, as a reader sees them."""
    return str(by_css(driver, "body").text)


def go(driver: Any, selector: str) -> None:
    """Click something that loads a new page, and wait until it has: the old page's window
    carries a mark the new one does not. (Watching the old node go stale races Chromium's
    inspector, which can answer "node does not belong to the document" mid-navigation.)"""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    driver.execute_script("window.__leaving = true;")
    by_css(driver, selector).click()

    def loaded(d: Any) -> bool:
        return bool(
            d.execute_script(
                "return window.__leaving === undefined && document.readyState === 'complete';"
            )
        )

    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(loaded)


def by_css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def sign_in(driver: Any, checker: Checker | None, url: str, code: str) -> None:
    driver.get(url)
    if checker is not None:
        checker.check("code")
    by_css(driver, "#code").send_keys(code)
    go(driver, "main form button[type=submit]")


def answer(driver: Any, *, text: str = "", choice: int | None = None) -> None:
    if choice is not None:
        by_css(driver, f"#choice-{choice}").click()
    if text:
        by_css(driver, "#answer").send_keys(text)
    go(driver, "button[name=save]")


def test_a_parent_answers_on_a_phone_comes_back_to_finish_and_reads_the_minutes(
    site: Site, server: str, browser: Any, tmp_path: Path
) -> None:
    checker = Checker(browser, tmp_path / "screenshots")
    path, code = invite(site.chat, "jo")
    sign_in(browser, checker, server + path, code)
    assert "Family Centre, Oak Road" in shown(browser)
    checker.check("meeting")
    go(browser, "a.button")
    assert "Question 1 of" in shown(browser)
    checker.check("before")
    answer(browser, choice=2, text="the landlord is coming on Monday")
    assert "Saved" in shown(browser)
    answer(browser, text="<b>The kids</b> are settled")
    # Stop, and come back later on the same link with a fresh session.
    browser.delete_all_cookies()
    site.clock.advance(timedelta(hours=3))
    sign_in(browser, None, server + path, code)
    browser.get(server + "/family/before")
    assert "Question 4 of" in shown(browser)
    assert "<b>The kids</b> are settled" in shown(browser)  # shown as text, not markup
    while browser.find_elements("css selector", "button[name=skip]"):
        if browser.find_elements("css selector", "#choice-1") and "come to the meeting" in (
            shown(browser)
        ):
            answer(browser, choice=1)
        else:
            go(browser, "button[name=skip]")
    assert "answered everything" in shown(browser)
    checker.check("before-done")
    # After the meeting, the minutes are published; the family reads their copy.
    site.clock.advance(timedelta(days=6, hours=3))
    site.chat(
        f"as sam\n/coregroup {REF} held\n/coregroup {REF} draft\n"
        f"as alex\n/coregroup {REF} approve\nas sam\n/coregroup {REF} publish"
    )
    sign_in(browser, None, server + path, code)
    browser.get(server + "/family/agreed")
    assert "family version" in shown(browser)
    checker.check("agreed")
    site.chat(f"as sam\n/coregroup {REF} invite @jo revoke")
    browser.get(server + path)
    checker.check("refused")
    assert "ask your social worker" in shown(browser)


def test_a_young_person_says_how_they_feel_and_presses_i_dont_feel_safe(
    site: Site, server: str, browser: Any, tmp_path: Path
) -> None:
    checker = Checker(browser, tmp_path / "screenshots")
    site.chat(f"as sam\n/coregroup {REF} age @kai 11")
    path, code = invite(site.chat, "kai")
    sign_in(browser, None, server + path, code)
    browser.get(server + "/family/you")
    checker.check("you")
    by_css(browser, "label[for=yp_feeling-3]").click()
    by_css(browser, "#yp_worries").send_keys("school is hard")
    go(browser, "form[action='/family/you'] button")
    assert "Saved" in shown(browser)
    checker.check("you-saved")
    go(browser, "form.alarm button")
    assert "0800 1111" in shown(browser) and "999" in shown(browser)
    checker.check("safe")
    assert site.mailer.sent, "the duty contact was emailed"


def test_a_family_ranks_the_offered_times(
    site: Site, server: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.support.ui import Select

    checker = Checker(browser, tmp_path / "screenshots")
    site.chat(
        f'as sam\n/coregroup {REF} times propose "20/1 10am at School" '
        '"21/1 4pm at Family Centre" "22/1 11am at Oak Library"'
    )
    path, code = invite(site.chat, "jo")
    sign_in(browser, None, server + path, code)
    browser.get(server + "/family/times")
    checker.check("times")
    selects = browser.find_elements("css selector", "select")
    for element, value in zip(selects, ("cant", "2", "1"), strict=True):
        Select(element).select_by_value(value)
    browser.find_elements("css selector", "label[for$='-no']")[0].click()
    by_css(browser, "#note").send_keys("Not the school, please")
    go(browser, "form[action='/family/times'] button")
    assert "Saved" in shown(browser)
    checker.check("times-saved")
    ranking = site.chat(f"as sam\n/coregroup {REF} times")
    assert ranking.index("Oak Library") < ranking.index("at School")
