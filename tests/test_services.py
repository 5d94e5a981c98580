"""The real services the production settings point at."""

import os
import uuid

import pytest
from django.core.cache.backends.redis import RedisCache


@pytest.mark.redis
def test_the_redis_cache_is_shared_between_cache_clients() -> None:
    # Two clients stand for two web processes: what one counts (e.g. failed sign-ins), the other sees.
    prefix = f"test-{uuid.uuid4().hex}"
    first = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": prefix})
    second = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": prefix})

    first.set("failed-logins", 4, timeout=30)
    second.incr("failed-logins")

    assert first.get("failed-logins") == 5
    first.delete("failed-logins")
