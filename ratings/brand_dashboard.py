"""Reads of a brand's own page (``/brand/``): its products' ratings as a brand's marketing team sees them.

Read-only, for an account staff linked to a brand or a store (``catalog.BrandAccount``). Every figure is one
the public pages or the methodology already show; nothing here lets a brand act on a rating
(``catalog.stakes``). A fixed number of queries (ten), however many products, factors and months: each
read is one aggregate over all the account's products.
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from django.db.models import Avg, Count, Prefetch
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from catalog import stakes
from catalog.models import Brand, BrandAccount, Product, Store
from ratings.eligibility import policy_get
from ratings.models import Campaign, FactorResult, ProductResult, Vote

#: How far back the monthly trend goes.
TREND_MONTHS = 12
#: How many recent comments the page shows (the CSV has the figures, not the words).
RECENT_COMMENTS = 8


@dataclass(frozen=True)
class FactorRow:
    name: str
    mean: float | None
    votes: int
    #: the category's average for the same factor: the mean of its published products' means
    category_average: float | None

    @property
    def difference(self) -> float | None:
        if self.mean is None or self.category_average is None:
            return None
        return self.mean - self.category_average


@dataclass(frozen=True)
class MonthPoint:
    month: date
    mean: float | None
    votes: int


class Standing:
    """Where a product stands in the programme, first step missing first."""

    NOT_RATED = "not_rated"  # its category is not rated (yet)
    NOT_SELECTED = "not_selected"  # rated category, but no campaign has opened for it
    COLLECTING = "collecting"  # votes are coming in; not enough counted yet
    PUBLISHED = "published"  # its score is public
    LISTED = "listed"  # and it is on the Little Red Heart list


STANDING_LABELS = {
    Standing.NOT_RATED: gettext_lazy("Category not rated yet"),
    Standing.NOT_SELECTED: gettext_lazy("Not selected for rating yet"),
    Standing.COLLECTING: gettext_lazy("Collecting votes"),
    Standing.PUBLISHED: gettext_lazy("Score published"),
    Standing.LISTED: gettext_lazy("On the Little Red Heart list"),
}


class SupportsWrite(Protocol):
    def write(self, text: str, /) -> Any: ...


@dataclass
class ProductReport:
    product: Product
    result: ProductResult | None
    factors: list[FactorRow]
    trend: list[MonthPoint]
    category_score: float | None
    min_votes: int
    open_campaign_closes: datetime | None
    standing: str = Standing.NOT_RATED

    @property
    def standing_label(self) -> str:
        return str(STANDING_LABELS[self.standing])

    @property
    def counted(self) -> int:
        return self.result.counted if self.result is not None else 0

    @property
    def votes_needed(self) -> int:
        """Counted votes still missing before the score is published (0 once it is)."""
        if self.result is not None and self.result.published:
            return 0
        return max(0, self.min_votes - self.counted)

    @property
    def score(self) -> float | None:
        if self.result is None or not self.result.published:
            return None
        return self.result.comprehensive


@dataclass
class BrandDashboard:
    brands: list[Brand]
    stores: list[Store]
    products: list[ProductReport]
    comments: Sequence[Vote]
    months: list[date] = field(default_factory=list)

    @property
    def published(self) -> int:
        return sum(1 for report in self.products if report.score is not None)

    @property
    def counted(self) -> int:
        return sum(report.counted for report in self.products)

    @property
    def listed(self) -> int:
        return sum(1 for report in self.products if report.standing == Standing.LISTED)


def linked_targets(user: User) -> tuple[list[Brand], list[Store]]:
    """The brands and stores this account speaks for (one query); both empty: not a brand account."""
    links = list(BrandAccount.objects.filter(user=user).select_related("brand", "store").order_by("pk"))
    return [link.brand for link in links if link.brand], [link.store for link in links if link.store]


def _months(now: datetime) -> list[date]:
    """The first day of each of the last ``TREND_MONTHS`` months, oldest first, in the site's time zone."""
    today = timezone.localdate(now)
    year, month = today.year, today.month
    firsts = []
    for _step in range(TREND_MONTHS):
        firsts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return firsts[::-1]


def _standing(report: ProductReport) -> str:
    product = report.product
    if product.heart_rank is not None:
        return Standing.LISTED
    if report.score is not None:
        return Standing.PUBLISHED
    if report.open_campaign_closes is not None or report.result is not None:
        return Standing.COLLECTING
    if product.category.rating_ready:
        return Standing.NOT_SELECTED
    return Standing.NOT_RATED


