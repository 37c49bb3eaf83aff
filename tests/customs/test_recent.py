"""customs.recent: the bounded map of what a process made last."""

from __future__ import annotations

from customs.recent import Recent


def test_the_values_kept_last_are_found_and_the_oldest_forgotten_past_the_bound():
    recent: Recent[str, int] = Recent(3)
    recent.keep("a", 1)
    recent.keep_all([("b", 2), ("c", 3), ("d", 4)])
    assert len(recent) == 3
    assert [recent.get(k) for k in "abcd"] == [None, 2, 3, 4]
    recent.keep_all((k, 10 + n) for n, k in enumerate("efgh"))  # more than it holds at once
    assert len(recent) == 3
    assert [recent.get(k) for k in "defgh"] == [None, None, 11, 12, 13]
