"""Group commit: concurrent callers' work done together, in one transaction per group.

A caller hands its item and the function that writes a group to `GroupCommit.run` and blocks
(every caller of one GroupCommit passes the same function). If no group is being written, it leads:
it takes every item waiting (its own and those that queued meanwhile) and writes them with one
call of `write`; otherwise it waits, and either finds its item written by the leader or leads
the next group. Under load the groups grow by themselves (each statement, commit and fsync is
shared by all the items of a group); alone, an item is written at once, as a group of one.

`write` may answer `Failed(error)` for an item it refuses on its own (a message that fails
its checks): that item's caller gets `error` raised, and the others their results. If a group
fails as a whole, each of its items is written again alone, so that one bad item fails only
its own caller and the others are written all the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Failed:
    """What `write` answers for an item it refused on its own: its caller gets `error` raised."""

    error: Exception


@dataclass
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


@dataclass
class GroupCommit(Generic[T, R]):
    """Writes items in groups with `write(items) -> results` (one result per item, in order)."""

    max_group: int = 200
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _waiting: list[_Slot[T, R]] = field(default_factory=list, repr=False)
    _leading: bool = field(default=False, repr=False)
    groups: int = 0  # how many groups were written (for benchmarks and health)
    items: int = 0

    def run(self, item: T, write: Callable[[Sequence[T]], Sequence[R | Failed]]) -> R:
        """Write `item` (in some group) and return its result, or raise its error."""
        slot: _Slot[T, R] = _Slot(item)
        with self._cond:
            self._waiting.append(slot)
            while not slot.done:
                if self._leading:
                    self._cond.wait()
                    continue
                # lead: the oldest items first (this one may be in a later group)
                self._leading = True
                group = self._waiting[: self.max_group]
                del self._waiting[: self.max_group]
                self._cond.release()
                try:
                    self._write(group, write)
                finally:
                    self._cond.acquire()
                    self._leading = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _write(
        self, group: list[_Slot[T, R]], write: Callable[[Sequence[T]], Sequence[R | Failed]]
    ) -> None:
        self.groups += 1
        self.items += len(group)
        try:
            results = _answers(write, [slot.item for slot in group])
        except BaseException as exc:
            if len(group) == 1:
                _finish(group[0], error=exc)
                return
            for slot in group:  # one bad item must not fail the others
                try:
                    (result,) = _answers(write, [slot.item])
                except BaseException as single:
                    _finish(slot, error=single)
                else:
                    _finish_with(slot, result)
            return
        for slot, result in zip(group, results, strict=True):
            _finish_with(slot, result)


def _answers(
    write: Callable[[Sequence[T]], Sequence[R | Failed]], items: list[T]
) -> Sequence[R | Failed]:
    results = write(items)
    if len(results) != len(items):
        raise ValueError(f"the group writer answered {len(results)} results for {len(items)} items")
    return results


def _finish_with(slot: _Slot[T, R], answer: R | Failed) -> None:
    if isinstance(answer, Failed):
        _finish(slot, error=answer.error)
    else:
        _finish(slot, result=answer)


def _finish(
    slot: _Slot[T, R], *, result: R | None = None, error: BaseException | None = None
) -> None:
    slot.result, slot.error, slot.done = result, error, True
