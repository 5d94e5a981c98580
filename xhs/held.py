"""Large cached values that many requests read and few change, held by each process beside the cache.

A signed-in page is put together from large pieces that every reader of it shares (a product's parts and its
comments section, 20-40 KB each) or that one account reads at every page (its kept page). Read from Redis at every
request, their transfer and unpickling were a large part of a cached page's CPU. So such a value is kept once under
a random token (``hold``), and the key a page reads in its round trip holds only that token beside its version: a
process that holds the token's value already (``_Held``, least recently used dropped past a budget of bytes) serves
it without reading it again; another reads it once (``held``). A token names one value for good: a new value gets a
new token, so a process never serves a value its key no longer points to.
"""

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.core.cache import cache


class _Held:
    """The values this process read or kept lately, by token, the least recently used dropped past ``budget``
    bytes (each value's size as its caller measured it)."""

    def __init__(self, budget: int) -> None:
        self._held: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._budget = budget
        self._lock = threading.Lock()

    def get(self, token: str) -> Any:
        with self._lock:
            held = self._held.get(token)
            if held is None:
                return None
            self._held.move_to_end(token)
            return held[0]

    def put(self, token: str, value: Any, size: int) -> None:
        with self._lock:
            if token in self._held or size > self._budget:
                return
            self._held[token] = (value, size)
            self._bytes += size
            while self._bytes > self._budget:
                _, (_, dropped) = self._held.popitem(last=False)
                self._bytes -= dropped


#: Bytes of values one process holds: a few hundred pages' pieces.
LOCAL_BYTES = 64 * 2**20
_held = _Held(LOCAL_BYTES)


def _key(token: str) -> str:
    return f"held:{token}"


def hold(value: Any, *, size: int, seconds: int) -> str:
    """Keep ``value`` (about ``size`` bytes) ``seconds`` under a new token, and hold it here; the token, for the
    key that points to it (set after this returns: the value is in the cache before its pointer)."""
    token = secrets.token_hex(8)
    cache.set(_key(token), value, seconds)
    _held.put(token, value, size)
    return token


def held(token: object, *, valid: Callable[[Any], bool], size: Callable[[Any], int]) -> Any:
    """The value kept under ``token``: held here, or read from the cache once (a value that is not ``valid``, or
    gone, is None) and held from then on."""
    if not isinstance(token, str):
        return None
    value = _held.get(token)
    if value is not None:
        return value
    value = cache.get(_key(token))
    if value is None or not valid(value):
        return None
    _held.put(token, value, size(value))
    return value
