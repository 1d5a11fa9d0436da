"""The /coregroup grammar's building blocks: tokens, mentions, case references, keywords."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from rapidfuzz import process

from bot.core.errors import BadInput

# Case references look like CP-2026-0142, CP/2026/142, ABC-12345: letters, a separator, digits.
REFERENCE = re.compile(r"^[A-Za-z]{1,6}[-/][0-9][A-Za-z0-9/-]*$")
MENTION = re.compile(r"^(<@[^>]+>|@\S+)$")
_PLATFORM_MENTION = re.compile(r"<@[^<>]+>")
_HELD = re.compile(r"\x00(\d+)\x00")


def tokenize(text: str) -> list[str]:
    """Split like a shell, so "quoted phrases" stay together; unbalanced quotes are forgiven.

    A platform mention is one token whatever it holds: Slack's `<@U123|Megan Bowen>` keeps its
    label's space and quotes, a Teams or Playground `<@user-id-1>` stays whole.
    """
    # Smart quotes from phones and Teams are treated as plain quotes.
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    mentions: list[str] = []

    def hold(match: re.Match[str]) -> str:
        mentions.append(match.group(0))
        return f"\x00{len(mentions) - 1}\x00"

    text = _PLATFORM_MENTION.sub(hold, text.replace("\x00", ""))
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    return [_HELD.sub(lambda m: mentions[int(m.group(1))], token) for token in tokens]


def is_reference(token: str) -> bool:
    """Whether a token looks like a case reference."""
    return bool(REFERENCE.match(token))


def is_mention(token: str) -> bool:
    """Whether a token mentions a person."""
    return bool(MENTION.match(token))


def suggest(word: str, choices: list[str], *, cutoff: int = 70) -> str | None:
    """The closest choice to a mistyped word, if any is close enough."""
    if not choices:
        return None
    best = process.extractOne(word.lower(), choices, score_cutoff=cutoff)
    return best[0] if best else None


def pick(word: str, choices: dict[str, str], *, what: str, example: str) -> str:
    """Match `word` to one of `choices` (alias → value), with a suggestion when mistyped."""
    key = word.lower().strip()
    if key in choices:
        return choices[key]
    close = suggest(key, list(choices))
    hint = f"Did you mean {close}? " if close else ""
    options = ", ".join(sorted(set(choices.values())))
    raise BadInput(
        f"I don't know the {what} '{word}'.", hint=f"{hint}Use one of: {options}. {example}"
    )


@dataclass
class Args:
    """The words after a subcommand, with helpers to take them apart."""

    tokens: list[str]
    raw: str = ""
    consumed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def peek(self) -> str | None:
        """The next word, without taking it."""
        return self.tokens[0] if self.tokens else None

    def take(self) -> str | None:
        """Take the next word, or None when there is none."""
        if not self.tokens:
            return None
        word = self.tokens.pop(0)
        self.consumed.append(word)
        return word

    def need(self, what: str, example: str) -> str:
        """Take the next word or explain what is missing."""
        word = self.take()
        if word is None:
            raise BadInput(f"Please give {what}.", hint=f"For example: `{example}`")
        return word

    def take_keyword(self, *words: str) -> bool:
        """Take the next word if it is one of `words` (case-insensitive)."""
        nxt = self.peek()
        if nxt is not None and nxt.lower() in words:
            self.take()
            return True
        return False

    def option(self, *names: str) -> str | None:
        """Remove `name value` or `name=value` anywhere in the words and return the value."""
        for i, tok in enumerate(self.tokens):
            low = tok.lower()
            for name in names:
                if low.startswith(name + "=") and len(tok) > len(name) + 1:
                    del self.tokens[i]
                    return tok[len(name) + 1 :]
                if low == name and i + 1 < len(self.tokens):
                    value = self.tokens[i + 1]
                    del self.tokens[i : i + 2]
                    return value
        return None

    def split_at(self, *words: str) -> tuple[str, str | None]:
        """Join the words, splitting at the last of `words` (e.g. 'by'): (before, after)."""
        for i in range(len(self.tokens) - 1, -1, -1):
            if self.tokens[i].lower() in words:
                before = " ".join(self.tokens[:i])
                after = " ".join(self.tokens[i + 1 :])
                self.tokens.clear()
                return before, after or None
        before = " ".join(self.tokens)
        self.tokens.clear()
        return before, None

    def rest(self) -> str:
        """All remaining words as one string (and take them)."""
        text = " ".join(self.tokens)
        self.tokens.clear()
        return text

    def take_int(self, what: str, example: str) -> int:
        """Take a number like 3 or #3."""
        word = self.need(what, example)
        try:
            return int(word.lstrip("#"))
        except ValueError:
            raise BadInput(
                f"'{word}' isn't a number for {what}.", hint=f"For example: `{example}`"
            ) from None
