"""CBEC retail-import (零售进口) tax of one declaration (dossier §3.1).

Dutiable value. A line's dutiable value is its `totalPrice` plus its share of the head's
`freight` + `insuredFee` ("retail price + freight + insurance"). The order's `discount` is NOT
deducted by default (§3.1: non-cash deductions are taxed; `goodsValue` already reflects real
price cuts); `TaxSettings.discount_lowers_dutiable_value=True` deducts it, for a broker who
rules otherwise. The head amount (freight + insurance [- discount]) is allocated to the lines
pro rata to their `totalPrice`, each share rounded to the fen, and the last line taking part
gets the remainder, so the shares add up exactly to the head amount. Zero-price gift lines take
no share (unless every line is zero-priced: then the last line takes it all).

Regimes, decided by `customs.domain.quota.check_quota` on the declaration's dutiable value
(the amount that counts toward the buyer's annual quota, `quota_amount`):
- within the single-transaction and annual limits: duty 0, VAT and consumption tax (CT) at 70%
  of the statutory amount: CT = DV / (1 - c) x c x 0.7, VAT = DV / (1 - c) x v x 0.7, i.e. the
  "comprehensive" rate (c + v) / (1 - c) x 70% (9.1% for VAT 13%, CT 0);
- over the single limit with one indivisible item (a single line, qty 1, flagged indivisible)
  and within the annual limit: taxed in full at general rates: duty = DV x d,
  CT = DV x (1 + d) / (1 - c) x c, VAT = DV x (1 + d) / (1 - c) x v, so the total is
  DV x (d + v + c + d x v) / (1 - c); the amount still counts toward the annual total;
- otherwise the declaration is refused from the CBEC channel: -621005 (several items over the
  single limit) or -621018 (annual limit); it would have to clear as general trade.

Rounding. ONE rule: ROUND_HALF_UP to the fen (0.01 CNY), applied once per tax type per line to
the exact amount of the formula above (no rounded intermediate enters another tax's base); the
declaration's totals are the sums of the rounded line amounts, and a line's total is the sum of
its rounded taxes. Customs' own system may round duty before building the CT/VAT base, which can
differ from this by 0.01 in rare full-tax cases.

Consumption tax thresholds (high-end cosmetics, high-end watches) come from the tariff data:
a threshold compares the line's dutiable value per ml or g (`net_content`) or per piece/sheet
(`pieces`, default `qty`) with the tariff's minimum, inclusive ("at or above"). When the tariff
sets only a per-ml/g threshold and the line gives no net content, the CT applies (the declarant
must show the goods are below the threshold).

All amounts are Decimal; a float anywhere raises TypeError naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from customs.domain.quota import (
    QuotaCheck,
    QuotaLimits,
    check_quota,
    cny,
    require_decimal,
)
from customs.domain.tariff import Tariff, TariffLine

FEN = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")


def fen(amount: Decimal) -> Decimal:
    """The package's one money rounding rule: to 0.01 CNY, half up."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class TaxSettings:
    """Limits (CNY), the CBEC reduction factor and the discount rule."""

    single_transaction_limit: Decimal = Decimal("5000")
    annual_limit: Decimal = Decimal("26000")
    cbec_factor: Decimal = Decimal("0.7")
    discount_lowers_dutiable_value: bool = False
    _limits: QuotaLimits = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require_decimal("single_transaction_limit", self.single_transaction_limit)
        require_decimal("annual_limit", self.annual_limit)
        require_decimal("cbec_factor", self.cbec_factor)
        if not ZERO < self.cbec_factor <= ONE:
            raise ValueError(f"cbec_factor must be in (0, 1], got {self.cbec_factor}")
        if not isinstance(self.discount_lowers_dutiable_value, bool):
            raise TypeError("discount_lowers_dutiable_value must be a bool")
        # checks their order; made once, not for every declaration taxed
        limits = QuotaLimits(self.single_transaction_limit, self.annual_limit)
        object.__setattr__(self, "_limits", limits)

    @property
    def quota_limits(self) -> QuotaLimits:
        return self._limits


