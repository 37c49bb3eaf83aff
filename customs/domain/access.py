"""Who sees what: the visibility scope the gateway sends with every request it forwards.

The gateway authenticates the caller and tells customs, in `X-Clearway-Scope`, what it may see:
`all` (a customs officer: every declaration, personal data masked), `codes=A,B` (an enterprise:
only objects carrying one of its customs codes) or `none`. A request without the header comes
from inside the platform (the service network), which sees everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SCOPE_HEADER = "X-Clearway-Scope"
ACTOR_HEADER = "X-Clearway-Actor"
PRINCIPAL_HEADER = "X-Clearway-Principal"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a caller may see: every object (codes None) or those carrying one of `codes`."""

    codes: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        return self.codes is None

    def sees(self, codes: Iterable[str]) -> bool:
        return self.codes is None or not self.codes.isdisjoint(codes)


EVERYTHING = Scope()


class ScopeInvalid(ValueError):
    """The scope header is not one of its three forms."""


def parse_scope(header: str | None) -> Scope:
    """The scope of a request from its header (absent: an internal caller, sees everything)."""
    if header is None or header == "all":
        return EVERYTHING
    if header == "none":
        return Scope(frozenset())
    if header.startswith("codes="):
        codes = frozenset(c for c in header[len("codes=") :].split(",") if c)
        return Scope(codes)
    raise ScopeInvalid(f"{SCOPE_HEADER} is all, none or codes=<code>,<code>")


class OutOfScope(PermissionError):
    """A caller acting for an enterprise code that is not its own (403)."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field} {code} is not one of the enterprise codes you act for")
        self.field, self.code = field, code