def brand_dashboard(*, user: User, now: datetime | None = None) -> BrandDashboard:
    """Everything ``/brand/`` shows for this account, in ten queries whatever it holds."""
    now = now or timezone.now()
    brands, stores = linked_targets(user)
    if not brands and not stores:
        return BrandDashboard(brands=[], stores=[], products=[], comments=[])
    products = list(
        Product.objects.filter(pk__in=stakes.linked_products(user.pk))
        .select_related("category", "brand", "store")
        .order_by("category__position", "category_id", "name_en", "id")
    )
    ids = [product.pk for product in products]
    category_ids = sorted({product.category_id for product in products})
    results = {
        result.product_id: result
        for result in ProductResult.objects.filter(product_id__in=ids, is_latest=True).prefetch_related(
            Prefetch("factors", queryset=FactorResult.objects.select_related("campaign_factor").order_by("position"))
        )
    }
    # The category's average per factor: the mean of its published products' latest means, each product once.
    averages: dict[tuple[int, int | None], float] = {
        (row["result__category_id"], row["campaign_factor__factor_id"]): row["average"]
        for row in FactorResult.objects.filter(
            result__is_latest=True, result__published=True, result__category_id__in=category_ids, mean__isnull=False
        )
        .values("result__category_id", "campaign_factor__factor_id")
        .annotate(average=Avg("mean"))
        .order_by()
    }
    category_scores = dict(
        ProductResult.objects.filter(is_latest=True, published=True, category_id__in=category_ids)
        .values("category_id")
        .annotate(average=Avg("comprehensive"))
        .order_by()
        .values_list("category_id", "average")
    )
    months = _months(now)
    since = timezone.make_aware(datetime.combine(months[0], datetime.min.time()))
    monthly: dict[tuple[int, date], tuple[float | None, int]] = {}
    for row in (
        Vote.objects.filter(product_id__in=ids, verdict=Vote.Verdict.COUNTED, submitted_at__gte=since)
        .annotate(month=TruncMonth("submitted_at"))
        .values("product_id", "month")
        .annotate(mean=Avg("scores__score"), votes=Count("id", distinct=True))
        .order_by()
    ):
        month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        monthly[(row["product_id"], month)] = (row["mean"], row["votes"])
    open_campaigns = dict(
        Campaign.objects.filter(product_id__in=ids, status=Campaign.Status.OPEN, closes_at__gt=now).values_list(
            "product_id", "closes_at"
        )
    )
    policy_votes = policy_get().min_votes_to_publish
    comments = list(
        Vote.objects.filter(product_id__in=ids, verdict=Vote.Verdict.COUNTED)
        .exclude(comment="")
        .select_related("product")
        .annotate(mean=Avg("scores__score"))
        .order_by("-submitted_at", "-id")[:RECENT_COMMENTS]
    )

    reports = []
    for product in products:
        result = results.get(product.pk)
        factor_rows = [
            FactorRow(
                name=factor.name,
                mean=factor.mean,
                votes=factor.votes,
                category_average=averages.get((product.category_id, factor.campaign_factor.factor_id)),
            )
            for factor in (result.factors.all() if result is not None else [])
        ]
        trend = [MonthPoint(month, *monthly.get((product.pk, month), (None, 0))) for month in months]
        report = ProductReport(
            product=product,
            result=result,
            factors=factor_rows,
            trend=trend,
            category_score=category_scores.get(product.category_id),
            min_votes=result.min_votes if result is not None else product.category.min_votes_to_publish or policy_votes,
            open_campaign_closes=open_campaigns.get(product.pk),
        )
        report.standing = _standing(report)
        reports.append(report)
    return BrandDashboard(brands=brands, stores=stores, products=reports, comments=comments, months=months)


def csv_write(dashboard: BrandDashboard, out: SupportsWrite) -> None:
    """The dashboard as CSV rows into ``out``: one per product and factor (a product without a result yet
    has one row with its standing). Names in the reader's language; numbers with '.' and two decimals."""
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Product"),
            _("Category"),
            _("Standing"),
            _("Comprehensive score"),
            _("Category average score"),
            _("Counted votes"),
            _("Votes needed to publish"),
            _("Place on the list"),
            _("Factor"),
            _("Factor average"),
            _("Factor votes"),
            _("Category factor average"),
        ]
    )
    for report in dashboard.products:
        head = [
            report.product.name,
            report.product.category.name,
            str(STANDING_LABELS[report.standing]),
            _number(report.score),
            _number(report.category_score),
            report.counted,
            report.votes_needed,
            report.product.heart_rank or "",
        ]
        if not report.factors:
            writer.writerow([*head, "", "", "", ""])
        for row in report.factors:
            writer.writerow([*head, row.name, _number(row.mean), row.votes, _number(row.category_average)])


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
