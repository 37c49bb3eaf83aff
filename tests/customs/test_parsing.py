"""Safe parsing: the depth cap at its boundary, wherever the deep branch sits."""

from __future__ import annotations

import pytest

from customs.ceb.parsing import MAX_DEPTH, parse_untrusted
from customs.domain.errors import MessageFormatError


def _nested(depth: int, *, siblings_before: int = 0) -> bytes:
    # a shallow sibling subtree first, then one branch nesting `depth` elements in all
    inner = b"<d>" * (depth - 2) + b"</d>" * (depth - 2)
    return b"<a>" + b"<s><t/></s>" * siblings_before + b"<b>" + inner + b"</b></a>"


@pytest.mark.parametrize("siblings_before", [0, 3])
def test_a_message_nesting_exactly_the_cap_is_parsed(siblings_before):
    root = parse_untrusted(_nested(MAX_DEPTH, siblings_before=siblings_before))
    assert root.tag == "a"


@pytest.mark.parametrize("siblings_before", [0, 3])
def test_one_level_more_is_refused_naming_the_depth(siblings_before):
    with pytest.raises(MessageFormatError) as refused:
        parse_untrusted(_nested(MAX_DEPTH + 1, siblings_before=siblings_before))
    (error,) = refused.value.errors
    assert error.rule == "max-depth"
    assert error.message == f"elements nest {MAX_DEPTH + 1} deep; at most {MAX_DEPTH} are allowed"


def test_far_deeper_nesting_is_refused_with_the_same_message():
    with pytest.raises(MessageFormatError) as refused:
        parse_untrusted(b"<a>" * 40 + b"</a>" * 40)
    assert refused.value.errors[0].message == (
        f"elements nest {MAX_DEPTH + 1} deep; at most {MAX_DEPTH} are allowed"
    )
