"""Typed errors a user can act on; the dispatch boundary turns them into a private message."""

from dataclasses import dataclass


class UserError(Exception):
    """Something the person asking can fix; the message says how."""

    def __init__(
        self, message: str, *, hint: str = "", family: tuple[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # (message, hint) in family words, for a parent, carer or young person.
        self.family = family

    def worded(self, *, family: bool) -> tuple[str, str]:
        """The message and hint, in family words when the person asking is family."""
        return self.family if family and self.family is not None else (self.message, self.hint)

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class BadInput(UserError):
    """The request could not be understood or is invalid."""


class NotFound(UserError):
    """Nothing by that name is visible to the person asking.

    Deliberately identical for "does not exist" and "exists but you may not see it",
    so a non-member learns nothing about a group.
    """


class NotAllowed(UserError):
    """The person may see the thing but may not do this to it."""


class Conflict(UserError):
    """The request clashes with the current state (e.g. minutes already published)."""


@dataclass(frozen=True)
class Choice:
    """One person a typed name could mean, labelled only with what the actor may know."""

    person_id: int
    label: str


class Ambiguous(UserError):
    """A typed name could mean more than one person, or someone outside the group: nothing is
    done, and the actor is asked to choose (one button per person) or to mention them."""

    def __init__(self, message: str, *, token: str, choices: tuple[Choice, ...], hint: str = ""):
        super().__init__(message, hint=hint)
        self.token = token
        self.choices = choices
