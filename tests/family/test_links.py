"""Links and codes: only the right person with the right code gets in; everything else is refused
kindly, says to ask their social worker, and tells nothing about any group."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import jwt
from sqlmodel import Session, select

from bot.adapters.family_web import family_routes, secure_cookies
from bot.adapters.web import build_web_app
from storage.enums import AuditKind
from storage.models import AuditEntry, FamilyInvite
from tests.family.conftest import REF, SECRET, Browser, Site, invite

ASK = "ask your social worker"


def test_invite_gives_a_link_and_a_code_stored_only_as_hashes(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    token = path.removeprefix("/family/")
    with Session(site.engine) as s:
        row = s.exec(select(FamilyInvite)).one()
        assert code not in row.code_hash and token != row.token_hash
        kinds = [e.what for e in s.exec(select(AuditEntry)).all()]
    assert "family:invite" in kinds


def test_the_link_and_code_reach_the_chair_privately(site: Site) -> None:
    out = site.chat("as sam\nin #cg-cp-2026-0142\n/coregroup invite @jo")
    private = out.split("[DM to sam]", 1)
    assert len(private) == 2 and "/family/" in private[1] and "Their code:" in private[1]
    assert "/family/" not in private[0]
    assert "in your direct messages" in out


def test_only_the_chair_can_invite_and_only_family(site: Site) -> None:
    out = site.chat(f"as alex\n/coregroup {REF} invite @jo")
    assert "Only the chair" in out and "/family/" not in out
    out = site.chat(f"as sam\n/coregroup {REF} invite @alex")
    assert "professionals take part in the chat" in out


def test_the_link_asks_for_the_code_before_showing_anything(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    page = site.browser.get(path)
    assert page.status == 200
    assert "Type your code" in page.text
    assert REF not in page.text and "Family Centre" not in page.text
    # The pages themselves need the session the code starts.
    assert site.browser.get("/family/meeting").status == 401
    signed_in = site.browser.sign_in(path, code)
    assert signed_in.path == "/family/meeting"
    assert "Family Centre, Oak Road" in signed_in.text


def test_security_headers_and_cookie_flags(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    form = site.browser.get(path)
    csp = form.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe" not in csp
    assert form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert "<script" not in form.text
    page = site.browser.post(
        path, {"csrf": site.browser.csrf(form), "code": code}, allow_redirects=False
    )
    assert page.status == 303
    cookie = page.response.headers.getall("Set-Cookie")[0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/family" in cookie


def test_five_wrong_codes_lock_the_link(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        page = site.browser.sign_in(path, wrong)
        assert page.status == 403 and f"({left} tr" in page.text
    page = site.browser.sign_in(path, wrong)
    assert "locked" in page.text and ASK in page.text
    # Even the right code is refused now, and so is the link itself.
    assert site.browser.get(path).status == 403
    with Session(site.engine) as s:
        denied = [e.what for e in s.exec(select(AuditEntry)).all() if e.kind == AuditKind.DENIED]
    assert denied.count("family:wrong-code") == 4 and "family:locked" in denied


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    site.browser.get(path)
    page = site.browser.post(path, {"code": code})
    assert page.status == 403 and "type your code again" in page.text
    assert site.browser.get("/family/meeting").status == 401


def test_forged_links_are_refused(site: Site) -> None:
    path, _ = invite(site.chat, "jo")
    token = path.removeprefix("/family/")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False})
    forged_key = jwt.encode(claims, "not-our-secret-at-all-not-our-secret", algorithm="HS256")
    # Right key, but not a link we handed out (a different id, the same invite re-signed).
    resigned = jwt.encode({**claims, "jti": "other"}, SECRET, algorithm="HS256")
    for bad in (token[:-3] + "abc", forged_key, resigned, "nonsense"):
        page = site.browser.get(f"/family/{bad}")
        assert page.status == 403 and ASK in page.text
        assert REF not in page.text


def test_expired_link_says_so_kindly(site: Site) -> None:
    path, _ = invite(site.chat, "jo")
    site.clock.advance(timedelta(days=15))
    page = site.browser.get(path)
    assert page.status == 403 and "run out" in page.text and ASK in page.text


def test_revoked_link_and_open_session_are_ended(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    assert site.browser.sign_in(path, code).status == 200
    out = site.chat(f"as sam\n/coregroup {REF} invite @jo revoke")
    assert "switched off" in out
    page = site.browser.get("/family/meeting")
    assert page.status == 401 and "switched off" in page.text and ASK in page.text
    assert "switched off" in site.browser.get(path).text
    # A new invite ends the old link too.
    path2, code2 = invite(site.chat, "jo")
    path3, _ = invite(site.chat, "jo")
    assert "switched off" in site.browser.get(path2).text
    assert site.browser.get(path3).status == 200


def test_session_ends_after_30_idle_minutes(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    site.browser.sign_in(path, code)
    site.clock.advance(timedelta(minutes=29))
    assert site.browser.get("/family/meeting").status == 200  # use slides the idle time
    site.clock.advance(timedelta(minutes=29))
    assert site.browser.get("/family/before").status == 200
    site.clock.advance(timedelta(minutes=31))
    page = site.browser.get("/family/meeting")
    assert page.status == 401 and "away for a while" in page.text


def test_a_link_for_one_group_never_reaches_another(site: Site) -> None:
    site.chat(
        """
        as sam
        /coregroup new CP-2026-0999 icpc 18/12/2026
        /coregroup CP-2026-0999 add @jo parent
        /coregroup CP-2026-0999 schedule 7/1 11am at "Elm Library"
        """
    )
    path, code = invite(site.chat, "jo")  # for CP-2026-0142
    page = site.browser.sign_in(path, code)
    assert "Family Centre, Oak Road" in page.text and "Elm Library" not in page.text
    for where in ("/family/before", "/family/agreed"):
        assert "CP-2026-0999" not in site.browser.get(where).text


def test_someone_who_leaves_the_group_loses_the_link(site: Site) -> None:
    path, code = invite(site.chat, "jo")
    site.browser.sign_in(path, code)
    site.chat(f"as sam\n/coregroup {REF} remove @jo")
    assert site.browser.get("/family/meeting").status == 401


def test_cookies_are_secure_unless_the_pages_are_on_localhost(site: Site) -> None:
    assert secure_cookies("https://coregroup.northshire.gov.uk")
    assert secure_cookies(None)
    assert not secure_cookies("http://127.0.0.1:8080") and not secure_cookies("http://localhost")
    locale = dataclasses.replace(
        site.chat.dispatcher.locale, public_url="https://coregroup.northshire.gov.uk"
    )
    routes = family_routes(engine=site.engine, locale=locale, clock=site.clock)
    browser = Browser(build_web_app(site.engine, routes))
    try:
        path, code = invite(site.chat, "jo")
        form = browser.get(path)
        assert all("Secure" in c for c in form.response.headers.getall("Set-Cookie"))
        page = browser.post(path, {"csrf": browser.csrf(form), "code": code}, allow_redirects=False)
        cookie = page.response.headers.getall("Set-Cookie")[0]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    finally:
        browser.close()
