"""Staff curating the catalog in Django admin, through the test client."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import admin_pagination
from catalog.models import Category, Factor, Note, OrderLine
from tests.factories import (
    BrandFactory,
    CategoryFactory,
    EngagementFactory,
    FactorFactory,
    NoteFactory,
    OrderLineFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
    rating_ready_category,
)

pytestmark = pytest.mark.django_db

TOO_FEW_OR_MANY = "needs 5 to 10 active factors"


@pytest.fixture
def staff_client(staff: Any) -> Client:
    # English, so the assertions read the source strings whatever the translations say.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    return client


def category_form(category: Category, *, rating_ready: bool, **changes: Any) -> dict[str, Any]:
    data = {
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "slug": category.slug,
        "parent": category.parent_id or "",
        "position": category.position,
        "factors-TOTAL_FORMS": 0,
        "factors-INITIAL_FORMS": 0,
        "factors-MIN_NUM_FORMS": 0,
        "factors-MAX_NUM_FORMS": 1000,
        **changes,
    }
    if rating_ready:
        data["rating_ready"] = "on"
    return data


def with_existing_factors(data: dict[str, Any], category: Category, **changes_by_index: dict[str, Any]) -> None:
    """Add the category's factors to the form as the admin page shows them, with some changes."""
    factors = list(category.factors.order_by("position", "id"))
    for index, factor in enumerate(factors):
        row = {
            "id": factor.pk,
            "category": category.pk,
            "name_zh": factor.name_zh,
            "name_en": factor.name_en,
            "slug": factor.slug,
            "description_zh": factor.description_zh,
            "description_en": factor.description_en,
            "position": factor.position,
            "weight": factor.weight,
            "active": "on" if factor.active else "",
            **changes_by_index.get(f"f{index}", {}),
        }
        for key, value in row.items():
            if value != "":
                data[f"factors-{index}-{key}"] = value
    data["factors-TOTAL_FORMS"] = data["factors-INITIAL_FORMS"] = len(factors)


def with_new_factors(data: dict[str, Any], count: int, *, active: bool = True) -> None:
    start = int(data["factors-TOTAL_FORMS"])
    for index in range(start, start + count):
        data[f"factors-{index}-name_zh"] = f"维度{index}"
        data[f"factors-{index}-name_en"] = f"Factor {index}"
        data[f"factors-{index}-slug"] = f"factor-{index}"
        data[f"factors-{index}-position"] = index
        data[f"factors-{index}-weight"] = "1.00"
        if active:
            data[f"factors-{index}-active"] = "on"
    data["factors-TOTAL_FORMS"] = start + count


def change_url(category: Category) -> str:
    return reverse("admin:catalog_category_change", args=[category.pk])


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Rating-ready needs 5 to 10 active factors --------------------------------------------------------


def test_a_rating_ready_category_with_four_active_factors_is_refused_and_nothing_is_saved(
    staff_client: Client,
) -> None:
    # given
    category = CategoryFactory(name_en="Shampoo")
    data = category_form(category, rating_ready=True, name_en="Shampoo, renamed")
    with_new_factors(data, 4)
    # when
    response = staff_client.post(change_url(category), data)
    # then
    assert response.status_code == 200
    assert TOO_FEW_OR_MANY in response.content.decode()
    assert "it would have 4" in response.content.decode()
    assert not Factor.objects.exists()
    category.refresh_from_db()
    assert category.name_en == "Shampoo"
    assert category.rating_ready is False


def test_a_rating_ready_category_with_five_active_factors_is_saved(staff_client: Client) -> None:
    category = CategoryFactory()
    data = category_form(category, rating_ready=True)
    with_new_factors(data, 5)

    response = staff_client.post(change_url(category), data)

    assert response.status_code == 302
    category.refresh_from_db()
    assert category.rating_ready is True
    assert category.factors.filter(active=True).count() == 5
    # Weights default to equal: every factor weighs the same in the comprehensive score.
    assert set(category.factors.values_list("weight", flat=True)) == {Decimal("1.00")}


def test_a_rating_ready_category_with_eleven_active_factors_is_refused(staff_client: Client) -> None:
    category = CategoryFactory()
    data = category_form(category, rating_ready=True)
    with_new_factors(data, 11)

    response = staff_client.post(change_url(category), data)

    assert response.status_code == 200
    assert "it would have 11" in response.content.decode()
    assert not Factor.objects.exists()


