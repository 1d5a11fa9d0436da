"""Understanding a reply in words about an action: done, in progress, a new date, can't, a note.

Pure interpretation (text in, Intent out) so it is easy to test with many phrasings. When the
text is not clearly one of these, the answer is "unclear" and the caller asks a short question
rather than guessing: a wrong guess changes a child's plan, a question costs one click.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.core.dates import parse_day
from bot.core.errors import BadInput

IntentKind = Literal["done", "progress", "new_date", "blocked", "note", "unclear"]
INTENT_KINDS: tuple[IntentKind, ...] = (
    "done",
    "progress",
    "new_date",
    "blocked",
    "note",
    "unclear",
)


@dataclass(frozen=True)
class Intent:
    """What a reply means: its kind, the note or reason it carries, and any new due date."""

    kind: IntentKind
    note: str | None = None
    date: date | None = None
    problem: str | None = None  # why a date in a new-date request could not be used


_FLAGS = re.IGNORECASE
# What separates a keyword from the note after it: punctuation, dashes, "but"/"and".
_SEP = r"(?:\s*[,;:.!\-\u2013\u2014]+\s*|\s+(?:and|but|as|because|so)\s+)"
_TAIL = re.compile(r"^" + _SEP + r"(?P<rest>.*)$", _FLAGS | re.DOTALL)

_NEGATED_DONE = re.compile(
    r"\b(?:not|isn'?t|hasn'?t\s+been|haven'?t)\s+(?:yet\s+)?(?:been\s+)?"
    r"(?:done|finished|completed?|sorted)\b(?:\s+yet\b)?",
    _FLAGS,
)
_DONE_START = re.compile(
    r"^(?:(?:yes|yep|yeah|ok|okay)\b[\s,!.]*)?"
    r"(?:all\s+|now\s+|it'?s\s+(?:now\s+|all\s+)?|it\s+is\s+|that'?s\s+|this\s+is\s+"
    r"|i'?ve\s+|i\s+have\s+|have\s+|has\s+been\s+|been\s+)?"
    r"(?:done|completed?|finished|sorted|did\s+it)(?:\s+(?:it|this|that|now))?"
    r"(?![\w'])(?!\s*\?)",
    _FLAGS,
)
_DONE_SYMBOL = re.compile(r"^\s*[\u2705\u2714\u2611]\ufe0f?")
_DONE_ANYWHERE = re.compile(
    r"\b(?:it'?s|it\s+is|that'?s|this\s+is|all|now|has\s+been|have)\s+"
    r"(?:now\s+)?(?:done|completed|finished|sorted)\b(?!\s*\?)",
    _FLAGS,
)
_BLOCKED = re.compile(
    r"^(?:sorry\b[\s,!.]*)?(?:i\s+|we\s+)?"
    r"(?:can'?t|cannot|can\s+not|won'?t\s+be\s+able\s+to|am\s+unable\s+to|unable\s+to"
    r"|not\s+able\s+to|couldn'?t|could\s+not|won'?t)"
    r"(?:\s+(?:do|complete|finish)(?:\s+(?:it|this|that))?)?(?:\s+any\s*more)?"
    r"(?=\s*$|" + _SEP + r")",
    _FLAGS,
)
_BLOCKED_PHRASE = re.compile(
    r"^(?:not\s+possible|no\s+longer\s+(?:possible|needed|relevant|required)"
    r"|not\s+(?:needed|required)\s+any\s*more)\b",
    _FLAGS,
)
_CANT_SOMEWHERE = re.compile(r"\b(?:can'?t|cannot|can\s+not|unable|won'?t)\b", _FLAGS)
_PROGRESS = re.compile(
    r"^(?:still\s+|it'?s\s+|it\s+is\s+)?(?:in\s+progress|on\s*going|under\s*way|started"
    r"|working\s+on\s+it|on\s+it|progressing|half\s*way(?:\s+there)?|nearly\s+(?:done|there)"
    r"|almost\s+(?:done|there)|getting\s+there|going\s+well)\b(?!\s*\?)",
    _FLAGS,
)
# "need until Fri", "need more time till 15/1", "can I have until…", "move it to…".
_MORE = r"(?:more\s+time|longer|a\s+bit\s+longer|a\s+bit\s+more\s+time|an?\s+extension)"
_NEW_DATE = re.compile(
    r"^(?:(?:sorry|please)\b[\s,!.]*)?(?:(?:i|we|it)(?:'ll|\s+will)?\s+)?(?:"
    r"(?:need|want|would\s+like|could\s+do\s+with)(?:\s+"
    + _MORE
    + r"\s*,?)?\s+(?:until|till|til|'til)"
    r"|(?:need|want|would\s+like|could\s+do\s+with)\s+" + _MORE + r"\s*,?\s+(?:to|by)"
    r"|(?:can|could|may)\s+i\s+(?:have|get)\s+(?:" + _MORE + r"\s+)?(?:until|till|til|to)"
    r"|new\s+(?:due\s+)?date(?:\s+(?:of|is|please))?"
    r"|(?:move|push|put|change|extend|delay|postpone)(?:\s+(?:it|this|the\s+(?:due\s+)?date))?"
    r"(?:\s+back)?\s+(?:to|until|till)"
    r"|(?:(?:will|won'?t|will\s+not)\s+)?(?:(?:be|have\s+it|get\s+it)\s+"
    r"(?:done|finished|sorted|ready)|do\s+it)\s+(?:by|until|till)"
    r")\s*:?\s+(?P<when>.+)$",
    _FLAGS | re.DOTALL,
)
_MORE_TIME = re.compile(
    r"^(?:(?:sorry|please)\b[\s,!.]*)?(?:i\s+|we\s+)?(?:will\s+)?(?:need|want|could\s+do\s+with)"
    r"\s+(?:more\s+time|longer|a\s+bit\s+longer|an?\s+extension|a\s+new\s+date)\b",
    _FLAGS,
)
_DATE_CUT = re.compile(r"\s*(?:[,;]|\s[-\u2013\u2014]\s|\b(?:as|because|since|please)\b)\s*")

# Chat that is not news about an action.
_SMALL_TALK_WORDS = (
    "hi hello hey thanks thank you cheers ok okay yes yep yeah no nope maybe perhaps sure "
    "fine great good lol hmm um er there morning afternoon evening all right not sure dunno "
    "what why how who when"
)
_SMALL_TALK = frozenset(_SMALL_TALK_WORDS.split())
# Common English words: a note must contain at least one, so keyboard mashing is not a note.
_COMMON_WORDS = (
    "a an the to of in on at for with from by about and but or so as is are was were be been "
    "have has had do did will would can could should i we you he she they it my our his her "
    "their this that these those there here not no yet still now today yesterday tomorrow "
    "week said says told asked called phoned rang emailed spoke met visited saw seen sent "
    "booked arranged agreed made went came got gave wrote waiting chased chasing awaiting "
    "mum dad mother father parent parents child children family school gp nurse doctor "
    "visit appointment referral meeting letter report plan home house police health"
)
_COMMON = frozenset(_COMMON_WORDS.split())


def interpret(text: str, *, now: datetime, tz: ZoneInfo) -> Intent:
    """What a reply to an action reminder means; "unclear" whenever it is not plain."""
    cleaned = " ".join(text.replace("\u2019", "'").split())
    if not cleaned:
        return Intent("unclear")
    for reader in (_read_new_date, _read_negated, _read_done, _read_blocked, _read_progress):
        intent = reader(cleaned, now, tz)
        if intent is not None:
            return intent
    if _CANT_SOMEWHERE.search(cleaned):
        # "can't reach mum" may mean the action can't be done, or is just hard: ask.
        return Intent("unclear", note=cleaned)
    if _looks_like_a_note(cleaned):
        return Intent("note", note=cleaned)
    return Intent("unclear", note=cleaned)


def _rest(text: str, end: int, whole: str) -> str | None:
    """The note after a keyword ending at `end`: what follows a separator, else the whole text."""
    after = text[end:]
    if not after.strip(" .!"):
        return None
    tail = _TAIL.match(after)
    note = whole if tail is None else tail["rest"].strip()
    return None if is_small_talk(note) else note


def is_small_talk(text: str) -> bool:
    """Whether text carries no news ("", "thanks", "ok!", "maybe?")."""
    return all(w in _SMALL_TALK for w in re.findall(r"[a-z']+", text.lower()))


def _read_new_date(text: str, now: datetime, tz: ZoneInfo) -> Intent | None:
    match = _NEW_DATE.match(text)
    if match is None:
        if _MORE_TIME.match(text):
            return Intent("new_date", note=text, problem="Which date would you like it moved to?")
        return None
    when, note = _split_when(match["when"])
    try:
        day = _read_day(when, now, tz)
    except BadInput as err:
        return Intent("new_date", note=text, problem=err.message)
    return Intent("new_date", note=note, date=day)


def _split_when(when: str) -> tuple[str, str | None]:
    """Split "next Friday, waiting for mum" into the date words and a note."""
    parts = _DATE_CUT.split(when, maxsplit=1)
    note = parts[1].strip(" .!") if len(parts) > 1 else ""
    return parts[0].strip(" .!"), note or None


def _read_day(when: str, now: datetime, tz: ZoneInfo) -> date:
    """The day named at the start of `when`, forgiving trailing words ("Friday please")."""
    words = when.split()
    first_error: BadInput | None = None
    for size in range(len(words), 0, -1):
        try:
            return parse_day(" ".join(words[:size]), now=now, tz=tz)
        except BadInput as err:
            first_error = first_error or err
    raise first_error or BadInput("Please give a date.")


def _read_negated(text: str, now: datetime, tz: ZoneInfo) -> Intent | None:
    match = _NEGATED_DONE.search(text)
    if match is None:
        return None
    if match.start() == 0:
        return Intent("progress", note=_rest(text, match.end(), text))
    return Intent("progress", note=text)


def _read_done(text: str, now: datetime, tz: ZoneInfo) -> Intent | None:
    symbol = _DONE_SYMBOL.match(text)
    if symbol is not None:
        note = text[symbol.end() :].strip()
        return Intent("done", note=None if is_small_talk(note) else note)
    match = _DONE_START.match(text)
    if match is not None:
        return Intent("done", note=_rest(text, match.end(), text))
    if _DONE_ANYWHERE.search(text):
        return Intent("done", note=text)
    return None


def _read_blocked(text: str, now: datetime, tz: ZoneInfo) -> Intent | None:
    match = _BLOCKED.match(text)
    if match is not None:
        return Intent("blocked", note=_rest(text, match.end(), text))
    if _BLOCKED_PHRASE.match(text):
        return Intent("blocked", note=text)
    return None


def _read_progress(text: str, now: datetime, tz: ZoneInfo) -> Intent | None:
    match = _PROGRESS.match(text)
    if match is None:
        return None
    return Intent("progress", note=_rest(text, match.end(), text))


def _looks_like_a_note(text: str) -> bool:
    """Whether text reads as news: a few real words, not small talk, not a question."""
    if text.rstrip().endswith("?"):
        return False
    words = re.findall(r"[a-z']+", text.lower())
    if len(words) < 2 or is_small_talk(text):
        return False
    wordlike = [w for w in words if _wordlike(w)]
    return len(wordlike) >= 0.75 * len(words) and any(w in _COMMON for w in words)


def _wordlike(word: str) -> bool:
    """A rough test for an English word: has a vowel, no long consonant runs, no triples."""
    w = word.strip("'")
    return (
        bool(re.search(r"[aeiouy]", w))
        and not re.search(r"[bcdfghjklmnpqrstvwxz]{5,}", w)
        and not re.search(r"(.)\1\1", w)
    )
