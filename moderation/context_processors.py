from typing import Any

from django.http import HttpRequest


def manager(request: HttpRequest) -> dict[str, Any]:
    """Whether the signed-in user is an ecosystem manager now (one query, only when signed in)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    term = getattr(request, "manager_term", None)  # the moderation pages looked it up already
    if term is not None:
        return {"is_manager": True}
    from moderation.services import current_term

    return {"is_manager": current_term(user=user) is not None}
