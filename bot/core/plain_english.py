"""Plain English: the jargon and unexplained initials guidance asks core groups to avoid.

The glossary is data (bot/core/glossary.toml, DOMAIN.md's starting list); a council adds to it or
changes it with its own file of the same shape (GLOSSARY_FILE). Initials are matched as whole
words and case-sensitively, so "hv" inside "have", or the "CP" of a case reference like
CP-2026-0142, never counts. Phrases are matched whole, ignoring case. Initials (and phrases that
have plain words) can be replaced with one click; other phrases ask the writer to describe what
was seen and heard.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

import pyphen

DESCRIBE = "describe what was seen and heard instead"
_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_EDGE_AFTER = r"(?![A-Za-z0-9])"
# Case references (CP-2026-0142, CP/2026/142) are identifiers, not jargon.
_REFERENCE = re.compile(_EDGE_BEFORE + r"[A-Za-z]{1,6}[-/][0-9][A-Za-z0-9/-]*")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+|\n\s*)$")


class GlossaryError(ValueError):
    """A glossary file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Finding:
    """A term to avoid, as written, and what to write instead (`plain` when one click can)."""

    term: str
    suggestion: str
    plain: str | None = None


@dataclass(frozen=True)
class Glossary:
    """Initials with their plain words, and phrases to avoid (with plain words, or none)."""

    initials: Mapping[str, str]
    phrases: tuple[tuple[str, str | None], ...]
    # Words fine between professionals that a parent or young person needs said another way.
    family: tuple[tuple[str, str | None], ...] = ()
    _initials_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _phrases_re: tuple[tuple[re.Pattern[str], str | None], ...] = field(
        default=(), repr=False, compare=False
    )
    _family_re: tuple[tuple[re.Pattern[str], str | None], ...] = field(
        default=(), repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Longest first, so "CPPM" is found as itself rather than as "CPP".
        terms = sorted(self.initials, key=len, reverse=True)
        pattern = (
            re.compile(
                _EDGE_BEFORE + "(" + "|".join(re.escape(t) for t in terms) + ")" + _EDGE_AFTER
            )
            if terms
            else None
        )
        object.__setattr__(self, "_initials_re", pattern)
        object.__setattr__(
            self,
            "_phrases_re",
            tuple(
                (re.compile(_EDGE_BEFORE + p + _EDGE_AFTER, re.IGNORECASE), instead)
                for p, instead in self.phrases
            ),
        )
        object.__setattr__(
            self,
            "_family_re",
            tuple(
                (re.compile(_EDGE_BEFORE + p + _EDGE_AFTER, re.IGNORECASE), instead)
                for p, instead in self.family
            ),
        )

    @classmethod
    def parse(cls, text: str, *, source: str) -> Glossary:
        """A glossary from TOML text; GlossaryError saying what is wrong and where."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise GlossaryError(f"{source} is not valid TOML: {exc}") from None
        initials = data.get("initials", {})
        if not isinstance(initials, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in initials.items()
        ):
            raise GlossaryError(
                f'{source}: [initials] must be lines like ICPC = "first child protection '
                'conference"'
            )
        phrases = _patterns(data.get("phrases", []), source=source, what="phrase")
        family = _patterns(data.get("family", []), source=source, what="family phrase")
        return cls(dict(initials), phrases, family)

    @classmethod
    def load(cls, path: Path | None) -> Glossary:
        """The bundled glossary, with a council's file (GLOSSARY_FILE) added on top."""
        base = bundled()
        if path is None:
            return base
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GlossaryError(f"{path.name} can't be read: {exc}") from None
        extra = cls.parse(text, source=path.name)
        return cls(
            {**base.initials, **extra.initials},
            base.phrases + extra.phrases,
            base.family + extra.family,
        )

    def findings(self, text: str) -> list[Finding]:
        """The jargon in `text`, each term once, in the order it first appears."""
        scrubbed = _REFERENCE.sub(lambda m: " " * len(m.group()), text)
        hits: list[tuple[int, Finding]] = []
        if self._initials_re is not None:
            for m in self._initials_re.finditer(scrubbed):
                plain = self.initials[m.group(1)]
                hits.append((m.start(), Finding(m.group(1), plain, plain)))
        for pattern, instead in self._phrases_re:
            hits += [
                (m.start(), Finding(m.group(), instead or DESCRIBE, instead))
                for m in pattern.finditer(scrubbed)
            ]
        seen: set[str] = set()
        found = []
        for _, finding in sorted(hits, key=lambda hit: hit[0]):
            key = finding.term.casefold()
            if key not in seen:
                seen.add(key)
                found.append(finding)
        return found

    def family_findings(self, text: str) -> list[Finding]:
        """What a parent or young person would trip over in `text`: the jargon, a case
        reference, and the [[family]] words ("core group", "working days", an unexplained
        "chair"), each once, in the order it first appears."""
        hits = [(text.find(f.term), f) for f in self.findings(text)]
        hits += [
            (m.start(), Finding(m.group(), "leave the case reference out of family messages"))
            for m in _REFERENCE.finditer(text)
        ]
        for pattern, instead in self._family_re:
            hits += [
                (m.start(), Finding(m.group(), instead or DESCRIBE)) for m in pattern.finditer(text)
            ]
        seen: set[str] = set()
        found = []
        for _, finding in sorted(hits, key=lambda hit: hit[0]):
            if finding.term.casefold() not in seen:
                seen.add(finding.term.casefold())
                found.append(finding)
        return found

    def replaced(self, text: str, terms: Collection[str] | None = None) -> str:
        """`text` with each replaceable term (or only `terms`) in plain words."""
        wanted = {t.casefold() for t in terms} if terms is not None else None
        for finding in self.findings(text):
            if finding.plain is None or (
                wanted is not None and finding.term.casefold() not in wanted
            ):
                continue
            text = _swap(text, finding.term, finding.plain)
        return text


def _patterns(entries: object, *, source: str, what: str) -> tuple[tuple[str, str | None], ...]:
    """`[[phrases]]`-shaped entries (pattern, optional instead), checked."""
    found: list[tuple[str, str | None]] = []
    for number, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
        pattern = entry.get("pattern") if isinstance(entry, dict) else None
        instead = entry.get("instead") if isinstance(entry, dict) else None
        if not isinstance(pattern, str) or not pattern.strip():
            raise GlossaryError(f"{source}: {what} {number} has no pattern")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise GlossaryError(
                f"{source}: {what} {number} ({pattern!r}) is not a valid pattern: {exc}"
            ) from None
        if instead is not None and not isinstance(instead, str):
            raise GlossaryError(f"{source}: {what} {number}'s `instead` must be text")
        found.append((pattern, instead or None))
    return tuple(found)


def _swap(text: str, term: str, plain: str) -> str:
    """Replace `term` as a whole word (not inside a case reference); capitalise at a sentence."""
    pattern = re.compile(_EDGE_BEFORE + re.escape(term) + _EDGE_AFTER, re.IGNORECASE)
    references = [m.span() for m in _REFERENCE.finditer(text)]
    out, last = [], 0
    for m in pattern.finditer(text):
        if any(a <= m.start() < b for a, b in references):
            continue
        before = text[last : m.start()]
        at_start = _SENTENCE_START.search(text[: m.start()]) is not None
        out += [before, plain[:1].upper() + plain[1:] if at_start else plain]
        last = m.end()
    out.append(text[last:])
    return "".join(out)


@cache
def bundled() -> Glossary:
    """The glossary that ships with the bot."""
    text = files("bot.core").joinpath("glossary.toml").read_text(encoding="utf-8")
    return Glossary.parse(text, source="glossary.toml")


def jargon_in(text: str, glossary: Glossary | None = None) -> list[Finding]:
    """The jargon in `text`, each term once, in the order it first appears."""
    return (glossary or bundled()).findings(text)


def family_findings(text: str, glossary: Glossary | None = None) -> list[Finding]:
    """What in `text` a parent or young person would not follow (see Glossary.family_findings)."""
    return (glossary or bundled()).family_findings(text)


def advice(finding: Finding) -> str:
    """What to write instead, in a few words."""
    if finding.plain is None:
        return f'"{finding.term}" — {finding.suggestion}'
    return f'"{finding.term}" — say "{finding.plain}"'


def jargon_note(text: str, glossary: Glossary | None = None) -> str:
    """One line for under a document: the jargon found and what to write instead, or all clear."""
    findings = jargon_in(text, glossary)
    if not findings:
        return "Plain English check: no jargon or unexplained initials found."
    return (
        "Plain English check, so the family can follow: "
        + "; ".join(advice(f) for f in findings)
        + "."
    )


@dataclass(frozen=True)
class Readability:
    """How easy a text is to read: Flesch reading ease (0–100, higher is easier) in words.

    Computed here with pyphen's syllables rather than with textstat, which for English fetches
    NLTK's pronouncing dictionary from the internet the first time it runs.
    """

    score: float

    @property
    def words(self) -> str:
        """The score with what it means for a reader."""
        bands = (
            (80, "easy: most 11 to 12 year olds can follow it"),
            (70, "fairly easy: a reading age of about 13"),
            (60, "plain English: a reading age of about 13 to 15, which most parents can follow"),
            (50, "fairly hard: a reading age of about 15 to 17; shorter sentences would help"),
            (0, "hard: shorter sentences and everyday words would help the family follow it"),
        )
        meaning = next(text for floor, text in bands if self.score >= floor)
        return f"Flesch reading ease {self.score:.0f} — {meaning}"


_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


@cache
def _hyphenator() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="en_GB")


def _syllables(word: str) -> int:
    """Syllables in a word, from where British English hyphenation may break it."""
    return len(_hyphenator().positions(word.lower())) + 1


def readability(text: str) -> Readability | None:
    """Flesch reading ease of `text`, or None when there are too few words to say.

    206.835 − 1.015 × (words per sentence) − 84.6 × (syllables per word). A line that does not
    end in a full stop (a list item, a heading) counts as a sentence of its own.
    """
    words = _WORD.findall(text)
    if len(words) < 20:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    sentences = len(_SENTENCE_END.findall(text)) + sum(
        not line.endswith((".", "!", "?")) for line in lines
    )
    syllables = sum(_syllables(word) for word in words)
    score = 206.835 - 1.015 * len(words) / max(sentences, 1) - 84.6 * syllables / len(words)
    return Readability(max(0.0, min(100.0, score)))