def test_inactive_factors_do_not_count(staff_client: Client) -> None:
    category = CategoryFactory()
    data = category_form(category, rating_ready=True)
    with_new_factors(data, 4)
    with_new_factors(data, 3, active=False)

    response = staff_client.post(change_url(category), data)

    assert "it would have 4" in response.content.decode()
    assert not Factor.objects.exists()


def test_deactivating_or_deleting_a_factor_of_a_rating_ready_category_is_refused_below_five(
    staff_client: Client,
) -> None:
    category = rating_ready_category(factors=5)
    deactivate = category_form(category, rating_ready=True)
    with_existing_factors(deactivate, category, f0={"active": ""})
    delete = category_form(category, rating_ready=True)
    with_existing_factors(delete, category, f4={"DELETE": "on"})

    for data in (deactivate, delete):
        response = staff_client.post(change_url(category), data)
        assert "it would have 4" in response.content.decode()

    assert category.factors.filter(active=True).count() == 5


def test_a_category_that_is_not_rating_ready_may_have_any_number_of_factors(staff_client: Client) -> None:
    category = CategoryFactory()
    data = category_form(category, rating_ready=False)
    with_new_factors(data, 2)

    response = staff_client.post(change_url(category), data)

    assert response.status_code == 302
    assert category.factors.count() == 2


def test_a_new_category_is_checked_the_same_way(staff_client: Client) -> None:
    data = category_form(Category(name_zh="面霜", name_en="Face cream", slug="face-cream"), rating_ready=True)
    with_new_factors(data, 4)

    response = staff_client.post(reverse("admin:catalog_category_add"), data)

    assert TOO_FEW_OR_MANY in response.content.decode()
    assert not Category.objects.filter(slug="face-cream").exists()


def test_a_category_cannot_be_moved_under_its_own_sub_category(staff_client: Client) -> None:
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)

    response = staff_client.post(change_url(root), category_form(root, rating_ready=False, parent=grandchild.pk))

    assert "cannot be placed under itself or under one of its sub-categories" in response.content.decode()
    root.refresh_from_db()
    assert root.parent_id is None


def test_the_category_tree_is_at_most_four_levels_deep(staff_client: Client) -> None:
    level_1 = CategoryFactory()
    level_2 = CategoryFactory(parent=level_1)
    level_3 = CategoryFactory(parent=level_2)
    level_4 = CategoryFactory(parent=level_3)
    branch = CategoryFactory()
    CategoryFactory(parent=branch)

    too_deep = staff_client.post(change_url(branch), category_form(branch, rating_ready=False, parent=level_3.pk))
    fits = staff_client.post(change_url(branch), category_form(branch, rating_ready=False, parent=level_2.pk))
    new = staff_client.post(
        reverse("admin:catalog_category_add"),
        category_form(Category(name_zh="五", name_en="Five", slug="five"), rating_ready=False, parent=level_4.pk),
    )

    assert "at most 4 levels" in too_deep.content.decode()
    assert fits.status_code == 302
    branch.refresh_from_db()
    assert branch.parent == level_2
    assert "at most 4 levels" in new.content.decode()


def test_the_mark_action_marks_only_categories_with_five_to_ten_active_factors(staff_client: Client) -> None:
    # given
    ready = CategoryFactory(name_en="Ready")
    FactorFactory.create_batch(6, category=ready)
    short = CategoryFactory(name_en="Short")
    FactorFactory.create_batch(4, category=short)
    FactorFactory.create_batch(2, category=short, active=False)
    # when
    response = staff_client.post(
        reverse("admin:catalog_category_changelist"),
        {"action": "mark_rating_ready", "_selected_action": [ready.pk, short.pk]},
        follow=True,
    )
    # then
    ready.refresh_from_db()
    short.refresh_from_db()
    assert ready.rating_ready is True
    assert short.rating_ready is False
    notes = messages_of(response)
    assert "1 category is rating-ready." in notes
    assert any("Short" in note and "(4)" in note and "5 to 10 active factors" in note for note in notes)


def test_the_unmark_action_takes_categories_out_of_rating(staff_client: Client) -> None:
    category = rating_ready_category(factors=5)

    staff_client.post(
        reverse("admin:catalog_category_changelist"),
        {"action": "unmark_rating_ready", "_selected_action": [category.pk]},
    )

    category.refresh_from_db()
    assert category.rating_ready is False


