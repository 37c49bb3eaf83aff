"""Realistic import traffic for a pilot zone: complete, consistent declarations, seeded.

    declarations = list(generate(1000, seed=7, bad_share=0.02, risky_share=0.05))
    identities = make_identities()                   # one signing key per declaring agent
    for message in messages(declarations, identities):   # CEB XML, up to 100 documents each
        post(message.body)                           # sent by message.sender

Each declaration is the four documents of one import purchase (dossier §c.3): the platform's
order (CEB311), the payment company's payment (CEB411), the logistics company's waybill (CEB511)
and the declaring agent's signed inventory (CEB621), consistent with each other (totals, buyer,
freight, weights). The goods come from a catalogue (HS code, Chinese name, price range); most
purchases are small, a few come near the 5,000 CNY single-transaction limit; buyers repeat
(Zipf-like), and a few come near the 26,000 CNY annual quota without passing it.

A share of declarations is deliberately bad, each kind with the exact answer customs must give
(`Expected`); another share carries a risky pattern for risk to notice. Everything but the
signatures (fresh keys) is a pure function of the arguments: the same seed, the same traffic.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from customs.ceb.documents import KINDS
from customs.ceb.schema import CEB_NS
from customs.ceb.signature import RSA_SHA256, generate_test_identity, sign_enveloped
from customs.ceb.writer import Sender, field_order

MAX_DOCUMENTS = 100  # per CEB message
SINGLE_LIMIT = Decimal("5000")
ANNUAL_LIMIT = Decimal("26000")
QUOTA_CEILING = Decimal("25000")  # generated buyers stay under it: quota rejections are not noise
CENT = Decimal("0.01")

MESSAGE_TYPES = {
    "order": "CEB311Message",
    "payment": "CEB411Message",
    "waybill": "CEB511Message",
    "inventory": "CEB621Message",
}
ROLES = tuple(MESSAGE_TYPES)

# Kinds of deliberately bad declarations, and of risky ones.
BAD_KINDS = ("xsd", "field-rule", "signature", "mismatch", "duplicate")
RISKY_KINDS = ("prohibited-keyword", "undervalued", "high-velocity", "high-value")


@dataclass(frozen=True, slots=True)
class Enterprise:
    """A company that files documents: its 10-character customs code and name."""

    code: str
    name: str


PLATFORMS = (
    Enterprise("3301960001", "某跨境电商平台"),
    Enterprise("3301960011", "海淘优选平台"),
    Enterprise("3301960021", "全球购商城"),
)
SELLERS = (  # e-commerce enterprises; each declares its own inventories (agentCode)
    Enterprise("3301960002", "某跨境电商企业"),
    Enterprise("3301960012", "优品国际贸易有限公司"),
    Enterprise("3301960022", "宝贝母婴进出口有限公司"),
    Enterprise("3301960032", "美妆汇跨境有限公司"),
)
PAYERS = (Enterprise("3301980001", "某支付公司"), Enterprise("3301980011", "易付通支付有限公司"))
CARRIERS = (
    Enterprise("3301980002", "某物流公司"),
    Enterprise("3301980012", "速达国际物流有限公司"),
    Enterprise("3301980022", "保税仓配物流有限公司"),
)
ENTERPRISES: tuple[Enterprise, ...] = PLATFORMS + SELLERS + PAYERS + CARRIERS


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue entry: HS code, names, unit, net kg per unit, price range, VAT, popularity."""

    gcode: str
    name: str
    model: str
    unit: str  # JGS-20: 122 can, 011 piece, 142 bottle, 025 pair, 140 box
    kg: Decimal
    low: Decimal
    high: Decimal
    vat: Decimal
    weight: int


def _p(gcode: str, name: str, model: str, unit: str, kg: str, low: int, high: int, vat: str,  # noqa: PLR0917
       weight: int) -> Product:  # fmt: skip
    return Product(gcode, name, model, unit, Decimal(kg), Decimal(low), Decimal(high),
                   Decimal(vat), weight)  # fmt: skip


