"""Risk rule sets as files: thresholds and lists change without a code change.

A rule set is a JSON file (see `risk/rules/default.json`); its `version` is recorded with every
assessment made under it. Amounts and rates are strings, so they stay exact decimals.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from risk.domain.rules import RuleSet

Share = Annotated[Decimal, Field(ge=0, le=1)]
Points = Annotated[int, Field(ge=0, le=100)]


class RuleSetInvalid(ValueError):
    """A rule set file breaks a rule; the message names the field."""


class _RuleSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=40)
    review_from: Points
    inspect_from: Points
    random_inspection_rate: Share
    high_value: Annotated[Decimal, Field(gt=0)]
    annual_limit: Annotated[Decimal, Field(gt=0)]
    quota_near_share: Share
    prohibited_keywords: tuple[Annotated[str, Field(min_length=1)], ...]
    restricted_hs_prefixes: tuple[Annotated[str, Field(pattern=r"^\d{2,10}$")], ...]
    new_enterprise_points: Points
    high_value_points: Points
    quota_near_points: Points

    @model_validator(mode="after")
    def _ordered(self) -> _RuleSetFile:
        if self.review_from > self.inspect_from:
            raise ValueError("review_from must not be above inspect_from")
        return self


def load_ruleset(text: str) -> RuleSet:
    """A rule set from its JSON text, or RuleSetInvalid naming each field and rule broken."""
    try:
        parsed = _RuleSetFile.model_validate_json(text, strict=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors()
        )
        raise RuleSetInvalid(f"rule set: {problems}") from None
    return RuleSet(**parsed.model_dump())


def default_ruleset_text() -> str:
    """The rule set shipped with risk."""
    return (resources.files("risk") / "rules" / "default.json").read_text(encoding="utf-8")


def ruleset_from(path: str | None, *, random_inspection_rate: Decimal | None = None) -> RuleSet:
    """The rule set in `path`, else the shipped one (its random rate overridable by settings)."""
    if path:
        return load_ruleset(Path(path).read_text(encoding="utf-8"))
    rules = load_ruleset(default_ruleset_text())
    if random_inspection_rate is None:
        return rules
    return replace(rules, random_inspection_rate=random_inspection_rate)
