"""The ids rows and events get: unique, time-ordered UUIDs (version 7)."""

from __future__ import annotations

import copy
import os
import pickle
import threading
import time
import uuid

import pytest

from schemas.envelope import Envelope
from schemas.events import RiskAssessedV1
from schemas.ids import time_ordered_uuids, uuid7


def _new_ids(count: int) -> list[str]:
    """New ids as the rows store them: text."""
    return [str(value) for value in time_ordered_uuids(count)]


def test_ids_are_version_7_uuids_in_message_order_then_time_order():
    first = _new_ids(101)
    time.sleep(0.002)
    later = _new_ids(3)
    for text in first + later:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert str(parsed) == text
    assert first == sorted(first)
    assert first[-1] < later[0]
    millis = uuid.UUID(later[0]).int >> 80
    assert abs(millis - time.time_ns() // 1_000_000) < 5_000


def test_ids_are_uuids_in_every_respect():
    for made in [uuid7(), *time_ordered_uuids(3)]:
        same = uuid.UUID(int=made.int)
        assert type(made) is uuid.UUID
        assert made == same and hash(made) == hash(same) and str(made) == str(same)
        assert (made.version, made.variant, made.is_safe) == (7, uuid.RFC_4122, same.is_safe)
        assert (made.bytes, made.hex, made.fields) == (same.bytes, same.hex, same.fields)
        assert pickle.loads(pickle.dumps(made)) == made == copy.deepcopy(made)
        assert {made: 1}[same] == 1
        with pytest.raises(TypeError):
            made.int = 0  # type: ignore[misc]  # immutable, as any UUID


def test_ids_are_unique_and_random_beyond_time_and_position():
    ids = [text for _ in range(2000) for text in _new_ids(3)]
    assert len(set(ids)) == len(ids)
    assert len({uuid.UUID(text).int & ((1 << 62) - 1) for text in ids}) == len(ids)


def test_a_message_cannot_need_more_ids_than_the_counter_field_holds():
    assert len(_new_ids(4096)) == 4096
    with pytest.raises(ValueError):
        _new_ids(4097)


def test_events_and_single_ids_are_time_ordered_too():
    first = uuid7()
    time.sleep(0.002)
    envelope = Envelope[RiskAssessedV1](
        producer="risk",
        correlation_id="c",
        key="order-1",
        payload=RiskAssessedV1(
            declaration_id=first, order_no="order-1", score=1, route="release", ruleset_version="1"
        ),
    )
    assert (first.version, envelope.event_id.version) == (7, 7)
    assert str(first) < str(envelope.event_id)


def test_ids_made_across_the_random_buffer_and_from_threads_stay_unique():
    made: list[list[str]] = []

    def make() -> None:
        made.append([text for _ in range(300) for text in _new_ids(7)])  # 16,800 bytes each

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [text for part in made for text in part]
    assert len(ids) == 4 * 300 * 7
    assert len({uuid.UUID(text).int & ((1 << 62) - 1) for text in ids}) == len(ids)


def test_a_forked_child_does_not_make_the_ids_its_parent_makes():
    _new_ids(1)  # the parent has random bytes read ahead
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        try:
            os.write(write, ",".join(_new_ids(20)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = pipe.read().split(",")
    parent = _new_ids(20)
    assert len(child) == 20
    random_bits = {uuid.UUID(text).int & ((1 << 62) - 1) for text in child + parent}
    assert len(random_bits) == 40
