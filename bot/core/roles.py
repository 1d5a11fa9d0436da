"""The words people type for a role, from a data table (role_words.toml beside this module)."""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files

from storage.enums import Role

_TABLE = "role_words.toml"
_SEPARATORS = re.compile(r"[-_\s]+")


def normalise(words: str) -> str:
    """A phrase as the table keys it: lower case, no apostrophes, hyphens as spaces."""
    text = words.lower().replace("'", "").replace("\u2019", "")
    return " ".join(_SEPARATORS.sub(" ", text).strip(" ,.").split())


def _load() -> dict[str, Role]:
    table = tomllib.loads(files(__package__).joinpath(_TABLE).read_text(encoding="utf-8"))
    words: dict[str, Role] = {}
    for role, phrases in table.items():
        for phrase in phrases:
            words[normalise(phrase)] = Role(role)
    return words


ROLE_WORDS: dict[str, Role] = _load()
LONGEST = max(len(phrase.split()) for phrase in ROLE_WORDS)


def role_at_start(words: list[str]) -> tuple[Role, int] | None:
    """The role named by the first words (longest phrase first) and how many words it took."""
    for size in range(min(LONGEST, len(words)), 0, -1):
        role = ROLE_WORDS.get(normalise(" ".join(words[:size])))
        if role is not None:
            return role, size
    return None


def is_role_word(word: str) -> bool:
    """Whether a single word names a role ("parent", "hv")."""
    return normalise(word) in ROLE_WORDS
