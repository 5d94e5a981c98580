"""Brands can never steer: what an account linked to a brand or a store (``BrandAccount``) may not touch.

A linked account has a stake in every product of its brand (``Product.brand``) and of its store
(``Product.store``). The services of ratings and moderation ask here before they store anything; the
eligibility job's SQL and the managers' queue filter use the same rule as a subquery. One rule, one place:
a product is "theirs" when the account is linked to its brand or to its store.
"""

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.functional import Promise

from catalog.models import BrandAccount, Product
from xhs.cache import NOT_READ, forget_later


class BrandStakeRefused(PermissionDenied):
    """An action about a product the account speaks for. A ``PermissionDenied``: a view that does not catch
    it answers 403; views that do show ``message``, which says what was refused and why."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


def linked_products(user_id: int) -> QuerySet[Any]:
    """The ids (``pk`` values) of the products this account has a stake in, as an uncorrelated subquery:
    the database runs it once per statement, however many rows it filters."""
    links = BrandAccount.objects.filter(user_id=user_id).order_by()
    return (
        Product.objects.filter(
            Q(brand_id__in=links.filter(brand__isnull=False).values("brand_id"))
            | Q(store_id__in=links.filter(store__isnull=False).values("store_id"))
        )
        .order_by()
        .values("pk")
    )


def has_stake(*, user_id: int | None, product_ids: Iterable[int]) -> bool:
    """Whether the account speaks for any of these products (one query; none for an anonymous visitor or
    no product)."""
    wanted = [pk for pk in product_ids if pk is not None]
    if user_id is None or not wanted:
        return False
    return Product.objects.filter(pk__in=wanted).filter(pk__in=linked_products(user_id)).exists()


def refuse_if_stake(*, user_id: int | None, product_ids: Iterable[int], message: str | Promise) -> None:
    """Raise ``BrandStakeRefused(message)`` if the account speaks for any of these products."""
    if has_stake(user_id=user_id, product_ids=product_ids):
        raise BrandStakeRefused(message)


#: How long the cache keeps whether an account is linked; forgotten sooner when a link is made or removed.
LINK_SECONDS = 300


def link_key(user_id: int) -> str:
    """Where whether the account is linked is kept (``brand_link_cached``)."""
    return f"catalog:brand-link:{user_id}"


def is_brand_account(user_id: int | None) -> bool:
    """Whether staff linked the account to a brand or a store, from the database: what services ask before they
    store anything (``ratings.surveys``). The SQL is written out: the ORM's building of this fixed query cost
    ten times what running it does."""
    if user_id is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM catalog_brandaccount WHERE user_id = %s LIMIT 1", [user_id])
        return cursor.fetchone() is not None


def brand_link_cached(user_id: int | None, *, kept: object = NOT_READ) -> bool:
    """``is_brand_account`` for the brand's read-only pages, asked at every request: one cache read, forgotten
    whenever a link is saved or deleted, cascades included (``link_forget``), so an account staff unlinked sees
    nothing more at once. Only for showing: while Redis is unreachable a forgotten copy can outlive its change
    by ``LINK_SECONDS``, so what stores anything asks ``is_brand_account``. ``kept``: the value under ``link_key``
    when the caller read it already."""
    if user_id is None:
        return False
    linked = cache.get(link_key(user_id)) if kept is NOT_READ else kept
    if not isinstance(linked, bool):
        linked = is_brand_account(user_id)
        cache.set(link_key(user_id), linked, LINK_SECONDS)
    return linked


def link_forget(sender: Any, instance: BrandAccount, **kwargs: Any) -> None:
    """A ``post_save``/``post_delete`` receiver: forget whether the link's account is linked."""
    forget_later([link_key(instance.user_id)])
