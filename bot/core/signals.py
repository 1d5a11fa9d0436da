"""Words and phrases that may mean a new concern or a disclosure, found in free text by words.

The list is data (`concern_signals.txt` beside this module, or the council's own file named by
`CONCERN_SIGNALS_FILE`), matched on whole words, never by a model and never as a guess that
changes anything: a match only makes the bot ask the author whether the chair should know now.

File format: one phrase per line; blank lines and lines starting with `#` are ignored; matching
ignores case; a `*` at the end of a word matches any ending (`bruis*`: bruise, bruised, bruising).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

BUILT_IN = "concern_signals.txt"
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_PHRASE_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*\*?")


class SignalsError(ValueError):
    """A signals file that cannot be used; the message names the line."""


def words_of(text: str) -> list[str]:
    """The words of some text, lower case, with curly apostrophes made straight."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


@dataclass(frozen=True)
class ConcernSignals:
    """The phrases to look for, each as its words."""

    phrases: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, text: str) -> ConcernSignals:
        """Read the file format; SignalsError for a line that is not a phrase, or no phrases."""
        phrases: list[tuple[str, ...]] = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = tuple(line.lower().replace("\u2019", "'").split())
            bad = [w for w in words if not _PHRASE_WORD.fullmatch(w) or w == "*"]
            if bad:
                raise SignalsError(
                    f"line {number}: {bad[0]!r} is not a word; use letters, digits, ' or -, "
                    "with an optional * at the end"
                )
            phrases.append(words)
        if not phrases:
            raise SignalsError("the file lists no phrases")
        return cls(tuple(dict.fromkeys(phrases)))

    @classmethod
    def load(cls, path: Path) -> ConcernSignals:
        """The signals in a file; SignalsError if it cannot be read or used."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SignalsError(f"cannot read {path}: {exc}") from None
        return cls.parse(text)

    def find(self, text: str) -> list[str]:
        """The phrases `text` contains, as written in the list (empty when none)."""
        words = words_of(text)
        found = []
        for phrase in self.phrases:
            size = len(phrase)
            if any(
                all(_matches(words[i + j], phrase[j]) for j in range(size))
                for i in range(len(words) - size + 1)
            ):
                found.append(" ".join(phrase))
        return found


def _matches(word: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


@cache
def built_in_signals() -> ConcernSignals:
    """The list that ships with the bot."""
    text = resources.files(__package__).joinpath(BUILT_IN).read_text(encoding="utf-8")
    return ConcernSignals.parse(text)
