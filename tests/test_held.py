"""Values held by each process beside the cache (xhs/held.py)."""

import pytest

import xhs.held
from xhs.held import _Held, held, hold


def test_a_process_holds_the_values_it_used_lately_within_its_budget() -> None:
    values = _Held(budget=10)
    values.put("a", (b"1234", b"5"), 5)
    values.put("b", (b"1234",), 4)
    assert values.get("a") is not None  # used: "b" is now the least recently used
    values.put("c", (b"12345",), 5)

    assert values.get("a") == (b"1234", b"5") and values.get("c") == (b"12345",)
    assert values.get("b") is None
    values.put("d", b"x" * 11, 11)  # larger than the whole budget: never held, nothing dropped for it
    assert values.get("d") is None and values.get("a") is not None


def test_another_process_reads_a_held_value_once_and_refuses_a_value_of_another_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = hold((b"page",), size=4, seconds=60)
    monkeypatch.setattr(xhs.held, "_held", _Held(xhs.held.LOCAL_BYTES))  # another worker, say

    assert held(token, valid=lambda value: isinstance(value, tuple), size=len) == (b"page",)
    assert xhs.held._held.get(token) == (b"page",), "held from now on"
    other = hold("text", size=4, seconds=60)
    monkeypatch.setattr(xhs.held, "_held", _Held(xhs.held.LOCAL_BYTES))
    assert held(other, valid=lambda value: isinstance(value, tuple), size=len) is None
    assert held("no-such-token", valid=lambda value: True, size=len) is None
    assert held(None, valid=lambda value: True, size=len) is None
