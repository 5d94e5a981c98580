"""The shopper's catalog pages, through the test client."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Note
from tests.factories import (
    CategoryFactory,
    EngagementFactory,
    NoteFactory,
    OrderLineFactory,
    ProductFactory,
    rating_ready_category,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shampoo() -> Any:
    hair = CategoryFactory(name_zh="洗护发", name_en="Hair care", slug="hair-care")
    return rating_ready_category(factors=6, name_zh="洗发水", name_en="Shampoo", slug="shampoo", parent=hair)


def test_home_shows_the_category_tree_in_chinese_by_default(client: Client, shampoo: Any) -> None:
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "洗发水" in html and "洗护发" in html


def test_an_english_browser_gets_english_pages(client: Client, shampoo: Any) -> None:
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in html
    assert "Shampoo" in html
    assert "Product ratings you can trust" in html


def test_a_chinese_browser_from_the_mainland_gets_simplified_chinese(client: Client, shampoo: Any) -> None:
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "值得信赖的商品评分" in html


def test_the_language_switch_overrides_the_browser(client: Client, shampoo: Any) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 302
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in html


def test_product_page_shows_brand_store_price_image_and_factors(client: Client, shampoo: Any) -> None:
    product = ProductFactory(category=shampoo, name_zh="丝滑洗发露", name_en="Silky Shampoo")
    OrderLineFactory(product=product, quantity=3)
    OrderLineFactory(product=product, quantity=2, status="refunded", status_changed_at=product.created_at)

    html = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Silky Shampoo" in html
    assert product.brand.name_en in html
    assert product.store.name_en in html
    assert "¥99.00" in html
    assert reverse("catalog:product_image", args=[product.slug]) in html
    for factor in shampoo.factors.all():
        assert factor.name_en in html
    # Refunded units are not genuine sales.
    assert "3 units" in html


def test_product_image_is_a_generated_svg(client: Client) -> None:
    product = ProductFactory()
    response = client.get(reverse("catalog:product_image", args=[product.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def test_a_hidden_note_never_shows_on_the_product_page(client: Client) -> None:
    product = ProductFactory()
    NoteFactory(title="Visible review", mentions=[product])
    NoteFactory(title="Spam review", mentions=[product], visibility=Note.Visibility.HIDDEN)
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Visible review" in html
    assert "Spam review" not in html


def test_search_finds_products_by_chinese_or_english_name(client: Client) -> None:
    ProductFactory(name_zh="氨基酸洗面奶", name_en="Amino Cleanser")
    ProductFactory(name_zh="防晒霜", name_en="Sunscreen")
    zh = client.get(reverse("catalog:search"), {"q": "洗面奶"}).content.decode()
    en = client.get(reverse("catalog:search"), {"q": "amino"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "氨基酸洗面奶" in zh and "防晒霜" not in zh
    assert "Amino Cleanser" in en and "Sunscreen" not in en


def test_unknown_product_or_category_is_a_404(client: Client) -> None:
    assert client.get("/products/no-such-thing/").status_code == 404
    assert client.get("/categories/no-such-thing/").status_code == 404


def test_pages_refuse_state_changing_methods(client: Client, shampoo: Any) -> None:
    assert client.post("/").status_code == 405
    assert client.post(shampoo.get_absolute_url()).status_code == 405


def test_popular_products_rank_by_recent_likes_and_saves(client: Client) -> None:
    quiet, loved = ProductFactory(name_en="Quiet One"), ProductFactory(name_en="Loved One")
    EngagementFactory(note=NoteFactory(mentions=[quiet]))
    loved_note = NoteFactory(mentions=[loved])
    EngagementFactory.create_batch(3, note=loved_note)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.index("Loved One") < html.index("Quiet One")


@pytest.mark.parametrize("rows", [2, 20])
def test_page_query_counts_do_not_grow_with_rows(
    client: Client, shampoo: Any, rows: int, django_assert_max_num_queries: Any
) -> None:
    products = ProductFactory.create_batch(rows, category=shampoo)
    for product in products:
        OrderLineFactory(product=product)
        NoteFactory(mentions=[product])
    target = products[0]
    for url in ["/", reverse("catalog:categories"), shampoo.get_absolute_url(), target.get_absolute_url()]:
        with django_assert_max_num_queries(6):
            assert client.get(url).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(reverse("catalog:search"), {"q": "Product"}).status_code == 200