def test_the_category_list_shows_the_tree_each_parent_followed_by_its_children(staff_client: Client) -> None:
    # given: positions that would interleave the branches if sorted flat
    skin = CategoryFactory(name_en="Skin care", position=2)
    hair = CategoryFactory(name_en="Hair care", position=1)
    CategoryFactory(name_en="Face cream", parent=skin, position=0)
    shampoo = CategoryFactory(name_en="Shampoo", parent=hair, position=5)
    CategoryFactory(name_en="Anti-dandruff", parent=shampoo, position=0)
    CategoryFactory(name_en="Conditioner", parent=hair, position=6)
    # when
    response = staff_client.get(reverse("admin:catalog_category_changelist"))
    # then
    names = [str(category).split(" / ")[1] for category in response.context["cl"].result_list]
    assert names == ["Hair care", "Shampoo", "Anti-dandruff", "Conditioner", "Skin care", "Face cream"]
    html = response.content.decode()
    assert "\u2003\u2003\u2003\u2003└\u2002" in html  # Anti-dandruff, two levels down


def test_the_category_list_filters_by_parent_or_top_level(staff_client: Client) -> None:
    hair = CategoryFactory(name_en="Hair care")
    CategoryFactory(name_en="Shampoo", parent=hair)
    CategoryFactory(name_en="Face cream")
    url = reverse("admin:catalog_category_changelist")

    children = staff_client.get(url, {"parent": hair.pk}).context["cl"].result_list
    top_level = staff_client.get(url, {"parent": "none"}).context["cl"].result_list

    assert [str(category).split(" / ")[1] for category in children] == ["Shampoo"]
    assert [str(category).split(" / ")[1] for category in top_level] == ["Hair care", "Face cream"]


# --- Every list: it answers, with a number of queries that does not grow with its rows ---------------


def _categories(n: int) -> None:
    root = CategoryFactory()
    CategoryFactory.create_batch(n - 1, parent=root)


def _notes(n: int) -> None:
    product = ProductFactory()
    for _ in range(n):
        NoteFactory(mentions=[product])


CHANGELISTS: dict[str, Callable[[int], Any]] = {
    "category": _categories,
    "factor": lambda n: FactorFactory.create_batch(n),
    "brand": lambda n: BrandFactory.create_batch(n),
    "store": lambda n: StoreFactory.create_batch(n, brand=BrandFactory()),
    "product": lambda n: ProductFactory.create_batch(n),
    "orderline": lambda n: OrderLineFactory.create_batch(n),
    "note": _notes,
    "engagement": lambda n: EngagementFactory.create_batch(n),
}
MAX_CHANGELIST_QUERIES = 10


@pytest.mark.parametrize("model", CHANGELISTS)
def test_each_list_answers_with_a_fixed_number_of_queries(
    staff_client: Client, django_assert_max_num_queries: Any, model: str
) -> None:
    url = reverse(f"admin:catalog_{model}_changelist")
    staff_client.get(url)  # warm the session and content types
    CHANGELISTS[model](3)
    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES) as few:
        response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 3

    CHANGELISTS[model](27)
    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES) as many:
        response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 30
    assert len(many) == len(few)


@pytest.mark.parametrize("model", ["orderline", "note", "engagement"])
def test_the_big_lists_never_count_facets(staff_client: Client, django_assert_max_num_queries: Any, model: str) -> None:
    url = reverse(f"admin:catalog_{model}_changelist")
    CHANGELISTS[model](3)
    staff_client.get(url)
    with CaptureQueriesContext(connection) as plain:
        staff_client.get(url)

    with django_assert_max_num_queries(len(plain)):
        response = staff_client.get(url, {"_facets": "True"})

    assert response.status_code == 200


def test_purchase_records_are_found_by_exact_order_reference(staff_client: Client) -> None:
    line = OrderLineFactory(order_ref="TB2024-0001")
    OrderLineFactory(order_ref="TB2024-0002")

    response = staff_client.get(reverse("admin:catalog_orderline_changelist"), {"q": "TB2024-0001"})

    assert list(response.context["cl"].result_list) == [line]


def test_purchase_records_are_found_by_buyer_email_in_any_case(staff_client: Client) -> None:
    buyer = UserFactory(email="li.na@example.com")
    lines = OrderLineFactory.create_batch(2, buyer=buyer)
    OrderLineFactory()

    response = staff_client.get(reverse("admin:catalog_orderline_changelist"), {"q": " Li.Na@Example.com "})

    assert set(response.context["cl"].result_list) == set(lines)


def test_purchase_records_filter_by_status(staff_client: Client) -> None:
    OrderLineFactory()
    refunded = OrderLineFactory(status=OrderLine.Status.REFUNDED, status_changed_at="2025-01-02T00:00:00Z")

    response = staff_client.get(reverse("admin:catalog_orderline_changelist"), {"status__exact": "refunded"})

    assert list(response.context["cl"].result_list) == [refunded]


