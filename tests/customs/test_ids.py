"""The ids rows and events get: unique, time-ordered UUIDs (version 7)."""

from __future__ import annotations

import time
import uuid

import pytest

from schemas.envelope import Envelope
from schemas.events import RiskAssessedV1
from schemas.ids import time_ordered_ids as _new_ids
from schemas.ids import uuid7


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
