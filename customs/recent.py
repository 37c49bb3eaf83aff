"""A bounded map of what the process made last, by key: what it would otherwise make again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """The values kept last, by key; bounded: past `size`, the oldest are forgotten.

    Only for values that a key always maps to (what the key names never changes), so that a
    value found here is what making it again would give. Thread-safe (a lock round each change;
    a lookup is one dict read)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value
            if len(self._values) > self._size:
                self._values.popitem(last=False)

    def keep_all(self, items: Iterable[tuple[K, V]]) -> None:
        """`keep` each (key, value), in one turn of the lock."""
        values = self._values
        with self._lock:
            values.update(items)
            while len(values) > self._size:
                values.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def __len__(self) -> int:
        return len(self._values)
