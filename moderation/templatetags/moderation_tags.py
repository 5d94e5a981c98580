from collections.abc import Iterable, Mapping
from typing import Any

from django import template

from moderation.reasons import reasons_text

register = template.Library()


@register.filter
def reasons(evidence: Iterable[Mapping[str, Any]]) -> list[str]:
    """Screening evidence as readable sentences in the current language."""
    return reasons_text(evidence or [])
