"""Errors customs answers with, carrying the spec's codes; no HTTP status here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One precise problem: where (element path, line), which rule, and the offending value."""

    path: str
    rule: str
    message: str
    line: int | None = None
    value: str | None = None


class MessageFormatError(Exception):
    """The message cannot be accepted at all (answered like a CEB900 receipt).

    `code` is the DXP transport code: 0001 bad message format, 0002 fails the schema,
    0999 another format error.
    """

    def __init__(self, *, code: str, title: str, errors: tuple[FieldError, ...] = ()) -> None:
        self.code = code
        self.title = title
        self.errors = errors
        super().__init__(str(self))

    def __str__(self) -> str:
        first = f": {self.errors[0].path}: {self.errors[0].message}" if self.errors else ""
        return f"{self.code} {self.title}{first}"


class MessageTooLarge(MessageFormatError):
    """The body is over the size cap; nothing of it was parsed."""


class UnsupportedMessage(MessageFormatError):
    """A well-formed CEB message of a type this platform does not accept (yet)."""
