"""The event contracts: examples per version, the schema snapshot, the envelope and topics."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.envelope import Envelope
from schemas.events import EVENT_CLASSES, EVENT_TYPES, EnvelopeAdapter
from schemas.topics import TOPICS, topic_for_event

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SNAPSHOT = SCHEMAS / "snapshots" / "events.schema.json"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_version_has_an_example_that_parses_and_round_trips(event_type):
    raw = json.loads((SCHEMAS / "examples" / f"{event_type}.json").read_text())
    envelope = EnvelopeAdapter.validate_python(raw)
    assert envelope.payload.type == event_type
    assert EnvelopeAdapter.validate_json(EnvelopeAdapter.dump_json(envelope)) == envelope


def test_every_example_file_names_a_known_event_version():
    names = {p.stem for p in (SCHEMAS / "examples").glob("*.json")}
    assert names == set(EVENT_TYPES)


def test_the_json_schema_matches_the_committed_snapshot():
    current = EnvelopeAdapter.json_schema()
    if os.environ.get("CLEARWAY_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(
            json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        )
    committed = json.loads(SNAPSHOT.read_text())
    assert current == committed, (
        "the event contracts changed: if that is intended, add a new version for breaking "
        "changes and refresh the snapshot with CLEARWAY_UPDATE_SNAPSHOTS=1"
    )


def test_money_travels_as_an_exact_decimal_string():
    raw = json.loads((SCHEMAS / "examples" / "customs.document_accepted.v1.json").read_text())
    raw["payload"]["goods_value"] = "0.1"
    envelope = EnvelopeAdapter.validate_python(raw)
    assert envelope.payload.goods_value == Decimal("0.1")
    assert json.loads(EnvelopeAdapter.dump_json(envelope))["payload"]["goods_value"] == "0.1"


def test_an_envelope_refuses_a_time_that_is_not_utc():
    raw = json.loads((SCHEMAS / "examples" / "customs.document_received.v1.json").read_text())
    raw["occurred_at"] = datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))).isoformat()
    with pytest.raises(ValidationError, match="UTC"):
        EnvelopeAdapter.validate_python(raw)
    raw["occurred_at"] = "2026-01-01T08:00:00"
    with pytest.raises(ValidationError, match="UTC"):
        EnvelopeAdapter.validate_python(raw)


def test_an_unknown_event_type_is_refused_by_the_union():
    raw = json.loads((SCHEMAS / "examples" / "customs.document_received.v1.json").read_text())
    raw["payload"]["type"] = "customs.document_received.v2"
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        EnvelopeAdapter.validate_python(raw)


def test_events_are_immutable():
    raw = json.loads((SCHEMAS / "examples" / "customs.document_received.v1.json").read_text())
    envelope: Envelope = EnvelopeAdapter.validate_python(raw)
    with pytest.raises(ValidationError):
        envelope.payload.business_key = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_every_event_is_carried_by_exactly_one_topic(event_class):
    name = event_class.model_fields["type"].default
    carriers = [t for t in TOPICS if name in t.events]
    assert len(carriers) == 1
    assert topic_for_event(name) is carriers[0]
    assert name.endswith(".v" + event_class.__name__.rsplit("V", 1)[1])


def test_every_topic_has_its_own_dead_letter_topic():
    assert all(t.dlq == f"{t.name}.dlq" for t in TOPICS)
    assert len({t.name for t in TOPICS}) == len(TOPICS)


def test_a_clearance_change_published_before_the_export_fields_still_reads_as_an_import_one():
    raw = json.loads((SCHEMAS / "examples" / "customs.clearance_changed.v1.json").read_text())
    for name in ("direction", "invt_no", "receipt_message"):
        del raw["payload"][name]
    envelope = EnvelopeAdapter.validate_python(raw)
    assert envelope.payload.direction == "import"
    assert envelope.payload.invt_no is None and envelope.payload.receipt_message is None
    raw["payload"]["direction"] = "outbound"
    with pytest.raises(ValidationError, match="direction"):
        EnvelopeAdapter.validate_python(raw)