CATALOGUE: tuple[Product, ...] = (
    _p("1901101000", "婴儿配方奶粉", "800g/罐|1段", "122", "0.8", 180, 420, "0.13", 22),
    _p("1901101000", "婴儿配方奶粉", "900g/罐|3段", "122", "0.9", 160, 380, "0.13", 14),
    _p("0402210000", "全脂奶粉", "1kg/袋", "011", "1.0", 60, 150, "0.09", 6),
    _p("2106909090", "维生素C咀嚼片", "120粒/瓶", "142", "0.2", 80, 260, "0.13", 9),
    _p("2106909090", "深海鱼油软胶囊", "200粒/瓶", "142", "0.3", 120, 380, "0.13", 8),
    _p("2106909090", "益生菌粉", "30袋/盒", "140", "0.1", 150, 450, "0.13", 5),
    _p("3304990000", "保湿面霜", "50ml/瓶", "142", "0.1", 200, 1200, "0.13", 7),
    _p("3304990000", "精华液", "30ml/瓶", "142", "0.1", 300, 1500, "0.13", 6),
    _p("3304990000", "补水面膜", "10片/盒", "140", "0.3", 60, 260, "0.13", 7),
    _p("3304100000", "口红", "3.5g/支", "011", "0.02", 150, 400, "0.13", 5),
    _p("3303000000", "香水", "100ml/瓶", "142", "0.3", 400, 1600, "0.13", 2),
    _p("6404110000", "运动鞋", "42码|双", "025", "0.9", 300, 1400, "0.13", 4),
    _p("6403990000", "真皮休闲鞋", "41码|双", "025", "1.0", 500, 2200, "0.13", 2),
    _p("4202210000", "真皮手提包", "中号|牛皮", "011", "0.8", 800, 4500, "0.13", 2),
    _p("8517130000", "智能手机", "256GB|黑色", "011", "0.4", 2500, 4900, "0.13", 2),
    _p("8471300000", "平板电脑", "128GB|WiFi", "011", "0.6", 2200, 4800, "0.13", 1),
    _p("9102110000", "石英手表", "不锈钢表带", "011", "0.15", 500, 3000, "0.13", 1),
    _p("9503000000", "益智积木玩具", "500块/盒", "140", "0.7", 100, 600, "0.13", 3),
    _p("2204210000", "红葡萄酒", "750ml/瓶", "142", "1.3", 120, 600, "0.13", 2),
)
_IVORY_BAG = Product(
    "4202210000", "象牙白真皮手提包", "中号|牛皮", "011", Decimal("0.8"), Decimal(800),
    Decimal(2000), Decimal("0.13"), 0,
)  # fmt: skip

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀英华慧婷"
_STREETS = ("文一路", "学院路", "中山路", "人民路", "解放路", "长江路")
_CITIES = (  # (district, address prefix)
    ("330106", "浙江省杭州市西湖区"),
    ("310115", "上海市浦东新区"),
    ("440305", "广东省深圳市南山区"),
    ("110105", "北京市朝阳区"),
    ("510107", "四川省成都市武侯区"),
    ("320106", "江苏省南京市鼓楼区"),
)


