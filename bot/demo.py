"""`coregroup demo`: the local chat on a throw-away SQLite database with a fictional core group.

The sample group is built by typing real commands into the local chat, so the demo exercises
exactly what users run. Everyone in it is fictional.
"""

from __future__ import annotations

import base64
import io
import os
import re
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.adapters.local import LocalChat
from bot.app import local_chat, start_family_web, with_local_links
from bot.clock import FakeClock
from bot.config import Settings
from bot.core.context import Locale
from bot.core.oversight import join_team
from bot.core.people import Who, person_for
from bot.housekeeping import DailyJob
from storage.crypto import KeyEncryptionKeys
from storage.db import make_engine, session_scope, upgrade
from storage.enums import Platform

REFERENCE = "CP-2026-0142"
SPACE = "cg-cp-2026-0142"

TEAM = "Northshire Children's Services"
TEAM_SETUP = f'coregroup team --platform local --user sam --name Sam --team "{TEAM}"'

# Journey 1 of the product: the ICPC was on Fri 18 Dec 2026; the demo starts the Monday after.
SEED = f"""
as sam
/coregroup new {REFERENCE} icpc 18/12/2026
in #{SPACE}
/coregroup add @alex parent agency "Family"
/coregroup add @priya school agency "Oak Primary School"
/coregroup add @hana health-visitor agency "Northshire Community Health"
/coregroup add @george gp agency "Elm Street Surgery"
/coregroup add @pat police agency "Northshire Police"
/coregroup minute-taker @priya
/coregroup outcome add "The home is warm, clean and safe for the children"
/coregroup outcome add "The children attend school every day, on time"
/coregroup outcome add "Alex gets support with low mood and keeps appointments"
/coregroup action @alex to fix the broken heater with the landlord by 8/1 outcome 1
/coregroup action @priya to set up a morning club place by 15/1 outcome 2
/coregroup action @george to review Alex's medication by 15/1 outcome 3
/coregroup schedule 5/1 10am at "Family Centre, Oak Road"
"""

WELCOME = f"""Core Group Bot — local demo (fictional data, a throw-away database).
You are Sam, key worker and chair for {REFERENCE}, typing in #{SPACE}.
Members: alex (parent), priya (school), hana (health visitor), george (GP), pat (police).
Try:  /coregroup status      /coregroup actions all      as priya   then  /coregroup actions mine
      clock 2026-12-31 09:00 (reminders and update prompts fire)   help (local chat syntax)
"""
FAMILY_LINK = """
Alex (the parent) has no chat account: their way in is the link the chair sends,
  {url}
with the code {code} sent separately. {served}
"""
_LINK = re.compile(r"(https?://\S+/family/\S+)")
_CODE = re.compile(r"Their code: (\d{3} \d{3})")
DEMO_HOST, DEMO_PORT = "127.0.0.1", 8080


def demo_start() -> datetime:
    """The demo's simulated start: Monday 21 December 2026, 09:00 in London."""
    from zoneinfo import ZoneInfo

    return datetime(2026, 12, 21, 9, 0, tzinfo=ZoneInfo("Europe/London"))


def build_demo(
    *,
    database_url: str,
    out: TextIO,
    echo: bool,
    show_seed: bool,
    files_dir: Path | None = None,
    web: tuple[str, int] = (DEMO_HOST, DEMO_PORT),
) -> LocalChat:
    """A local chat on a fresh schema at `database_url`, with the sample group typed in; its
    case text is sealed under DATA_KEY, or a key made for this throw-away run."""
    engine = make_engine(
        database_url, KeyEncryptionKeys.from_environment() or KeyEncryptionKeys(os.urandom(32))
    )
    upgrade(engine)
    clock = FakeClock(demo_start())
    seed_out: TextIO = out if show_seed else io.StringIO()
    chat = local_chat(
        engine=engine,
        clock=clock,
        locale=with_local_links(Locale(), host=web[0], port=web[1]),
        out=seed_out,
        echo=True,
        files_dir=files_dir,
        daily=DailyJob(engine=engine, clock=clock, settings=demo_settings(files_dir)),
    )
    # Only social workers and managers in a team may start a group: Sam is put in his team
    # first, as an administrator would with `coregroup team`.
    seed_out.write(f"$ {TEAM_SETUP}\n")
    with session_scope(engine) as session:
        sam = person_for(session, Who(Platform.LOCAL, "sam", "Sam"), clock)
        team = join_team(session, person=sam, team_name=TEAM, manager=False)
        seed_out.write(f"Sam (local sam) is now a member of {team.name}.\n")
    chat.run(SEED.strip().splitlines())
    if not show_seed:
        chat.forget_buttons()
    chat.out, chat.echo = out, echo
    return chat


def demo_settings(files_dir: Path | None) -> Settings:
    """The daily job's settings for a throw-away run: an audit key made for it, and only the
    demo's own folder of files to erase (none when it has none)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        audit_key=base64.b64encode(os.urandom(32)).decode(),
        documents_dir=files_dir or Path(os.devnull),  # not a folder: no files to erase
    )


def family_link(chat: LocalChat) -> tuple[str, str]:
    """The link and code the chair would send Alex (made by typing the real command)."""
    quiet, chat.out = chat.out, io.StringIO()
    try:
        chat.run(["as sam", f"in #{SPACE}", "/coregroup invite @alex"])
        said = chat.out.getvalue()
    finally:
        chat.out = quiet
    link, code = _LINK.search(said), _CODE.search(said)
    return (link.group(1), code.group(1)) if link and code else ("", "")


def run_demo(
    lines: Iterable[str],
    *,
    out: TextIO,
    echo: bool,
    show_seed: bool = False,
    web: tuple[str, int] | None = None,
) -> None:
    """Seed a throw-away database and hand the local chat over to `lines`; with `web` (host,
    port), the family's pages are served there too."""
    with tempfile.TemporaryDirectory(prefix="coregroup-demo-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        chat = build_demo(
            database_url=url,
            out=out,
            echo=echo,
            show_seed=show_seed,
            files_dir=Path(tmp) / "documents",
            web=web or (DEMO_HOST, DEMO_PORT),
        )
        server = None
        if web is not None:
            dispatcher = chat.dispatcher
            server = start_family_web(
                engine=dispatcher.engine,
                clock=dispatcher.clock,
                locale=dispatcher.locale,
                host=web[0],
                port=web[1],
                outbox=chat,
            )
        link, code = family_link(chat)
        out.write(WELCOME)
        if link:
            if server is not None:
                served = "Open it in a browser to see the family's pages."
            elif web is not None:
                served = f"(The pages could not start: port {web[1]} is taken; set WEB_PORT.)"
            else:
                served = "(`coregroup demo` serves the pages on WEB_PORT.)"
            out.write(FAMILY_LINK.format(url=link, code=code, served=served))
        try:
            chat.run(lines)
        finally:
            if server is not None:
                server.stop()
            chat.dispatcher.engine.dispose()
