from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.bilingual import BilingualName, in_language

#: A category can be rated only when it has this many active factors (the source: "5-10 factors").
RATING_READY_MIN_FACTORS = 5
RATING_READY_MAX_FACTORS = 10


class Category(BilingualName):
    """A node of the category tree. Leaves are what products belong to and what gets rated."""

    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    rating_ready = models.BooleanField(
        _("rating-ready"),
        default=False,
        help_text=_("Products of a rating-ready category can be rated. It needs 5 to 10 active factors."),
    )
    min_votes_to_publish = models.PositiveSmallIntegerField(
        _("counted votes needed to publish"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use the rating policy's figure."),
    )
    #: The survey whose ranking the current factors were adopted from; empty when staff chose them alone.
    factors_survey = models.ForeignKey(
        "ratings.FactorSurvey",
        verbose_name=_("factors chosen by survey"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ("position", "id")
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} / {self.name_en}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:category", kwargs={"slug": self.slug})


class Factor(BilingualName):
    """One aspect a category's products are rated on, e.g. shampoo: cleanliness, aroma."""

    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="factors")
    slug = models.SlugField(_("slug"), max_length=60)
    description_zh = models.CharField(_("description (Chinese)"), max_length=300, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    weight = models.DecimalField(
        _("weight"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.00"),
        help_text=_("Relative weight in the comprehensive score. Equal weights weigh every factor fairly."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rating factor")
        verbose_name_plural = _("rating factors")
        ordering = ("category_id", "position", "id")
        constraints = [
            models.UniqueConstraint(fields=["category", "slug"], name="factor_unique_slug_per_category"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="factor_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        return in_language(self.description_zh, self.description_en)


class Brand(BilingualName):
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. CN."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ("name_en", "id")

    def __str__(self) -> str:
        return self.name


class Store(BilingualName):
    class Kind(models.TextChoices):
        FLAGSHIP = "flagship", _("Brand flagship store")
        AUTHORIZED = "authorized", _("Authorized retailer")
        CROSS_BORDER = "cross_border", _("Cross-border store")

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.AUTHORIZED)
    brand = models.ForeignKey(
        Brand,
        verbose_name=_("brand"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stores",
        help_text=_("The brand a flagship store belongs to."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ("name_en", "id")

    def __str__(self) -> str:
        return self.name


class BrandAccount(models.Model):
    """A user account that speaks for a brand or a store, linked by staff.

    It sees its products' ratings read-only (``/brand/``) and can never steer them: it is not invited to
    rate them, and cannot report, judge, appeal or mark helpful anything about them (``catalog.stakes``).
    Exactly one of brand and store; one link per account and target (database constraints).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="brand_accounts"
    )
    brand = models.ForeignKey(
        Brand, verbose_name=_("brand"), null=True, blank=True, on_delete=models.CASCADE, related_name="accounts"
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="accounts"
    )
    note = models.CharField(
        _("staff note"), max_length=200, blank=True, help_text=_("Who asked, and how it was checked.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("brand account")
        verbose_name_plural = _("brand accounts")
        ordering = ("user_id", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(brand__isnull=False, store__isnull=True) | Q(brand__isnull=True, store__isnull=False),
                name="brandaccount_one_target",
                violation_error_message=_("Link the account to a brand or to a store: one of the two."),
            ),
            models.UniqueConstraint(
                fields=["user", "brand"],
                condition=Q(brand__isnull=False),
                name="brandaccount_unique_brand",
                violation_error_message=_("This account is linked to this brand already."),
            ),
            models.UniqueConstraint(
                fields=["user", "store"],
                condition=Q(store__isnull=False),
                name="brandaccount_unique_store",
                violation_error_message=_("This account is linked to this store already."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.brand or self.store}"


class Product(BilingualName):
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    brand = models.ForeignKey(Brand, verbose_name=_("brand"), on_delete=models.PROTECT, related_name="products")
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="products",
        help_text=_("The store that lists this product on the platform."),
    )
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    price = models.DecimalField(_("price (CNY)"), max_digits=10, decimal_places=2)
    is_active = models.BooleanField(_("on sale"), default=True)
    # The latest published rating, copied here by the scoring job (ratings.scoring) so that every list
    # shows score and badge without a join. The versioned source is ratings.ProductResult.
    rating_score = models.FloatField(_("comprehensive score"), null=True, blank=True, editable=False)
    ranking_score = models.FloatField(_("ranking score"), null=True, blank=True, editable=False)
    rated_by = models.PositiveIntegerField(_("counted votes"), default=0, editable=False)
    heart_rank = models.PositiveSmallIntegerField(
        _("place on the Little Red Heart list"), null=True, blank=True, editable=False
    )
    # The place's 90% interval from the scoring job's bootstrap over raters (ratings.rank_intervals):
    # None when the run had none (a product listed by a re-score since the nightly run).
    heart_rank_low = models.PositiveSmallIntegerField(_("likely place from"), null=True, blank=True, editable=False)
    heart_rank_high = models.PositiveSmallIntegerField(_("likely place to"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(
                condition=Q(heart_rank__isnull=True) | Q(ranking_score__isnull=False),
                name="product_listed_only_when_published",
            ),
            models.CheckConstraint(
                condition=Q(rating_score__isnull=True) | Q(rating_score__gte=1, rating_score__lte=5),
                name="product_rating_on_scale",
            ),
            models.CheckConstraint(
                condition=Q(heart_rank_low__isnull=True, heart_rank_high__isnull=True)
                | Q(
                    heart_rank__isnull=False, heart_rank_low__lte=F("heart_rank"), heart_rank_high__gte=F("heart_rank")
                ),
                name="product_rank_interval_holds_rank",
            ),
        ]
        indexes = [
            models.Index(
                fields=["category", "heart_rank"], condition=Q(heart_rank__isnull=False), name="product_heart_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product", kwargs={"slug": self.slug})

    @property
    def description(self) -> str:
        return in_language(self.description_zh, self.description_en)


class OrderLine(models.Model):
    """A purchase record: one line of a store order. Only paid, unrefunded lines are genuine purchases."""

    class Status(models.TextChoices):
        PAID = "paid", _("Paid")
        REFUNDED = "refunded", _("Refunded")
        CANCELLED = "cancelled", _("Cancelled")

    order_ref = models.CharField(_("order reference"), max_length=40)
    line_no = models.PositiveSmallIntegerField(_("line"), default=1)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("buyer"), on_delete=models.PROTECT, related_name="order_lines"
    )
    # Looked up through the genuine-purchase index below; a separate index would only slow bulk loads.
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="order_lines", db_index=False
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="order_lines", db_index=False
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=10, decimal_places=2)
    paid_at = models.DateTimeField(_("paid at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PAID)
    status_changed_at = models.DateTimeField(_("refunded/cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("purchase record")
        verbose_name_plural = _("purchase records")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["order_ref", "line_no"], name="orderline_unique_line"),
            models.CheckConstraint(condition=Q(line_no__gte=1), name="orderline_line_no_positive"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_not_negative"),
            models.CheckConstraint(
                condition=Q(status="paid", status_changed_at__isnull=True)
                | (Q(status__in=["refunded", "cancelled"]) & Q(status_changed_at__isnull=False)),
                name="orderline_status_has_time",
            ),
        ]
        indexes = [
            # Genuine buyers of a product within a window: an index-only scan (see PERFORMANCE.md).
            models.Index(
                fields=["product", "paid_at", "buyer"], condition=Q(status="paid"), name="orderline_genuine_idx"
            ),
            # Raters' other purchases (screening): paid lines counted per buyer by an index-only scan; through
            # the foreign key's index each line's row was read for its status (1.2 s against 0.33 s for the
            # 38,876 raters of a category at full scale).
            models.Index(fields=["buyer"], condition=Q(status="paid"), name="orderline_paid_buyer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref}#{self.line_no}"

    @property
    def is_genuine(self) -> bool:
        return self.status == self.Status.PAID


class Note(models.Model):
    """A community post. Notes mention products; their likes and saves make a product popular."""

    class Visibility(models.TextChoices):
        VISIBLE = "visible", _("Visible")
        HIDDEN = "hidden", _("Hidden by moderation")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.CASCADE, related_name="notes"
    )
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=5000)
    products = models.ManyToManyField(
        Product, verbose_name=_("products mentioned"), through="NoteProduct", related_name="notes", blank=True
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.VISIBLE
    )
    likes_count = models.PositiveIntegerField(_("likes"), default=0, editable=False)
    saves_count = models.PositiveIntegerField(_("saves"), default=0, editable=False)
    published_at = models.DateTimeField(_("published at"), default=timezone.now, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("community note")
        verbose_name_plural = _("community notes")
        ordering = ("-published_at", "-id")

    def __str__(self) -> str:
        return self.title


class NoteProduct(models.Model):
    note = models.ForeignKey(Note, verbose_name=_("note"), on_delete=models.CASCADE)
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, db_index=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("product mention")
        verbose_name_plural = _("product mentions")
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["product", "note"], name="noteproduct_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.note_id} → {self.product_id}"


class Engagement(models.Model):
    """A like or a save of a note by a user, kept with its time so recent popularity can be measured."""

    class Kind(models.TextChoices):
        LIKE = "like", _("Like")
        SAVE = "save", _("Save")

    note = models.ForeignKey(
        Note, verbose_name=_("note"), on_delete=models.CASCADE, related_name="engagements", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="engagements"
    )
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("engagement")
        verbose_name_plural = _("engagements")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["note", "user", "kind"], name="engagement_once_per_user"),
        ]
        indexes = [models.Index(fields=["created_at"], name="engagement_time_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.note_id}"