@dataclass(frozen=True, slots=True)
class Buyer:
    """A real-name buyer: resident ID (valid GB 11643 check character), name, phone, address."""

    id_number: str
    name: str
    phone: str
    address: str
    district: str


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a declaration: the enterprise that sends it, head and lines."""

    role: str  # order, payment, waybill, inventory
    sender: Enterprise
    head: Mapping[str, str]
    lines: tuple[Mapping[str, str], ...] = ()

    @property
    def message_type(self) -> str:
        return MESSAGE_TYPES[self.role]


@dataclass(frozen=True, slots=True)
class Expected:
    """What customs must answer to a declaration.

    `stage`: "decision" (a route: release, review or inspect; the inventory's receipt 800, 300
    or 500), "submission" (the message carrying `role`'s document is refused with `code`, e.g.
    0002 or -621028, and `rule` names the broken rule), "document" (that document's receipt is
    `code`, e.g. -301010), or "declaration" (the inventory's receipt is `code`, e.g. 100).
    """

    stage: str = "decision"
    code: str | None = None
    role: str | None = None
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class Declaration:
    """The documents of one import purchase, what customs must answer, and why."""

    order_no: str
    buyer: Buyer
    documents: tuple[Document, ...]
    expected: Expected = Expected()
    bad: str | None = None  # a BAD_KINDS entry
    risky: str | None = None  # a RISKY_KINDS entry
    goods_value: Decimal = Decimal(0)

    def document(self, role: str) -> Document:
        return next(d for d in self.documents if d.role == role)


# --- generating --------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _resident_id(rng: random.Random, district: str) -> str:
    birth = f"{rng.randint(1965, 2003)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"{district}{birth}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def _buyers(rng: random.Random, count: int) -> list[Buyer]:
    """`count` buyers, no two with one ID number: customs counts the annual quota by ID number,
    so two drawn with the same one (79 of 100,000 drawn at random) would be one buyer spending
    both their budgets, past the quota the traffic keeps each under."""
    pool: list[Buyer] = []
    taken: set[str] = set()
    while len(pool) < count:
        buyer = _buyer(rng)
        if buyer.id_number not in taken:
            taken.add(buyer.id_number)
            pool.append(buyer)
    return pool


def _buyer(rng: random.Random) -> Buyer:
    district, city = rng.choice(_CITIES)
    name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
    return Buyer(
        id_number=_resident_id(rng, district),
        name=name,
        phone=f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
        address=f"{city}{rng.choice(_STREETS)}{rng.randint(1, 999)}号",
        district=district,
    )


@dataclass
class _Line:
    product: Product
    qty: int
    price: Decimal

    @property
    def total(self) -> Decimal:
        return (self.price * self.qty).quantize(CENT)


def _price(rng: random.Random, product: Product) -> Decimal:
    # log-uniform within the range: most prices are near the low end
    low, high = float(product.low), float(product.high)
    value = low * (high / low) ** rng.random()
    return Decimal(f"{value:.1f}0") if rng.random() < 0.5 else Decimal(f"{int(value)}.90")


_POPULARITY = list(accumulate(p.weight for p in CATALOGUE))


def _pick_product(rng: random.Random) -> Product:
    return rng.choices(CATALOGUE, cum_weights=_POPULARITY)[0]


def _basket(rng: random.Random, budget: Decimal) -> list[_Line]:
    """1-3 lines, mostly one item of one product, staying within `budget`."""
    lines: list[_Line] = []
    for _ in range(rng.choices((1, 2, 3), weights=(70, 22, 8))[0]):
        product = _pick_product(rng)
        if any(line.product == product for line in lines):
            continue
        qty = rng.choices((1, 2, 3, 4, 6), weights=(58, 25, 10, 4, 3))[0]
        price = _price(rng, product)
        while qty > 1 and price * qty > budget:
            qty -= 1
        if sum((line.total for line in lines), Decimal(0)) + price * qty <= budget:
            lines.append(_Line(product, qty, price))
    if not lines:  # the cheapest goods always fit
        product = min(CATALOGUE, key=lambda p: p.low)
        lines.append(_Line(product, 1, product.low))
    return lines


@dataclass
class _Plan:
    """What one declaration will be, before its documents are written."""

    index: int
    buyer: int
    lines: list[_Line]
    bad: str | None = None
    risky: str | None = None
    time_s: int = 0


def generate(
    n: int,
    seed: int = 1,
    *,
    bad_share: float = 0.0,
    risky_share: float = 0.0,
    buyers: int | None = None,
    day: str = "20250618",
    prefix: str | None = None,
) -> Iterator[Declaration]:
    """`n` import declarations of one day (`day`, YYYYMMDD), in the order they are filed.

    `bad_share` / `risky_share` of them are deliberately bad (cycling through BAD_KINDS) or carry
    a risky pattern (RISKY_KINDS). Order numbers start with `prefix` (default from the seed), so
    two runs with different seeds never collide on one platform. Buyers: `buyers` of them
    (default n/3, at least 20), chosen Zipf-like; about one in 2,000 declarations belongs to a
    buyer who comes near the annual quota.
    """
    rng = random.Random(seed)  # noqa: S311 - test traffic, not secrets
    tag = prefix if prefix is not None else f"S{seed % 100_000:05d}"
    pool = _buyers(rng, buyers or max(20, n // 3))
    zipf = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(pool))))
    spent: dict[int, Decimal] = defaultdict(Decimal)
    whales = list(range(min(len(pool), max(1, n // 2000))))  # the heaviest buyers
    bad_count = risky_count = 0
    burst_buyer, burst_left = 0, 0
    for index in range(n):
        roll = rng.random()
        bad = risky = None
        if roll < bad_share:
            bad, bad_count = BAD_KINDS[bad_count % len(BAD_KINDS)], bad_count + 1
        elif roll < bad_share + risky_share:
            risky, risky_count = RISKY_KINDS[risky_count % len(RISKY_KINDS)], risky_count + 1
        plan = _plan(rng, index, n, pool, zipf, spent, whales, bad, risky)
        if risky == "high-velocity":  # this buyer's next few purchases follow within minutes
            burst_buyer, burst_left = plan.buyer, 5
        elif burst_left and bad is None and risky is None:
            cost = _dutiable(plan.lines)
            if spent[burst_buyer] + cost <= QUOTA_CEILING:
                spent[plan.buyer] -= cost
                spent[burst_buyer] += cost
                plan.buyer, plan.risky = burst_buyer, "high-velocity"
                burst_left -= 1
        yield _declaration(rng, plan, pool[plan.buyer], tag, day)


def _dutiable(lines: Sequence[_Line]) -> Decimal:
    """An upper bound of what a basket counts against the annual quota (freight at most 20)."""
    return sum((line.total for line in lines), Decimal(0)) + 20


def _plan(  # noqa: PLR0917
    rng: random.Random,
    index: int,
    n: int,
    pool: Sequence[Buyer],
    zipf: Sequence[float],
    spent: dict[int, Decimal],
    whales: Sequence[int],
    bad: str | None,
    risky: str | None,
) -> _Plan:
    time_s = index * 86_000 // max(n, 1)
    if risky == "high-value":
        product = rng.choice([p for p in CATALOGUE if p.high >= 4500])
        lines = [_Line(product, 1, Decimal(rng.randint(4600, 4950)))]
    elif risky == "undervalued":
        product = rng.choice([p for p in CATALOGUE if p.low >= 2000])
        lines = [_Line(product, 1, Decimal(rng.randint(99, 399)))]
    elif risky == "prohibited-keyword":
        lines = [_Line(_IVORY_BAG, 1, _price(rng, _IVORY_BAG))]
    elif whales and index % 2000 < 12 and rng.random() < 0.5:
        product = rng.choice([p for p in CATALOGUE if p.high >= 4500])
        lines = [_Line(product, 1, Decimal(rng.randint(3600, 4400)))]
    else:
        lines = _basket(rng, Decimal(rng.choice((800, 1500, 3000))))
    dutiable = _dutiable(lines)
    near_quota = lines[0].price >= 3600 and risky is None and whales
    for _ in range(50):
        buyer = (
            rng.choice(whales) if near_quota else rng.choices(range(len(pool)), cum_weights=zipf)[0]
        )
        if spent[buyer] + dutiable <= QUOTA_CEILING:
            break
    else:  # everyone tried is near the ceiling: a fresh face in the pool's tail
        buyer = min(range(len(pool)), key=lambda b: spent[b])
    spent[buyer] += dutiable
    return _Plan(index, buyer, lines, bad, risky, time_s)


def _time(day: str, seconds: int) -> str:
    seconds = min(seconds, 86_399)
    return f"{day}{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"


def _guid(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032X}"
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def _declaration(rng: random.Random, plan: _Plan, buyer: Buyer, tag: str, day: str) -> Declaration:
    platform = PLATFORMS[plan.index % len(PLATFORMS)]
    seller = rng.choice(SELLERS)
    payer = rng.choice(PAYERS)
    carrier = rng.choice(CARRIERS)
    bonded = rng.random() < 0.7
    order_no = f"{tag}{day[2:]}{plan.index:08d}"
    logistics_no = f"YT{tag}{plan.index:09d}"
    pay_id = f"PAY{tag}{plan.index:09d}"
    freight = Decimal(0) if bonded and rng.random() < 0.6 else Decimal(rng.choice((5, 8, 10, 15)))
    goods = sum((line.total for line in plan.lines), Decimal(0))
    discount = Decimal(rng.choice((5, 10, 20)) if goods > 100 and rng.random() < 0.25 else 0)
    tax = sum((line.total * line.product.vat * Decimal("0.7") for line in plan.lines), Decimal(0))
    tax_total = (tax + freight * Decimal("0.091")).quantize(CENT, rounding=ROUND_HALF_UP)
    paid = goods + freight + tax_total - discount
    net = sum((line.product.kg * line.qty for line in plan.lines), Decimal(0))
    gross = (net * Decimal("1.1") + Decimal("0.2")).quantize(Decimal("0.1"))
    t = plan.time_s
    order_lines, inventory_lines = [], []
    for gnum, line in enumerate(plan.lines, start=1):
        common = {
            "gnum": str(gnum),
            "itemNo": f"SKU{line.product.gcode[:4]}{gnum:02d}",
            "itemName": line.product.name,
            "gmodel": line.product.model,
            "barCode": f"69{int(line.product.gcode) % 10**11:011d}",
            "unit": line.product.unit,
            "qty": str(line.qty),
            "price": _money(line.price),
            "totalPrice": _money(line.total),
            "currency": "142",
            "country": "116" if line.product.gcode[:2] in ("19", "04") else "502",
        }
        order_lines.append(common)
        inventory_lines.append(
            {
                **common,
                "itemRecordNo": str(gnum),
                "gcode": line.product.gcode,
                "gname": line.product.name,
                "qty1": str(line.product.kg * line.qty),
                "unit1": "035",
            }
        )
    personal = {"buyerName": buyer.name, "buyerTelephone": buyer.phone}
    order = {
        "guid": _guid(rng), "appType": "1", "appTime": _time(day, t), "appStatus": "2",
        "orderType": "I", "orderNo": order_no, "ebpCode": platform.code,
        "ebpName": platform.name, "ebcCode": seller.code, "ebcName": seller.name,
        "goodsValue": _money(goods), "freight": _money(freight), "discount": _money(discount),
        "taxTotal": _money(tax_total), "acturalPaid": _money(paid), "currency": "142",
        "buyerRegNo": f"u{buyer.id_number[-8:]}", **personal, "buyerIdType": "1",
        "buyerIdNumber": buyer.id_number, "payCode": payer.code, "payName": payer.name,
        "payTransactionId": pay_id, "consignee": buyer.name,
        "consigneeTelephone": buyer.phone, "consigneeAddress": buyer.address,
        "consigneeDistrict": buyer.district,
    }  # fmt: skip
    payment = {
        "guid": _guid(rng), "appType": "1", "appTime": _time(day, t + 90), "appStatus": "2",
        "payCode": payer.code, "payName": payer.name, "payTransactionId": pay_id,
        "orderNo": order_no, "ebpCode": platform.code, "ebpName": platform.name,
        "payerIdType": "1", "payerIdNumber": buyer.id_number, "payerName": buyer.name,
        "telephone": buyer.phone, "amountPaid": _money(paid), "currency": "142",
        "payTime": _time(day, t + 60),
    }  # fmt: skip
    waybill = {
        "guid": _guid(rng), "appType": "1", "appTime": _time(day, t + 300), "appStatus": "2",
        "logisticsCode": carrier.code, "logisticsName": carrier.name,
        "logisticsNo": logistics_no, "orderNo": order_no, "freight": _money(freight),
        "insuredFee": "0", "currency": "142", "weight": str(gross), "packNo": "1",
        "goodsInfo": "、".join(f"{line.product.name}*{line.qty}" for line in plan.lines)[:100],
        "consignee": buyer.name, "consigneeAddress": buyer.address,
        "consigneeTelephone": buyer.phone,
    }  # fmt: skip
    inventory = {
        "guid": _guid(rng), "appType": "1", "appTime": _time(day, t + 600), "appStatus": "2",
        "orderNo": order_no, "ebpCode": platform.code, "ebpName": platform.name,
        "ebcCode": seller.code, "ebcName": seller.name, "logisticsNo": logistics_no,
        "logisticsCode": carrier.code, "logisticsName": carrier.name,
        "copNo": f"INV{tag}{plan.index:09d}", "assureCode": seller.code,
        **({"emsNo": "T2991W000001"} if bonded else {}), "ieFlag": "I", "declTime": day,
        "customsCode": "2991", "portCode": "2991", "buyerIdType": "1",
        "buyerIdNumber": buyer.id_number, **personal, "consigneeAddress": buyer.address,
        "agentCode": seller.code, "agentName": seller.name,
        **({"areaCode": "3301980003", "areaName": "某保税仓"} if bonded else {}),
        "tradeMode": "1210" if bonded else "9610", "trafMode": "4" if bonded else "5",
        **({} if bonded else {"trafNo": "CA1234", "voyageNo": "CA1234", "billNo": f"B{tag}"}),
        "country": "142" if bonded else "502", "freight": _money(freight), "insuredFee": "0",
        "currency": "142", "packNo": "1", "grossWeight": str(gross), "netWeight": str(net),
    }  # fmt: skip
    if not bonded:
        for fields in inventory_lines:
            del fields["itemRecordNo"]
    expected = Expected()
    if plan.bad == "xsd":  # a four-digit currency code: the XSD allows three
        order["currency"] = "1422"
        expected = Expected("submission", "0002", "order", "xsd:SCHEMAV_CVC_LENGTH_VALID")
    elif plan.bad == "field-rule":  # 30 February
        payment["payTime"] = f"{day[:4]}0230101500"
        expected = Expected("submission", "0002", "payment", "field:timestamp-format")
    elif plan.bad == "signature":  # changed after signing (see `messages`)
        expected = Expected("submission", "-621028", "inventory", "digest-mismatch")
    elif plan.bad == "mismatch":  # the payment voucher disagrees with the order (X4)
        payment["amountPaid"] = _money(paid + 1)
        expected = Expected("declaration", "100", "inventory", "X4")
    elif plan.bad == "duplicate":  # the platform files the order twice (see `messages`)
        expected = Expected("document", "-301010", "order")
    return Declaration(
        order_no=order_no,
        buyer=buyer,
        documents=(
            Document("order", platform, order, tuple(order_lines)),
            Document("payment", payer, payment),
            Document("waybill", carrier, waybill),
            Document("inventory", seller, inventory, tuple(inventory_lines)),
        ),
        expected=expected,
        bad=plan.bad,
        risky=plan.risky,
        goods_value=goods,
    )


# --- messages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """A declaring agent's signing key and self-signed certificate (DER)."""

    enterprise: Enterprise
    algorithm: str
    private_key: Any = field(repr=False)
    certificate_der: bytes = field(repr=False)

    @property
    def certificate_pem(self) -> str:
        from customs.ceb.identity import certificate_pem

        return certificate_pem(self.certificate_der).decode("ascii")


def register_signers(customs: Any, identities: Mapping[str, Identity]) -> None:
    """Register the identities' certificates with customs (`customs.context.Customs`), as an
    enterprise does before it files signed messages."""
    from customs import certificates

    for code, identity in identities.items():
        certificates.register(
            customs,
            enterprise_code=code,
            certificate=identity.certificate_pem,
            algorithms=[identity.algorithm],
        )


def make_identities(algorithm: str = RSA_SHA256) -> dict[str, Identity]:
    """A fresh signing identity for every declaring agent (SELLERS), by enterprise code."""
    identities = {}
    for seller in SELLERS:
        key, der = generate_test_identity(algorithm, seller.name)
        identities[seller.code] = Identity(seller, algorithm, key, der)
    return identities


@dataclass(frozen=True)
class Message:
    """One CEB message to submit: who sends it, its body, and the declarations it carries."""

    message_type: str
    sender: Enterprise
    body: bytes
    order_nos: tuple[str, ...]
    roles: tuple[str, ...]  # one per document, the role of each (all the same)
    expected_code: str | None = None  # refused at submission with this code (0002, -621028)

    @property
    def documents(self) -> int:
        return len(self.order_nos)


def _sign(body: bytes, identity: Identity) -> bytes:
    root = etree.fromstring(body)
    sign_enveloped(
        root,
        private_key=identity.private_key,
        certificate_der=identity.certificate_der,
        algorithm=identity.algorithm,
        key_name="0001",
    )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _element(out: list[str], direction: str, element: str, values: Mapping[str, str]) -> None:
    out.append(f"<ceb:{element}>")
    for name in field_order(direction, element):
        value = values.get(name)
        if value is not None:
            out.append(f"<ceb:{name}>{escape(value)}</ceb:{name}>")
    out.append(f"</ceb:{element}>")


def write_fast(
    message_type: str,
    documents: Sequence[tuple[Mapping[str, str], Sequence[Mapping[str, str]]]],
    sender: Sender,
    *,
    guid: str,
) -> bytes:
    """What `customs.ceb.writer.write_message` writes (fields in XSD order), as text: several
    times faster, for generating traffic. Fields the XSD does not know are left out."""
    kind = KINDS[message_type]
    assert kind.head is not None and kind.direction == "import"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<ceb:{message_type} xmlns:ceb="{CEB_NS}" guid="{guid}" version="1.0">',
    ]
    for head, lines in documents:
        out.append(f"<ceb:{kind.body}>")
        _element(out, kind.direction, kind.head, head)
        for line in lines:
            assert kind.lines is not None
            _element(out, kind.direction, kind.lines, line)
        out.append(f"</ceb:{kind.body}>")
    base = {"copCode": sender.cop_code, "copName": sender.cop_name, "dxpMode": "DXP"}
    _element(out, kind.direction, "BaseTransfer", {**base, "dxpId": sender.dxp_id})
    out.append(f"</ceb:{message_type}>")
    return "".join(out).encode("utf-8")