def test_notes_are_hidden_and_shown_again_by_admin_actions(staff_client: Client) -> None:
    notes = NoteFactory.create_batch(2)
    url = reverse("admin:catalog_note_changelist")

    response = staff_client.post(url, {"action": "hide", "_selected_action": [n.pk for n in notes]}, follow=True)
    assert set(Note.objects.values_list("visibility", flat=True)) == {Note.Visibility.HIDDEN}
    assert "2 notes are now “Hidden by moderation”." in messages_of(response)

    staff_client.post(url, {"action": "show", "_selected_action": [notes[0].pk]})
    notes[0].refresh_from_db()
    assert notes[0].visibility == Note.Visibility.VISIBLE


def test_notes_filter_by_visibility(staff_client: Client) -> None:
    NoteFactory()
    hidden = NoteFactory(visibility=Note.Visibility.HIDDEN)

    response = staff_client.get(reverse("admin:catalog_note_changelist"), {"visibility__exact": "hidden"})

    assert list(response.context["cl"].result_list) == [hidden]


def test_a_note_page_lists_its_product_mentions_with_an_autocomplete(staff_client: Client) -> None:
    product = ProductFactory(name_en="Silky Shampoo")
    note = NoteFactory(mentions=[product])

    response = staff_client.get(reverse("admin:catalog_note_change", args=[note.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="noteproduct_set-0-product"' in html
    assert "admin-autocomplete" in html


def test_change_pages_of_every_model_open(staff_client: Client) -> None:
    line = OrderLineFactory()
    engagement = EngagementFactory()
    factor = FactorFactory()
    for name, pk in [
        ("category", line.product.category_id),
        ("brand", line.product.brand_id),
        ("store", line.store_id),
        ("product", line.product_id),
        ("orderline", line.pk),
        ("engagement", engagement.pk),
        ("factor", factor.pk),
    ]:
        assert staff_client.get(reverse(f"admin:catalog_{name}_change", args=[pk])).status_code == 200, name
    for name in ("category", "brand", "store", "product", "orderline", "note"):
        assert staff_client.get(reverse(f"admin:catalog_{name}_add")).status_code == 200, name


@pytest.mark.parametrize("model", CHANGELISTS)
def test_non_staff_are_sent_to_the_login_page(client: Client, shopper: Any, model: str) -> None:
    client.force_login(shopper)

    response = client.get(reverse(f"admin:catalog_{model}_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- PostgreSQL: the database is the guarantee, and the admin never turns it into a 500 ----------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_rejects_a_rating_ready_category_with_four_active_factors() -> None:
    category = CategoryFactory()
    FactorFactory.create_batch(4, category=category)
    category.rating_ready = True

    with pytest.raises(IntegrityError, match="rating-ready but has 4 active factors"), transaction.atomic():
        category.save()

    category.refresh_from_db()
    assert category.rating_ready is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_when_the_database_refuses_a_category_the_admin_shows_a_message_not_an_error_page(
    staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the form's own check sees stale factors, as when two people edit the category at once
    monkeypatch.setattr("catalog.services.category_check_rating_ready", lambda **kwargs: None)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    category = CategoryFactory()
    data = category_form(category, rating_ready=True)
    with_new_factors(data, 4)
    # when
    response = client.post(change_url(category), data, follow=True)
    # then
    assert response.status_code == 200
    assert any("Nothing was saved" in message for message in messages_of(response))
    category.refresh_from_db()
    assert category.rating_ready is False
    assert not Factor.objects.exists()


@pytest.mark.postgres
def test_the_purchase_list_never_counts_the_whole_table(staff_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a table "too big to count" (the limit lowered to keep the test small)
    monkeypatch.setattr(admin_pagination, "EXACT_COUNT_LIMIT", 5)
    OrderLineFactory.create_batch(12)
    # when
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse("admin:catalog_orderline_changelist"))
    # then: every count stops at the limit, and the planner's estimate numbers the pages
    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
    assert counts
    assert all("LIMIT 6" in sql for sql in counts)
    assert response.context["cl"].result_count >= 6
    assert len(response.context["cl"].result_list) == 12


def test_the_purchase_list_counts_exactly_below_the_limit(staff_client: Client) -> None:
    OrderLineFactory.create_batch(4)

    response = staff_client.get(reverse("admin:catalog_orderline_changelist"), {"status__exact": "paid"})

    assert response.context["cl"].result_count == 4
