"""Generated platform declarations with a known risk signal, for tests, the scoring benchmark
and demonstrations (deterministic for a seed; no real data).

The signal: a few e-commerce enterprises are "bad" (most of their inspections find something),
some HS codes are riskier, and goods declared far below their usual unit price are often found
undervalued. Everything else is noise.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from schemas.events import DeclarationReadyV1, DeclaredLine

HS_CODES = (
    *(f"{code}0000" for code in range(330410, 330430)),
    "1901101000",
    "6403990000",
    "8517120000",
    "9503000000",
)
RISKY_HS = frozenset(HS_CODES[-3:])
COUNTRIES = ("116", "142", "133", "344", "502", "303")


@dataclass(frozen=True, slots=True)
class Generated:
    """A declaration and what its inspection would find."""

    event: DeclarationReadyV1
    found: bool


def declarations(count: int, seed: int, *, sellers: int = 40, bad: int = 6) -> Iterator[Generated]:
    """`count` declarations in time order, each with its inspection outcome."""
    draw = random.Random(seed)  # noqa: S311 - generated test data, not secrets
    bad_sellers = {f"33019600{n:02d}" for n in range(bad)}
    usual_price = {hs: 50 + 40 * i for i, hs in enumerate(HS_CODES)}
    for _ in range(count):
        seller = f"33019600{draw.randrange(sellers):02d}"
        hs = draw.choice(HS_CODES)
        undervalued = draw.random() < 0.15
        price = usual_price[hs] * math.exp(draw.gauss(0, 0.25)) * (0.3 if undervalued else 1.0)
        qty = draw.randint(1, 4)
        unit = Decimal(str(round(price, 2)))
        total = unit * qty
        logit = -2.6 + 2.6 * (seller in bad_sellers) + 1.0 * (hs in RISKY_HS) + 2.2 * undervalued
        found = draw.random() < 1 / (1 + math.exp(-logit))
        event = DeclarationReadyV1(
            declaration_id=uuid.UUID(int=draw.getrandbits(128), version=4),
            order_no=f"ORD{draw.getrandbits(40):012d}",
            ebp_code="3301960099",
            ebc_code=seller,
            logistics_code=f"33019800{draw.randrange(5):02d}",
            trade_mode="9610",
            buyer_key=f"buyer-{draw.randrange(count // 3 + 1)}",
            goods_value=total,
            dutiable_value=total,
            tax_total=(total * Decimal("0.091")).quantize(Decimal("0.01")),
            buyer_used_this_year=total,
            agent_code=f"33019700{draw.randrange(8):02d}",
            departure_country=draw.choice(COUNTRIES),
            transport_mode=draw.choice(("4", "5")),
            net_weight=Decimal(qty) * Decimal("0.5"),
            lines=(
                DeclaredLine(
                    gnum=1,
                    gcode=hs,
                    item_name="商品",
                    qty=Decimal(qty),
                    unit_price=unit,
                    total_price=total,
                    country=draw.choice(COUNTRIES),
                ),
            ),
        )
        yield Generated(event, found)
