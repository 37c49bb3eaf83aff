"""clearway.jsontext writes what the standard library's compact encoder writes for stored values."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from decimal import Decimal

import pytest

from clearway import jsontext


@dataclass(frozen=True, slots=True)
class _Mismatch:
    rule: str
    message: str
    severity: str


HEAD = {
    "orderNo": "ORDER-0001",
    "buyerName": "张三",
    "note": 'quote " backslash \\ newline \n tab \t line separator \u2028',
    "lines": [{"gnum": "1", "itemName": "婴儿奶粉"}, {"gnum": "2", "qty": "3"}],
    "count": 3,
    "flag": True,
    "missing": None,
}


def _standard(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_dumps_writes_what_the_standard_compact_encoder_writes() -> None:
    assert jsontext.dumps(HEAD) == _standard(HEAD)
    lines = ({"gnum": "1"}, {"gnum": "2"})
    assert jsontext.dumps(lines) == _standard(list(lines))
    mismatches = [_Mismatch("X1", "订单金额不一致", "error")]
    assert jsontext.dumps(mismatches) == _standard([asdict(m) for m in mismatches])
    assert jsontext.encode(HEAD) == _standard(HEAD).encode()


def test_loads_reads_the_standard_library_s_text_and_its_own() -> None:
    spaced = json.dumps(HEAD, ensure_ascii=True, indent=2)
    assert jsontext.loads(spaced) == HEAD
    assert jsontext.loads(jsontext.encode(HEAD)) == HEAD


@pytest.mark.parametrize("value", [Decimal("1.10"), {1: "x"}, {"a", "b"}])
def test_refuses_what_is_not_stored_as_json(value: object) -> None:
    with pytest.raises(TypeError):
        jsontext.dumps(value)