DEFAULT_SETTINGS = TaxSettings()


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One CEB621 InventoryList line as far as tax is concerned.

    `total_price` (CEB621 totalPrice) is the value taxed; `unit_price` is carried for the record
    and not re-multiplied (totalPrice = price x qty is the business validator's rule X1).
    `indivisible`: the caller asserts the item cannot be split (a watch, a handbag); only a
    single line with qty 1 flagged indivisible may exceed the single-transaction limit.
    `net_content`: the line's total content in ml or g, and `pieces`: its total count of
    pieces/sheets (default `qty`); both only matter for consumption-tax thresholds.
    """

    gnum: int
    gcode: str
    item_name: str
    qty: Decimal
    unit_price: Decimal
    total_price: Decimal
    indivisible: bool = False
    net_content: Decimal | None = None
    pieces: Decimal | None = None

    def __post_init__(self) -> None:
        if isinstance(self.gnum, bool) or not isinstance(self.gnum, int) or self.gnum < 1:
            raise ValueError(f"gnum must be a line number from 1, got {self.gnum!r}")
        if len(self.gcode) != 10 or not self.gcode.isascii() or not self.gcode.isdigit():
            raise ValueError(f"line {self.gnum}: gcode must be 10 digits, got {self.gcode!r}")
        for name in ("qty", "unit_price", "total_price"):
            require_decimal(name, getattr(self, name))
        for name in ("net_content", "pieces"):
            value = getattr(self, name)
            if value is not None and require_decimal(name, value) == 0:
                raise ValueError(f"line {self.gnum}: {name} must be > 0 when given")
        if self.qty == 0:
            raise ValueError(f"line {self.gnum}: qty must be > 0")
        if not isinstance(self.indivisible, bool):
            raise TypeError(f"indivisible must be a bool, not {type(self.indivisible).__name__}")


@dataclass(frozen=True, slots=True)
class HeadAmounts:
    """Head amounts: CEB621 `freight` and `insuredFee`, CEB311 `discount`."""

    freight: Decimal = ZERO
    insured_fee: Decimal = ZERO
    discount: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("freight", "insured_fee", "discount"):
            require_decimal(name, getattr(self, name))


class TaxRegime(StrEnum):
    CBEC = "cbec"  # duty 0, VAT and CT at the reduced factor
    FULL = "full"  # single indivisible item over the single-transaction limit


@dataclass(frozen=True, slots=True)
class LineTax:
    """One line's tax (CEB816 TaxListRd: taxPrice, customsTax, valueAddedTax, consumptionTax).

    The rates are those applied: `duty_rate` is 0 under the CBEC regime, `consumption_rate` is
    0 when the goods are below the tariff's CT threshold.
    """

    gnum: int
    gcode: str
    item_name: str
    allocated: Decimal  # this line's share of freight + insurance (- discount)
    dutiable_value: Decimal
    duty_rate: Decimal
    vat_rate: Decimal
    consumption_rate: Decimal
    duty: Decimal
    vat: Decimal
    consumption_tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.duty + self.vat + self.consumption_tax


@dataclass(frozen=True, slots=True)
class TaxAssessment:
    """An admitted declaration's tax. Totals are sums of the rounded line amounts.

    `quota_amount` is what counts toward the buyer's annual total: the declaration's dutiable
    value (retail price + freight + insurance, §3.1), whichever regime applies.
    """

    regime: TaxRegime
    lines: tuple[LineTax, ...]
    dutiable_value: Decimal
    duty: Decimal
    vat: Decimal
    consumption_tax: Decimal
    quota: QuotaCheck

    @property
    def admitted(self) -> bool:
        return True

    @property
    def total_tax(self) -> Decimal:
        return self.duty + self.vat + self.consumption_tax

    @property
    def quota_amount(self) -> Decimal:
        return self.dutiable_value


@dataclass(frozen=True, slots=True)
class TaxRefusal:
    """The declaration cannot clear through the CBEC channel (-621005 or -621018)."""

    return_status: int
    message: str
    dutiable_value: Decimal
    quota: QuotaCheck

    @property
    def admitted(self) -> bool:
        return False


TaxResult = TaxAssessment | TaxRefusal


def assess_tax(
    lines: Sequence[TaxLine],
    amounts: HeadAmounts,
    *,
    tariff: Tariff,
    year: int,
    used_this_year: Decimal,
    settings: TaxSettings = DEFAULT_SETTINGS,
) -> TaxResult:
    """Tax one declaration for a buyer who has used `used_this_year` of `year`'s quota.

    Raises `UnknownHsCode` (naming the code) when a line's gcode is not in the tariff,
    TypeError for a non-Decimal amount, ValueError for an inconsistent declaration.
    """
    if not lines:
        raise ValueError("a declaration has at least one line")
    gnums = [line.gnum for line in lines]
    if len(set(gnums)) != len(gnums):
        raise ValueError(f"duplicate gnum in {gnums}")
    require_decimal("used_this_year", used_this_year)
    with localcontext() as ctx:
        ctx.prec = 38
        rows = [tariff.lookup(line.gcode) for line in lines]
        head = amounts.freight + amounts.insured_fee
        if settings.discount_lowers_dutiable_value:
            head -= amounts.discount
        shares = allocate(head, [line.total_price for line in lines])
        values = [line.total_price + share for line, share in zip(lines, shares, strict=True)]
        for line, value in zip(lines, values, strict=True):
            if value < 0:
                raise ValueError(
                    f"line {line.gnum}: dutiable value {cny(value)} is negative "
                    f"(discount {cny(amounts.discount)} exceeds the goods and charges)"
                )
        dutiable_value = sum(values, ZERO)
        single_item = len(lines) == 1 and lines[0].qty == 1 and lines[0].indivisible
        quota = check_quota(
            year=year,
            used=used_this_year,
            amount=dutiable_value,
            single_item=single_item,
            limits=settings.quota_limits,
        )
        status = quota.return_status
        if status is not None:
            return TaxRefusal(status, quota.message, dutiable_value, quota)
        regime = TaxRegime.FULL if quota.full_tax else TaxRegime.CBEC
        taxed = tuple(
            _line_tax(
                line, row, share=share, value=value, regime=regime, cbec_factor=settings.cbec_factor
            )
            for line, row, share, value in zip(lines, rows, shares, values, strict=True)
        )
        return TaxAssessment(
            regime=regime,
            lines=taxed,
            dutiable_value=dutiable_value,
            duty=sum((t.duty for t in taxed), ZERO),
            vat=sum((t.vat for t in taxed), ZERO),
            consumption_tax=sum((t.consumption_tax for t in taxed), ZERO),
            quota=quota,
        )


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Split `amount` pro rata to `weights`: shares rounded to the fen, remainder on the last.

    Only lines with a positive weight take a share; the remainder goes to the last of them
    (to the last line when no weight is positive). The shares always add up to `amount`.
    """
    if not weights:
        raise ValueError("nothing to allocate to")
    total = sum(weights, ZERO)
    taking = [i for i, w in enumerate(weights) if w > 0] or [len(weights) - 1]
    shares = [ZERO] * len(weights)
    for i in taking[:-1]:
        shares[i] = fen(amount * weights[i] / total)
    shares[taking[-1]] = amount - sum(shares, ZERO)
    return tuple(shares)


def consumption_rate_applied(row: TariffLine, line: TaxLine, dutiable_value: Decimal) -> Decimal:
    """The tariff's CT rate, or 0 when the line is below the tariff's price threshold."""
    if row.consumption_rate == 0 or not row.has_ct_threshold:
        return row.consumption_rate
    if row.ct_min_price_per_ml_g is not None and line.net_content is not None:
        high_end = dutiable_value / line.net_content >= row.ct_min_price_per_ml_g
    elif row.ct_min_price_per_piece is not None:
        pieces = line.pieces if line.pieces is not None else line.qty
        high_end = dutiable_value / pieces >= row.ct_min_price_per_piece
    else:
        high_end = True  # no measure to compare: the CT applies
    return row.consumption_rate if high_end else ZERO


def _line_tax(
    line: TaxLine,
    row: TariffLine,
    *,
    share: Decimal,
    value: Decimal,
    regime: TaxRegime,
    cbec_factor: Decimal,
) -> LineTax:
    ct_rate = consumption_rate_applied(row, line, value)
    full = regime is TaxRegime.FULL
    duty_rate = row.duty_rate if full else ZERO
    factor = ONE if full else cbec_factor
    base = value * (ONE + duty_rate) / (ONE - ct_rate)  # the CT and VAT base
    return LineTax(
        gnum=line.gnum,
        gcode=line.gcode,
        item_name=line.item_name,
        allocated=share,
        dutiable_value=value,
        duty_rate=duty_rate,
        vat_rate=row.vat_rate,
        consumption_rate=ct_rate,
        duty=fen(value * duty_rate),
        vat=fen(base * row.vat_rate * factor),
        consumption_tax=fen(base * ct_rate * factor),
    )
