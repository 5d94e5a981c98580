from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Services' messages are read in English here (the site's default language is Chinese)."""
    with translation.override("en"):
        yield
