"""The /coregroup grammar's tokens: quoted phrases and platform mentions stay whole."""

from __future__ import annotations

import pytest

from commands.parse import is_mention, tokenize


@pytest.mark.parametrize(
    ("typed", "tokens"),
    [
        # Slack escapes a mention with the person's name, spaces and all.
        ("add <@U0123|Megan Bowen> parent", ["add", "<@U0123|Megan Bowen>", "parent"]),
        ('add <@U0123|O\'Brien "Mo"> hv', ["add", '<@U0123|O\'Brien "Mo">', "hv"]),
        # Teams and the Agents Playground: the adapter turns mention entities into <@id>.
        ("add <@user-id-1> parent", ["add", "<@user-id-1>", "parent"]),
        ('outcome add "see <@29:a> first"', ["outcome", "add", "see <@29:a> first"]),
        # The local chat's one-word names.
        ("add @priya school", ["add", "@priya", "school"]),
    ],
)
def test_a_mention_is_one_token(typed: str, tokens: list[str]) -> None:
    assert tokenize(typed) == tokens
    assert all(is_mention(t) for t in tokens if t.startswith(("<@", "@")))
