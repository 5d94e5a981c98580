"""Races for tests: the same work in many threads at once, as real users clicking together."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_at_once(work: Callable[[int], T], *, threads: int, timeout: float = 60) -> tuple[list[T], list[BaseException]]:
    """Run ``work(i)`` in ``threads`` threads released together by a barrier; return results and errors.

    Each thread has its own database connection (Django's are per thread) and closes it at the end.
    Fails the test if a thread is still running after ``timeout`` seconds.
    """
    barrier = threading.Barrier(threads, timeout=timeout)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target(i: int) -> None:
        try:
            barrier.wait()
            result = work(i)
            with lock:
                results.append(result)
        except BaseException as error:  # noqa: BLE001 - handed to the test, which asserts on it
            with lock:
                errors.append(error)
        finally:
            connection.close()

    pool = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in pool), "a thread did not finish in time"
    return results, errors
