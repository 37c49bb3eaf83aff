"""Risk's own history of the declarations it assessed: what the rules count, and the samples the
reference unit prices are learned from.

Counts go by event time (the `occurred_at` of the customs event), never the wall clock, so a
replay scores as the first run did. Unit prices are kept per reference key (HS level, code,
origin) in a bounded uniform sample (reservoir sampling, Algorithm R): the first
`RESERVOIR_SIZE` prices fill it, each later one replaces a slot with probability size/seen. The
draw is a hash of the declaration, line and key, so a redelivery or a replay draws the same.

The worker reads the history of a whole run of declarations in a few statements
(`RunHistory.load`), keeps it up to date in memory as each declaration is remembered, in event
order, and writes what the run added at its end (`RunHistory.write`). So each declaration sees
exactly the records of the declarations before it, in the database or earlier in the run, as
when they are handled one at a time.

What the worker's own commits left in the database it may keep in memory (`Recall`), so a later
run need not read it again: the samples of the reference keys it used last (still valid while a
key's stored count is unchanged, as every change to a sample counts an offer), and the sellers
and platforms known to have records (records are never deleted).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    bindparam,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from clearway.database import as_utc, insert_or_ignore
from messaging.rows import write_rows
from risk.db import metadata
from risk.domain.history import History, count_within, other_buyers
from risk.domain.prices import (
    PriceReference,
    reference_keys,
    reference_of_sorted,
    references_compared,
    robust_reference,
)
from risk.domain.ruleset import RuleSet
from schemas.events import DeclarationReadyV1

RESERVOIR_SIZE = 200
_CENTS = Decimal("0.00001")  # prices come back from the database at the Money scale

_RECORD = metadata.tables["declaration_record"]
_INSERT_RECORD = insert(_RECORD)
_RESERVOIR = metadata.tables["price_reservoir"]
_SAMPLE = metadata.tables["price_sample"]
_INSERT_SAMPLE = insert(_SAMPLE)

# Statements built once: only their parameters change between runs.
_CODE: BindParameter[str] = bindparam("code")
_SELLER_SEEN = select(_RECORD.c.declaration_id).where(_RECORD.c.ebc_code == _CODE).limit(1)
_PLATFORM_SEEN = select(_RECORD.c.declaration_id).where(_RECORD.c.ebp_code == _CODE).limit(1)
_KEYS: BindParameter[list[str]] = bindparam("keys", expanding=True)
_WINDOW = (_RECORD.c.declared_at > bindparam("start")) & (_RECORD.c.declared_at <= bindparam("end"))
# The records of a run's buyers, phones and addresses in one statement (each found through its
# own index): a record of the same person matches all three and comes once.
_PARTIES = select(
    _RECORD.c.buyer_key, _RECORD.c.phone_key, _RECORD.c.address_key, _RECORD.c.declared_at
).where(
    or_(
        _RECORD.c.buyer_key.in_(bindparam("buyers", expanding=True)),
        _RECORD.c.phone_key.in_(bindparam("phones", expanding=True)),
        _RECORD.c.address_key.in_(bindparam("addresses", expanding=True)),
    ),
    _WINDOW,
)
_SEEN = (
    select(_RESERVOIR.c.key, _RESERVOIR.c.seen)
    .where(_RESERVOIR.c.key.in_(_KEYS))
    .order_by(_RESERVOIR.c.key)
    .with_for_update()  # on PostgreSQL: two workers never count the same offer twice
)
_SAMPLES = select(
    _SAMPLE.c.key, _SAMPLE.c.slot, _SAMPLE.c.unit_price, _SAMPLE.c.declaration_id
).where(_SAMPLE.c.key.in_(_KEYS))
_COUNT = update(_RESERVOIR).where(_RESERVOIR.c.key == bindparam("k")).values(seen=bindparam("n"))
_REPLACE = (
    update(_SAMPLE)
    .where(_SAMPLE.c.key == bindparam("k"), _SAMPLE.c.slot == bindparam("s"))
    .values(unit_price=bindparam("p"), declaration_id=bindparam("d"))
)
_ENSURE = insert_or_ignore(_RESERVOIR)


@dataclass(frozen=True, slots=True)
class _Sample:
    """A reference key's sample as committed: its count, size, slots and, when it was computed,
    its reference price and its prices in ascending order."""

    seen: int
    size: int
    slots: dict[int, Decimal]
    computed: bool  # whether `reference` is the sample's reference price
    reference: PriceReference | None
    ordered: tuple[Decimal, ...] | None = None  # the slots' prices in ascending order


class Recall:
    """What the database held after this worker's last commits, kept so that later runs read
    less of it: the samples of the reference keys used last (at most `max_keys`, least recently
    used out first) and the sellers and platforms known to have records. It is filled only when a
    run's transaction commits (`stage`), so a rolled-back run leaves nothing behind; a sample is
    used only when the key's count, read (locked) in the run's transaction, is the one it had."""

    def __init__(self, max_keys: int = 4096, max_codes: int = 100_000) -> None:
        self.max_keys = max_keys
        self.max_codes = max_codes
        self._engine: Engine | None = None
        self._samples: OrderedDict[str, _Sample] = OrderedDict()
        self.sellers: set[str] = set()
        self.platforms: set[str] = set()

    def bind(self, engine: Engine) -> None:
        """Forget everything when runs go to another database."""
        if engine is not self._engine:
            self._engine = engine
            self._samples.clear()
            self.sellers.clear()
            self.platforms.clear()

    def sample(self, key: str, seen: int, size: int) -> _Sample | None:
        """The committed sample of a key, if it is known at that count."""
        found = self._samples.get(key)
        if found is None or found.seen != seen or found.size != size:
            return None
        self._samples.move_to_end(key)
        return found

    def stored(self, key: str) -> bool:
        """Whether a key's count row is known to be committed."""
        return key in self._samples

    def stage(self, session: Session, history: RunHistory) -> None:
        """Keep what a run wrote once (and if) its transaction commits."""
        samples = history.prices.committed()
        sellers, platforms = set(history.sellers), set(history.platforms)

        def commit() -> None:
            for key, sample in samples.items():
                self._samples[key] = sample
                self._samples.move_to_end(key)
            while len(self._samples) > self.max_keys:
                self._samples.popitem(last=False)
            for kept, codes in ((self.sellers, sellers), (self.platforms, platforms)):
                if len(kept) + len(codes) > self.max_codes:
                    kept.clear()
                kept.update(codes)

        on_commit(session, commit)


