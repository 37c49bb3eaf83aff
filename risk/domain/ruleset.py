"""The rule set: every threshold, list and points value the rules use, under one version.

The defaults here are the shipped rule set (`risk/rules/default.json`, a test keeps them equal);
deployments change them in a file or through the risk API, never in code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

WatchKind = Literal["enterprise", "buyer", "phone", "address"]


@dataclass(frozen=True, slots=True)
class HsKeywords:
    """Item-name keywords (any language, matched case-blind inside the name) and the HS code
    prefixes goods so named are declared under."""

    keywords: tuple[str, ...]
    hs_prefixes: tuple[str, ...]
    # Made from the keywords once, not for every line assessed (`hits`).
    _folded: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _any: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = tuple(keyword.casefold() for keyword in self.keywords)
        object.__setattr__(self, "_folded", folded)
        object.__setattr__(self, "_any", re.compile("|".join(map(re.escape, folded))))

    def hits(self, folded_name: str) -> list[str]:
        """The keywords inside a case-folded item name (`str.casefold`), in the entry's order.
        Most names hold none of an entry's keywords: one search of the name says so."""
        if self._any.search(folded_name) is None:
            return []
        return [k for k, f in zip(self.keywords, self._folded, strict=True) if f in folded_name]


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """A party risk watches, and why: an enterprise code (as platform, seller or carrier), or the
    keyed pseudonym customs gives a buyer, a phone or an address."""

    kind: WatchKind
    value: str
    reason: str
    points: int | None = None  # None: the rule set's watchlist_points


DEFAULT_HS_KEYWORDS: tuple[HsKeywords, ...] = (
    HsKeywords(("奶粉", "配方粉", "milk powder", "infant formula"), ("0402", "1901")),
    HsKeywords(("口红", "唇膏", "lipstick"), ("3304",)),
    HsKeywords(("面霜", "精华液", "face cream", "serum"), ("3304",)),
    HsKeywords(("香水", "perfume"), ("3303",)),
    HsKeywords(("洗发水", "shampoo"), ("3305",)),
    HsKeywords(("手机", "smartphone", "mobile phone"), ("8517",)),
    HsKeywords(("手机壳", "phone case"), ("3926", "4202", "8517")),
    HsKeywords(("耳机", "headphone", "earphone", "microphone"), ("8518",)),
    HsKeywords(("纸尿裤", "尿不湿", "diaper", "nappy"), ("9619",)),
    HsKeywords(("葡萄酒", "红酒", "wine"), ("2204",)),
    HsKeywords(("鱼油", "fish oil"), ("1504", "2106")),
    HsKeywords(("巧克力", "chocolate"), ("1806",)),
    HsKeywords(("蜂蜜", "honey"), ("0409",)),
    HsKeywords(("咖啡", "coffee"), ("0901", "2101")),
    HsKeywords(("猫粮", "狗粮", "pet food"), ("2309",)),
)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The thresholds and lists of the rules; versioned, so every assessment says which it used."""

    version: str = "rules-2026.11.1"
    review_from: int = 40
    inspect_from: int = 70
    random_inspection_rate: Decimal = Decimal("0.02")
    high_value: Decimal = Decimal("4000")
    annual_limit: Decimal = Decimal("26000")
    quota_near_share: Decimal = Decimal("0.8")
    prohibited_keywords: tuple[str, ...] = (
        "枪", "弹药", "毒品", "象牙", "犀牛角", "firearm", "ammunition", "ivory", "narcotic",
    )  # fmt: skip
    restricted_hs_prefixes: tuple[str, ...] = ("3004", "9303", "9304", "2402")
    new_enterprise_points: int = 25
    high_value_points: int = 30
    quota_near_points: int = 20
    # first declaration of a platform (ebpCode); new_enterprise_points is for the seller (ebcCode)
    new_platform_points: int = 10
    # HS code inconsistent with the item name
    hs_keywords: tuple[HsKeywords, ...] = DEFAULT_HS_KEYWORDS
    hs_mismatch_points: int = 30
    # watchlisted enterprises, buyers, phones and addresses
    watchlist: tuple[WatchlistEntry, ...] = ()
    watchlist_points: int = 70
    # buyer velocity: declarations per buyer in the 24 hours and 7 days up to this one (included)
    buyer_day_max: int = 3
    buyer_week_max: int = 10
    buyer_day_points: int = 25
    buyer_week_points: int = 15
    # one phone or address shared by many buyers (this one included), within a window of days
    shared_contact_window_days: int = 90
    shared_contact_max_buyers: int = 3
    shared_contact_points: int = 30
    # undervaluation against the reference unit price of the HS code and origin
    undervaluation_min_samples: int = 20
    undervaluation_ratio: Decimal = Decimal("0.5")
    undervaluation_mad_factor: Decimal = Decimal("3")
    undervaluation_points: int = 35
    # The prohibited keywords in lower case, made once (`prohibited_in`).
    _prohibited_lower: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lowered = tuple(keyword.lower() for keyword in self.prohibited_keywords)
        object.__setattr__(self, "_prohibited_lower", lowered)

    def prohibited_in(self, lowered_name: str) -> list[str]:
        """The prohibited keywords inside an item name in lower case (`str.lower`)."""
        return [
            k
            for k, lowered in zip(self.prohibited_keywords, self._prohibited_lower, strict=True)
            if lowered in lowered_name
        ]
