"""factory_boy factories: the one way tests make data."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from accounts.models import User
from catalog.models import (
    Brand,
    BrandAccount,
    Category,
    Engagement,
    Factor,
    Note,
    NoteProduct,
    OrderLine,
    Product,
    Store,
)

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Users can sign in at once, as if they had confirmed their address."""
        if create:
            self.save()
            self.emailaddress_set.create(email=self.email, verified=True, primary=True)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name_zh = factory.Sequence(lambda n: f"品类{n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    position = factory.Sequence(lambda n: n)


class FactorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Factor

    category = factory.SubFactory(CategoryFactory)
    name_zh = factory.Sequence(lambda n: f"维度{n}")
    name_en = factory.Sequence(lambda n: f"Factor {n}")
    slug = factory.Sequence(lambda n: f"factor-{n}")
    description_zh = "说明"
    description_en = "What this factor measures."
    position = factory.Sequence(lambda n: n)


def rating_ready_category(factors: int = 5, **kwargs: Any) -> Category:
    """A category with its factors, marked rating-ready after they exist (as the database requires)."""
    category = CategoryFactory(**kwargs)
    FactorFactory.create_batch(factors, category=category)
    category.rating_ready = True
    category.save(update_fields=["rating_ready"])
    return category


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name_zh = factory.Sequence(lambda n: f"品牌{n}")
    name_en = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")
    country = "CN"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name_zh = factory.Sequence(lambda n: f"店铺{n}")
    name_en = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    brand = factory.SubFactory(BrandFactory)
    store = factory.SubFactory(StoreFactory)
    name_zh = factory.Sequence(lambda n: f"商品{n}")
    name_en = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description_zh = "一款好产品。"
    description_en = "A good product."
    price = Decimal("99.00")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order_ref = factory.Sequence(lambda n: f"ORD{n:08d}")
    line_no = 1
    buyer = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    store = factory.SelfAttribute("product.store")
    quantity = 1
    unit_price = factory.SelfAttribute("product.price")
    paid_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note
        skip_postgeneration_save = True

    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"My note {n}")
    body = "I tried it for a month."

    @factory.post_generation
    def mentions(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        for product in extracted or []:
            NoteProduct.objects.create(note=self, product=product)


class EngagementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engagement

    note = factory.SubFactory(NoteFactory)
    user = factory.SubFactory(UserFactory)
    kind = Engagement.Kind.LIKE


def brand_account(*, user: User | None = None, brand: Brand | None = None, store: Store | None = None) -> User:
    """An account staff linked to this brand or store (a new account unless ``user`` is given)."""
    user = user or UserFactory(display_name="Brand team")
    BrandAccount.objects.create(user=user, brand=brand, store=store)
    return user