_ON_COMMIT = "risk.on_commit"


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Call `action` once the session's transaction commits; never if it rolls back (a rolled
    back savepoint drops every pending action, which is only ever a lost shortcut)."""
    pending: list[Callable[[], None]] | None = session.info.get(_ON_COMMIT)
    if pending is None:
        pending = session.info[_ON_COMMIT] = []

        def committed(session: Session) -> None:
            if session.in_nested_transaction():
                return  # a savepoint released: the transaction goes on
            actions = list(session.info.get(_ON_COMMIT, ()))
            session.info[_ON_COMMIT] = []
            for act in actions:
                act()

        def rolled_back(session: Session) -> None:
            session.info[_ON_COMMIT] = []

        event.listen(session, "after_commit", committed)
        event.listen(session, "after_rollback", rolled_back)
    pending.append(action)


def price_keys(declaration: DeclarationReadyV1) -> set[str]:
    """Every reference key the declaration's lines are compared with and offered to."""
    return {key for line in declaration.lines for key in reference_keys(line.gcode, line.country)}


class Reservoirs:
    """The bounded price samples of some reference keys: their counts read once (locked), the
    samples of a key read when first needed, both kept up to date in memory as prices are
    offered; `write` stores the counts and slots changed."""

    def __init__(self, conn: Connection, seen: dict[str, int], size: int) -> None:
        self.size = size
        self._conn = conn
        self._stored_seen = dict(seen)  # a slot is stored when under min(seen, size)
        self._seen = seen
        # the samples of the keys read so far; a key never offered has none stored
        self._slots: dict[str, dict[int, Decimal]] = {
            key: {} for key, count in seen.items() if count == 0
        }
        self._changed: dict[tuple[str, int], tuple[Decimal, str]] = {}
        self._counted: set[str] = set()
        self._references: dict[str, PriceReference | None] = {}
        # A key's sample in ascending order, once its reference was computed (in this run, or
        # in an earlier one `recall` remembers), kept so as its prices are offered: later
        # declarations with the key do not sort it again (each a sort of up to `size` prices)
        self._ordered: dict[str, list[Decimal]] = {}

    @classmethod
    def load(
        cls,
        conn: Connection,
        keys: Iterable[str],
        *,
        size: int | None = None,
        recall: Recall | None = None,
    ) -> Reservoirs:
        """The counts of `keys` (samples of `size` slots, RESERVOIR_SIZE by default), each key's
        count row made if missing and locked, in key order (so two workers offering to the same
        keys lock them in the same order); the samples `recall` knows at those counts."""
        size = RESERVOIR_SIZE if size is None else size
        ordered = sorted(set(keys))
        if not ordered:
            return cls(conn, {}, size)
        # a count row `recall` knows was committed is there (they are never deleted)
        missing = ordered if recall is None else [k for k in ordered if not recall.stored(k)]
        if missing:
            conn.execute(_ENSURE[conn.dialect.name], [{"key": key, "seen": 0} for key in missing])
        found = cls(conn, dict(conn.execute(_SEEN, {"keys": ordered}).tuples().all()), size)
        if recall is not None:
            for key, seen in found._seen.items():
                sample = recall.sample(key, seen, size) if seen else None
                if sample is not None:
                    found._slots[key] = dict(sample.slots)
                    if sample.computed:
                        found._references[key] = sample.reference
                    if sample.ordered is not None:
                        found._ordered[key] = list(sample.ordered)
        return found

    def committed(self) -> dict[str, _Sample]:
        """The samples known in full (read or recalled), as `write` stores them."""
        return {
            key: _Sample(
                self._seen[key],
                self.size,
                dict(slots),
                key in self._references,
                self._references.get(key),
                None if (ordered := self._ordered.get(key)) is None else tuple(ordered),
            )
            for key, slots in self._slots.items()
        }

    def samples(self, key: str) -> int:
        """How many prices a key's sample holds."""
        return min(self._seen.get(key, 0), self.size)

    def read(self, keys: Iterable[str]) -> None:
        """Read the stored samples of keys (in one statement) before they are needed."""
        wanted = sorted({key for key in keys if key not in self._slots})
        if not wanted:
            return
        for key in wanted:
            self._slots[key] = {}
        for key, slot, price, _ in self._conn.execute(_SAMPLES, {"keys": wanted}):
            self._slots[key][slot] = price
        read = set(wanted)
        for (key, slot), (price, _) in self._changed.items():
            if key in read:  # offered before it was read
                self._slots[key][slot] = price

    def reference(self, key: str) -> PriceReference | None:
        """The reference unit price of a key's current sample (None: no sample yet)."""
        if key not in self._references:
            self.read([key])
            ordered = self._ordered.get(key)
            if ordered is None:
                ordered = self._ordered[key] = sorted(self._slots[key].values())
            self._references[key] = reference_of_sorted(ordered)
        return self._references[key]

    def offer(self, key: str, price: Decimal, *, declaration_id: str, gnum: int) -> None:
        """Offer one line's unit price to a key's sample (kept with probability size/seen)."""
        seen = self._seen[key] + 1
        self._seen[key] = seen
        self._counted.add(key)
        if seen <= self.size:
            slot = seen - 1
        else:
            slot = _draw(f"{declaration_id}:{gnum}:{key}") % seen
            if slot >= self.size:
                return
        stored = price.quantize(_CENTS)
        self._changed[(key, slot)] = (stored, declaration_id)
        slots = self._slots.get(key)
        if slots is not None:
            replaced = slots.get(slot)
            slots[slot] = stored
            ordered = self._ordered.get(key)
            if ordered is not None:
                if replaced is not None:
                    del ordered[bisect_left(ordered, replaced)]
                insort(ordered, stored)
        self._references.pop(key, None)

    def write(self, conn: Connection) -> None:
        """Store the counts and the slots the offers changed."""
        if self._counted:
            write_rows(conn, _COUNT, [{"k": k, "n": self._seen[k]} for k in sorted(self._counted)])
        added, replaced = [], []
        for (key, slot), (price, declaration_id) in sorted(self._changed.items()):
            if slot < min(self._stored_seen[key], self.size):
                replaced.append({"k": key, "s": slot, "p": price, "d": declaration_id})
            else:
                added.append(
                    {
                        "key": key,
                        "slot": slot,
                        "unit_price": price,
                        "declaration_id": declaration_id,
                    }
                )
        if added:
            write_rows(conn, _INSERT_SAMPLE, added)
        if replaced:
            write_rows(conn, _REPLACE, replaced)
        self._stored_seen.update((key, self._seen[key]) for key in self._counted)
        self._counted.clear()
        self._changed.clear()