def _message_guid(first_document_guid: str) -> str:
    """A message's guid, derived from its first document's (so the traffic stays seeded)."""
    return first_document_guid[:-12] + first_document_guid[-12:][::-1]


def _write(
    role: str,
    sender: Enterprise,
    docs: Sequence[Document],
    identities: Mapping[str, Identity],
    guid: str,
) -> bytes:
    body = write_fast(
        MESSAGE_TYPES[role],
        [(d.head, d.lines) for d in docs],
        Sender(sender.code, sender.name),
        guid=guid,
    )
    return _sign(body, identities[sender.code]) if role == "inventory" else body


def messages(
    declarations: Iterable[Declaration],
    identities: Mapping[str, Identity],
    *,
    max_documents: int = MAX_DOCUMENTS,
    roles: Sequence[str] = ROLES,
) -> Iterator[Message]:
    """The declarations' documents as CEB messages, one per document type and sender with up to
    `max_documents` documents each (inventories signed by their agent), all orders first, then
    payments, waybills and inventories. A document meant to be refused at submission travels
    alone; a duplicate order right after its original, in the same message."""
    # a unit: documents that must travel in one message (an order and its duplicate)
    groups: dict[tuple[str, str], list[list[tuple[Document, str]]]] = defaultdict(list)
    alone: list[Message] = []
    senders: dict[str, Enterprise] = {}
    for declaration in declarations:
        for doc in declaration.documents:
            if doc.role not in roles:
                continue
            expected = declaration.expected
            senders[doc.sender.code] = doc.sender
            if expected.stage == "submission" and expected.role == doc.role:
                body = _write(
                    doc.role, doc.sender, [doc], identities, _message_guid(doc.head["guid"])
                )
                if declaration.bad == "signature":  # one quantity changed after signing
                    body = body.replace(b"<ceb:qty>", b"<ceb:qty>1", 1)
                alone.append(
                    Message(
                        doc.message_type,
                        doc.sender,
                        body,
                        (declaration.order_no,),
                        (doc.role,),
                        expected.code,
                    )
                )
                continue
            copies = 2 if declaration.bad == "duplicate" and doc.role == "order" else 1
            groups[(doc.role, doc.sender.code)].append([(doc, declaration.order_no)] * copies)
    for role in ROLES:
        for (group_role, code), units in groups.items():
            if group_role != role:
                continue
            chunk: list[tuple[Document, str]] = []
            for unit in [*units, []]:
                if chunk and (not unit or len(chunk) + len(unit) > max_documents):
                    guid = _message_guid(chunk[0][0].head["guid"])
                    yield Message(
                        MESSAGE_TYPES[role],
                        senders[code],
                        _write(
                            role,
                            senders[code],
                            [d for d, _ in chunk],
                            identities,
                            guid,
                        ),
                        tuple(order_no for _, order_no in chunk),
                        tuple(role for _ in chunk),
                    )
                    chunk = []
                chunk.extend(unit)
    yield from alone
