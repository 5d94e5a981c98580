"""Personas and service switches shared by the whole suite."""

import os
import shutil
from typing import Any

import pytest
from django.conf import settings

from tests.factories import OrderLineFactory, ProductFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Skip, with a reason shown in the summary, every test whose service is missing here."""
    missing = {
        "postgres": None if _on_postgres() else "needs PostgreSQL: set DATABASE_URL=postgres://...",
        "redis": None if os.environ.get("REDIS_URL") else "needs Redis: set REDIS_URL=redis://...",
        "browser": None if shutil.which(CHROMIUM) else f"needs Chromium at {CHROMIUM} (apt-get install chromium)",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def shopper(db: None) -> Any:
    """A signed-up visitor with no purchases."""
    return UserFactory(display_name="Shopper")


@pytest.fixture
def buyer(db: None) -> Any:
    """A user with a genuine purchase in the last year."""
    user = UserFactory(display_name="Buyer")
    OrderLineFactory(buyer=user, product=ProductFactory())
    return user


@pytest.fixture
def staff(db: None) -> Any:
    return UserFactory(display_name="Staff", is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Each test starts with an empty cache, as pages cache what is expensive."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