class RunHistory:
    """What risk's records say about the parties and goods of a run of declarations, read in a
    few statements and kept up to date in memory as each one is remembered."""

    def __init__(self, prices: Reservoirs) -> None:
        self.prices = prices
        self._sellers: set[str] = set()
        self._platforms: set[str] = set()
        self._buyers: dict[str, list[datetime]] = defaultdict(list)
        self._phones: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
        self._addresses: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
        self._records: list[dict[str, Any]] = []

    @classmethod
    def load(
        cls,
        conn: Connection,
        declarations: Sequence[tuple[DeclarationReadyV1, datetime]],
        rules: RuleSet,
        recall: Recall | None = None,
    ) -> RunHistory:
        """The records the run's declarations (with their event times) can count (what `recall`
        holds is not read again)."""
        if recall is not None:
            recall.bind(conn.engine)
        run = cls(
            Reservoirs.load(
                conn, (k for d, _ in declarations for k in price_keys(d)), recall=recall
            )
        )
        if not declarations:
            return run
        # The samples the rules will read, as far as the stored counts tell (a key the run's
        # own offers make needed is read when it is)
        run.prices.read(
            references_compared(
                (line for d, _ in declarations for line in d.lines),
                lambda key: (
                    PriceReference(Decimal(0), Decimal(0), run.prices.samples(key))
                    if run.prices.samples(key)
                    else None
                ),
                rules.undervaluation_min_samples,
            )
        )
        sellers, platforms = (
            (set(), set()) if recall is None else (recall.sellers, recall.platforms)
        )
        for statement, codes, seen, kept in (
            (_SELLER_SEEN, {d.ebc_code for d, _ in declarations}, run._sellers, sellers),
            (_PLATFORM_SEEN, {d.ebp_code for d, _ in declarations}, run._platforms, platforms),
        ):
            for code in codes:
                if code in kept or conn.execute(statement, {"code": code}).first() is not None:
                    seen.add(code)
        first = min(at for _, at in declarations)
        last = max(at for _, at in declarations)
        # a buyer's records of the week before, a phone's or address's of the contact window
        buyer_start = first - timedelta(days=7)
        contact_start = first - timedelta(days=rules.shared_contact_window_days)
        buyers = {d.buyer_key for d, _ in declarations}
        phones = {d.phone_key for d, _ in declarations if d.phone_key is not None}
        addresses = {d.address_key for d, _ in declarations if d.address_key is not None}
        window = {
            "start": min(buyer_start, contact_start),
            "end": last,
            "buyers": sorted(buyers),
            "phones": sorted(phones),
            "addresses": sorted(addresses),
        }
        for buyer, phone, address, stored_at in conn.execute(_PARTIES, window):
            at = as_utc(stored_at)
            if buyer in buyers and at > buyer_start:
                run._buyers[buyer].append(at)
            if phone in phones and at > contact_start:
                run._phones[phone].append((buyer, at))
            if address in addresses and at > contact_start:
                run._addresses[address].append((buyer, at))
        return run

    @property
    def sellers(self) -> set[str]:
        """The sellers known to have records (those of the run's declarations remembered)."""
        return self._sellers

    @property
    def platforms(self) -> set[str]:
        """The platforms known to have records (those of the run's declarations remembered)."""
        return self._platforms

    def history(self, declaration: DeclarationReadyV1, *, at: datetime, rules: RuleSet) -> History:
        """What the records say about a declaration's parties and goods, up to `at`."""
        buyer = declaration.buyer_key
        times = self._buyers.get(buyer, ())
        since = at - timedelta(days=rules.shared_contact_window_days)
        phone, address = declaration.phone_key, declaration.address_key
        return History(
            enterprise_declarations=int(declaration.ebc_code in self._sellers),
            platform_declarations=int(declaration.ebp_code in self._platforms),
            buyer_last_day=count_within(times, at - timedelta(days=1), at),
            buyer_last_week=count_within(times, at - timedelta(days=7), at),
            phone_other_buyers=0
            if phone is None
            else other_buyers(self._phones.get(phone, ()), buyer, since, at),
            address_other_buyers=0
            if address is None
            else other_buyers(self._addresses.get(address, ()), buyer, since, at),
            prices=references_compared(
                declaration.lines, self.prices.reference, rules.undervaluation_min_samples
            ),
        )

    def remember(
        self, declaration: DeclarationReadyV1, *, at: datetime, declaration_id: str | None = None
    ) -> None:
        """Add an assessed declaration to the history: its parties and its lines' unit prices
        (`declaration_id`: its id as text, where the caller has made it already)."""
        if declaration_id is None:
            declaration_id = str(declaration.declaration_id)
        buyer = declaration.buyer_key
        self._records.append(
            {
                "declaration_id": declaration_id,
                "ebp_code": declaration.ebp_code,
                "ebc_code": declaration.ebc_code,
                "buyer_key": buyer,
                "phone_key": declaration.phone_key,
                "address_key": declaration.address_key,
                "declared_at": at,
            }
        )
        self._sellers.add(declaration.ebc_code)
        self._platforms.add(declaration.ebp_code)
        self._buyers[buyer].append(at)
        if declaration.phone_key is not None:
            self._phones[declaration.phone_key].append((buyer, at))
        if declaration.address_key is not None:
            self._addresses[declaration.address_key].append((buyer, at))
        offers = sorted(
            (key, line.gnum, line.unit_price)
            for line in declaration.lines
            for key in reference_keys(line.gcode, line.country)
        )
        for key, gnum, price in offers:
            self.prices.offer(key, price, declaration_id=declaration_id, gnum=gnum)

    def write(self, conn: Connection) -> None:
        """Store the records and price samples the run added."""
        if self._records:
            write_rows(conn, _INSERT_RECORD, self._records)
            self._records.clear()
        self.prices.write(conn)


def references(session: Session, declaration: DeclarationReadyV1) -> dict[str, PriceReference]:
    """The reference unit price of every key the declaration's lines may be compared with."""
    keys = price_keys(declaration)
    rows = session.connection().execute(_SAMPLES, {"keys": sorted(keys)})
    prices: dict[str, list[Decimal]] = defaultdict(list)
    for key, _, price, _ in rows:
        prices[key].append(price)
    found = {key: robust_reference(values) for key, values in prices.items()}
    return {key: reference for key, reference in found.items() if reference is not None}


def offer_price(
    session: Session,
    key: str,
    price: Decimal,
    *,
    declaration_id: str,
    gnum: int,
    size: int = RESERVOIR_SIZE,
) -> None:
    """Offer one line's unit price to a key's bounded sample (kept with probability size/seen)."""
    conn = session.connection()
    reservoirs = Reservoirs.load(conn, [key], size=size)
    reservoirs.offer(key, price, declaration_id=declaration_id, gnum=gnum)
    reservoirs.write(conn)


def _draw(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
