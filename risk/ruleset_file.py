"""Risk rule sets as JSON documents: thresholds and lists change without a code change.

A rule set is a JSON document (see `risk/rules/default.json`), from a file or posted to the risk
API; both are validated here, the same way. Its `version` is recorded with every assessment made
under it. Amounts and rates are strings, so they stay exact decimals.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from risk.domain.rules import HsKeywords, RuleSet, WatchlistEntry

Share = Annotated[Decimal, Field(ge=0, le=1)]
Points = Annotated[int, Field(ge=0, le=100)]
Count = Annotated[int, Field(ge=1, le=100_000)]
HsPrefix = Annotated[str, Field(pattern=r"^\d{2,10}$")]
Keyword = Annotated[str, Field(min_length=1, max_length=60)]

_KEY = r"^[0-9a-f]{64}$"
_ENTERPRISE = r"^[0-9A-Za-z]{1,18}$"


class RuleSetInvalid(ValueError):
    """A rule set breaks a rule; the message and `errors` name each field and rule."""

    def __init__(self, errors: list[tuple[tuple[str, ...], str, str]]) -> None:
        self.errors = errors  # (location, rule, message)
        super().__init__(
            "rule set: "
            + "; ".join(f"{'.'.join(loc) or 'file'}: {message}" for loc, _, message in errors)
        )


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _HsKeywords(_Frozen):
    keywords: tuple[Keyword, ...] = Field(min_length=1)
    hs_prefixes: tuple[HsPrefix, ...] = Field(min_length=1)


class _WatchlistEntry(_Frozen):
    kind: Literal["enterprise", "buyer", "phone", "address"]
    value: str
    reason: str = Field(min_length=1, max_length=200)
    points: Points | None = None

    @field_validator("value")
    @classmethod
    def _value_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind == "enterprise" and not re.match(_ENTERPRISE, value):
            raise ValueError("an enterprise code is 1 to 18 letters or digits")
        if kind in ("buyer", "phone", "address") and not re.match(_KEY, value):
            raise ValueError(f"a {kind} key is the 64 hex digits customs gives it")
        return value


class _RuleSetFile(_Frozen):
    version: str = Field(min_length=1, max_length=40)
    review_from: Points
    inspect_from: Points
    random_inspection_rate: Share
    high_value: Annotated[Decimal, Field(gt=0)]
    annual_limit: Annotated[Decimal, Field(gt=0)]
    quota_near_share: Share
    prohibited_keywords: tuple[Keyword, ...]
    restricted_hs_prefixes: tuple[HsPrefix, ...]
    new_enterprise_points: Points
    high_value_points: Points
    quota_near_points: Points
    new_platform_points: Points
    hs_keywords: tuple[_HsKeywords, ...]
    hs_mismatch_points: Points
    watchlist: tuple[_WatchlistEntry, ...]
    watchlist_points: Points
    buyer_day_max: Count
    buyer_week_max: Count
    buyer_day_points: Points
    buyer_week_points: Points
    shared_contact_window_days: Annotated[int, Field(ge=1, le=3660)]
    shared_contact_max_buyers: Count
    shared_contact_points: Points
    undervaluation_min_samples: Count
    undervaluation_ratio: Share
    undervaluation_mad_factor: Annotated[Decimal, Field(ge=0, le=100)]
    undervaluation_points: Points

    @field_validator("inspect_from")
    @classmethod
    def _ordered(cls, inspect_from: int, info: ValidationInfo) -> int:
        review_from = info.data.get("review_from")
        if review_from is not None and review_from > inspect_from:
            raise ValueError("review_from must not be above inspect_from")
        return inspect_from

    @field_validator("buyer_week_max")
    @classmethod
    def _week_covers_day(cls, week: int, info: ValidationInfo) -> int:
        day = info.data.get("buyer_day_max")
        if day is not None and week < day:
            raise ValueError("buyer_week_max must not be below buyer_day_max")
        return week


def parse_ruleset(text: str) -> tuple[RuleSet, dict[str, Any]]:
    """A rule set from its JSON text, and its normalised document (what is stored and shown);
    RuleSetInvalid naming each field and rule broken."""
    try:
        parsed = _RuleSetFile.model_validate_json(text, strict=False)
    except ValidationError as exc:
        raise RuleSetInvalid(
            [
                (tuple(str(p) for p in error["loc"]), error["type"], error["msg"])
                for error in exc.errors()
            ]
        ) from None
    document = parsed.model_dump(mode="json")
    fields = parsed.model_dump()
    fields["hs_keywords"] = tuple(HsKeywords(**entry) for entry in fields["hs_keywords"])
    fields["watchlist"] = tuple(WatchlistEntry(**entry) for entry in fields["watchlist"])
    return RuleSet(**fields), document


def load_ruleset(text: str) -> RuleSet:
    """A rule set from its JSON text, or RuleSetInvalid naming each field and rule broken."""
    return parse_ruleset(text)[0]


def ruleset_document(rules: RuleSet) -> dict[str, Any]:
    """The JSON document of a rule set (the inverse of `parse_ruleset`)."""
    fields = {name: getattr(rules, name) for name in _RuleSetFile.model_fields}
    fields["hs_keywords"] = [
        {"keywords": e.keywords, "hs_prefixes": e.hs_prefixes} for e in rules.hs_keywords
    ]
    fields["watchlist"] = [
        {"kind": e.kind, "value": e.value, "reason": e.reason, "points": e.points}
        for e in rules.watchlist
    ]
    return _RuleSetFile.model_validate(fields).model_dump(mode="json")


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


def canonical_json(document: dict[str, Any]) -> str:
    """A document as stored: stable key order, Chinese kept readable."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True)
