"""Group commit: concurrent callers share a write; a bad item fails only its own caller."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest

from clearway.groupcommit import Failed, GroupCommit

Write = Callable[[Sequence[int]], Sequence[int | Failed]]


def _behind_a_slow_first_group(
    group: GroupCommit[int, int], answer: Write, count: int
) -> tuple[dict[int, object], list[list[int]]]:
    """Item 0 is written first and slowly; items 1..count-1 arrive and queue meanwhile. The
    result (or error) of each caller, and every group written, in order."""
    release = threading.Event()
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> Sequence[int | Failed]:
        writes.append(list(items))
        if items[0] == 0:
            release.wait(5)
        return answer(items)

    results: dict[int, object] = {}

    def call(n: int) -> None:
        try:
            results[n] = group.run(n, write)
        except ValueError as exc:
            results[n] = exc

    threads = [threading.Thread(target=call, args=(n,)) for n in range(count)]
    threads[0].start()
    while not writes:
        threading.Event().wait(0.001)
    for thread in threads[1:]:
        thread.start()
    while len(group._waiting) < count - 1:  # all the others wait behind the first group
        threading.Event().wait(0.001)
    release.set()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
    return results, writes


def test_an_item_alone_is_written_at_once_as_a_group_of_one():
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        return [n * 10 for n in items]

    group: GroupCommit[int, int] = GroupCommit()
    assert group.run(1, write) == 10
    assert group.run(2, write) == 20
    assert writes == [[1], [2]]


def test_callers_arriving_while_a_group_is_written_are_written_together_next():
    group: GroupCommit[int, int] = GroupCommit()
    results, writes = _behind_a_slow_first_group(group, lambda items: [n * 10 for n in items], 9)
    assert results == {n: n * 10 for n in range(9)}
    assert writes[0] == [0]
    assert sorted(writes[1]) == list(range(1, 9))  # one group for all who waited
    assert (group.groups, group.items) == (2, 9)


def test_a_group_that_fails_is_written_again_item_by_item_and_only_the_bad_item_fails():
    def answer(items: Sequence[int]) -> list[int]:
        if 5 in items:
            raise ValueError("item 5 is bad")
        return [n * 10 for n in items]

    results, writes = _behind_a_slow_first_group(GroupCommit(), answer, 7)
    assert isinstance(results.pop(5), ValueError)
    assert results == {n: n * 10 for n in (0, 1, 2, 3, 4, 6)}
    assert sorted(writes[1]) == [1, 2, 3, 4, 5, 6]  # the group that failed, then one by one
    assert sorted(map(tuple, writes[2:])) == [(n,) for n in (1, 2, 3, 4, 5, 6)]


def test_an_item_the_write_refuses_on_its_own_fails_alone_and_the_group_stands():
    def answer(items: Sequence[int]) -> list[int | Failed]:
        return [Failed(ValueError(f"item {n} is bad")) if n % 3 == 2 else n * 10 for n in items]

    results, writes = _behind_a_slow_first_group(GroupCommit(), answer, 7)
    refused = {n: results.pop(n) for n in (2, 5)}
    assert {n: str(error) for n, error in refused.items()} == {
        2: "item 2 is bad",
        5: "item 5 is bad",
    }
    assert all(isinstance(error, ValueError) for error in refused.values())
    assert results == {n: n * 10 for n in (0, 1, 3, 4, 6)}
    assert len(writes) == 2  # no item written again


def test_a_group_is_at_most_max_group_items():
    results, writes = _behind_a_slow_first_group(GroupCommit(max_group=3), list, 8)
    assert [len(w) for w in writes] == [1, 3, 3, 1]
    # every caller gets its own item's result, whichever group wrote it
    assert results == {n: n for n in range(8)}


@pytest.mark.parametrize("size", [1, 3])
def test_the_write_must_answer_each_item(size):
    def write(items: Sequence[int]) -> list[int]:
        return []  # a broken writer: no result for the item

    group: GroupCommit[int, int] = GroupCommit(max_group=size)
    with pytest.raises(ValueError):
        group.run(1, write)
